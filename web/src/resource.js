// One piece of remote data on a page (a reactive object): `data`, `loading` and the last `error`.
// `load()` fetches (clearing the shown error); `refresh()` fetches quietly, keeping what is shown
// until the answer comes (polling). An answer that arrives after a newer call started is dropped.
import { reactive, ref, shallowRef } from 'vue'

export function useResource(fetcher) {
  const data = shallowRef(null)
  const error = shallowRef(null)
  const loading = ref(false)
  let latest = 0

  async function run(quiet) {
    const call = ++latest
    loading.value = true
    if (!quiet) error.value = null
    try {
      const value = await fetcher()
      if (call === latest) {
        data.value = value
        error.value = null
      }
    } catch (failure) {
      if (call === latest) error.value = failure
    } finally {
      if (call === latest) loading.value = false
    }
  }

  return reactive({ data, error, loading, load: () => run(false), refresh: () => run(true) })
}
