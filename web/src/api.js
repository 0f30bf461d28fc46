// The one way the app talks to the API: same origin, JSON in and out, errors as ApiError.
//
// Credentials come from the session (src/session.js registers them with `provideCredentials`):
// `auth: 'viewer'` sends the signed-in viewer's access token, `auth: 'admin'` the dashboard's key.
// A viewer's expired access token is refreshed once (POST /auth/refresh) and the call retried;
// when that fails, or the token is refused outright, the viewer is signed out.

export class ApiError extends Error {
  constructor(status, body = {}, retryAfter = null) {
    const base = body.error || (status ? `the server answered ${status}` : 'the server could not be reached')
    super(retryAfter != null ? `${base} (try again in ${retryAfter} s)` : base)
    this.name = 'ApiError'
    this.status = status
    this.body = body
    this.retryAfter = retryAfter
    // Validation errors name each bad field: [{field, message}]
    this.details = Array.isArray(body.details) ? body.details : []
  }
}

let credentials = {
  accessToken: () => null,
  refreshToken: () => null,
  setAccessToken: () => {},
  signOut: () => {},
  adminKey: () => null,
}

export function provideCredentials(provider) {
  credentials = { ...credentials, ...provider }
}

function queryString(params = {}) {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== null && one !== undefined && one !== '') search.append(name, String(one))
    }
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

function headersFor(auth, hasBody) {
  const headers = { Accept: 'application/json' }
  if (hasBody) headers['Content-Type'] = 'application/json'
  if (auth === 'viewer' && credentials.accessToken()) {
    headers.Authorization = `Bearer ${credentials.accessToken()}`
  } else if (auth === 'admin' && credentials.adminKey()) {
    headers['X-API-Key'] = credentials.adminKey()
  } else if (auth === 'refresh') {
    headers.Authorization = `Bearer ${credentials.refreshToken()}`
  }
  return headers
}

async function send(method, path, { body, auth }) {
  const init = { method, headers: headersFor(auth, body !== undefined) }
  if (body !== undefined) init.body = JSON.stringify(body)
  try {
    return await fetch(path, init)
  } catch {
    throw new ApiError(0)
  }
}

async function errorOf(response) {
  let body = {}
  try {
    body = await response.json()
  } catch {
    // not JSON (a proxy's error page): the status alone says it
  }
  const header = response.headers.get('Retry-After')
  const retryAfter = header !== null && /^\d+$/.test(header) ? Number(header) : body.retry_after_s ?? null
  return new ApiError(response.status, body, retryAfter)
}

// One refresh at a time, shared by every call that found its token expired.
let refreshing = null

function refreshAccessToken() {
  refreshing ??= (async () => {
    try {
      const response = await send('POST', '/auth/refresh', { auth: 'refresh' })
      if (!response.ok) return false
      const { access_token: token } = await response.json()
      credentials.setAccessToken(token)
      return Boolean(token)
    } catch {
      return false
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

async function call(method, path, { query, body, auth = 'none', as = 'json' } = {}) {
  const url = path + queryString(query)
  let response = await send(method, url, { body, auth })
  if (response.status === 401 && auth === 'viewer' && credentials.accessToken()) {
    const failure = await errorOf(response)
    const renewed = /expired/i.test(failure.message) && credentials.refreshToken() && (await refreshAccessToken())
    if (!renewed) {
      credentials.signOut()
      throw new ApiError(401, { error: 'your session has ended; please sign in again' })
    }
    response = await send(method, url, { body, auth })
  }
  if (!response.ok) throw await errorOf(response)
  if (as === 'blob') return response.blob()
  const text = await response.text()
  return text ? JSON.parse(text) : null
}

export const api = {
  get: (path, options) => call('GET', path, options),
  post: (path, body, options) => call('POST', path, { ...options, body }),
  put: (path, body, options) => call('PUT', path, { ...options, body }),
  delete: (path, options) => call('DELETE', path, options),
  blob: (path, options) => call('GET', path, { ...options, as: 'blob' }),
}
