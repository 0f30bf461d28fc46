// The signed-in viewer's own clicks and views, sent to the event stream; and when they last
// clicked (kept for the tab's life, across reloads), so that For you knows to watch for the
// stream's answer.
import { api } from './api.js'
import { useSession } from './session.js'

const { signedIn, userId } = useSession()
const LAST_CLICK = 'animerec.last_click_at'

function send(path, animeId) {
  return api.post(path, { user_id: userId.value, anime_id: animeId }, { auth: 'viewer' })
}

export function canRecord() {
  return signedIn.value && userId.value !== null
}

export function recordClick(animeId) {
  sessionStorage.setItem(LAST_CLICK, String(Date.now()))
  return send('/clicks', animeId)
}

export function recordView(animeId) {
  return send('/views', animeId)
}

export function clickedWithin(ms) {
  return Date.now() - Number(sessionStorage.getItem(LAST_CLICK) ?? 0) < ms
}
