// The catalog's genres (fetched once) and the colour each one gives a title's placeholder.
import { ref } from 'vue'
import { api } from './api.js'

const genres = ref([])
let loading = null

export function useGenres() {
  loading ??= api.get('/genres').then(
    (answer) => { genres.value = answer.genres },
    () => { loading = null }, // try again on the next page that asks
  )
  return genres
}

// A stable hue per genre name (FNV-1a), so every Drama card has the same colour.
export function genreHue(name) {
  if (!name) return null
  let hash = 0x811c9dc5
  for (const char of name) {
    hash ^= char.codePointAt(0)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % 360
}

export function genreColour(name) {
  const hue = genreHue(name)
  return hue === null ? 'hsl(220 10% 55%)' : `hsl(${hue} 60% 55%)`
}
