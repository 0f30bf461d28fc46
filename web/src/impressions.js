// Impressions: which titles a signed-in viewer was shown, and where. One POST /impressions per
// render of a list (a re-fetch that shows the same titles in the same order is not a new one);
// nothing is sent for an anonymous visitor.
import { toValue, watch } from 'vue'
import { api } from './api.js'
import { useSession } from './session.js'

const MAX_IDS = 100

export function useImpressions(surface, items) {
  const { signedIn, userId } = useSession()
  watch(
    () => (signedIn.value ? (toValue(items) || []).map((item) => item.anime_id).join(',') : ''),
    (shown) => {
      if (!shown || userId.value === null) return
      const ids = shown.split(',').slice(0, MAX_IDS).map(Number)
      const body = { user_id: userId.value, anime_ids: ids, surface: toValue(surface) }
      // Best effort: a lost impression must never disturb the page.
      api.post('/impressions', body, { auth: 'viewer' }).catch(() => {})
    },
    { immediate: true },
  )
}
