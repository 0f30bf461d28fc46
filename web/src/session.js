// Who is using the app: the signed-in viewer (tokens in localStorage, shared by every tab) and
// the dashboard's admin key (sessionStorage: forgotten when the tab closes).
import { computed, reactive } from 'vue'
import { api, provideCredentials } from './api.js'

const KEYS = { access: 'animerec.access_token', refresh: 'animerec.refresh_token', profile: 'animerec.profile' }
const ADMIN_KEY = 'animerec.admin_key'

function readProfile() {
  try {
    return JSON.parse(localStorage.getItem(KEYS.profile)) || null
  } catch {
    return null
  }
}

const state = reactive({
  access: localStorage.getItem(KEYS.access),
  refresh: localStorage.getItem(KEYS.refresh),
  profile: readProfile(),
  adminKey: sessionStorage.getItem(ADMIN_KEY),
})

function store(name, value) {
  if (value === null || value === undefined) localStorage.removeItem(KEYS[name])
  else localStorage.setItem(KEYS[name], typeof value === 'string' ? value : JSON.stringify(value))
  state[name] = value ?? null
}

function signOut() {
  store('access', null)
  store('refresh', null)
  store('profile', null)
}

// Another tab signed in or out: follow it.
window.addEventListener('storage', (event) => {
  if (event.key === KEYS.access || event.key === null) state.access = localStorage.getItem(KEYS.access)
  if (event.key === KEYS.refresh || event.key === null) state.refresh = localStorage.getItem(KEYS.refresh)
  if (event.key === KEYS.profile || event.key === null) state.profile = readProfile()
})

provideCredentials({
  accessToken: () => state.access,
  refreshToken: () => state.refresh,
  setAccessToken: (token) => store('access', token),
  signOut,
  adminKey: () => state.adminKey,
})

async function begin(tokens, profile) {
  store('access', tokens.access_token)
  store('refresh', tokens.refresh_token)
  store('profile', profile ?? { user_id: tokens.user_id, username: tokens.username })
  if (profile) return
  try {
    store('profile', await api.get('/me', { auth: 'viewer' }))
  } catch {
    // signed in all the same: the nav shows the username until the profile can be read
  }
}

export function useSession() {
  return {
    signedIn: computed(() => Boolean(state.access)),
    userId: computed(() => state.profile?.user_id ?? null),
    displayName: computed(() => state.profile?.display_name || state.profile?.username || ''),

    async signIn(name, password) {
      const body = name.includes('@') ? { email: name, password } : { username: name, password }
      await begin(await api.post('/auth/login', body))
    },

    async signUp(fields) {
      const answer = await api.post('/auth/register', fields)
      await begin(answer, answer.profile)
    },

    signOut,
  }
}

export function useAdminKey() {
  return {
    adminKey: computed(() => state.adminKey),
    setAdminKey(key) {
      sessionStorage.setItem(ADMIN_KEY, key)
      state.adminKey = key
    },
    forgetAdminKey() {
      sessionStorage.removeItem(ADMIN_KEY)
      state.adminKey = null
    },
  }
}
