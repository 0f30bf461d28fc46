// Client routes. The Flask API serves index.html at each of these paths, so none may be an API path.
import { createRouter, createWebHistory } from 'vue-router'
import { useSession } from './session.js'

const routes = [
  { path: '/', component: () => import('./pages/HomePage.vue'), meta: { title: 'Anime recommendations' } },
  { path: '/signin', component: () => import('./pages/SignInPage.vue'), meta: { title: 'Sign in' } },
  { path: '/signup', component: () => import('./pages/SignUpPage.vue'), meta: { title: 'Sign up' } },
  { path: '/for-you', component: () => import('./pages/ForYouPage.vue'), meta: { title: 'For you', signedIn: true } },
  { path: '/browse', component: () => import('./pages/BrowsePage.vue'), meta: { title: 'Browse' } },
  { path: '/find', component: () => import('./pages/FindPage.vue'), meta: { title: 'Search' } },
  { path: '/title/:id(\\d+)', component: () => import('./pages/TitlePage.vue'), props: true, meta: { title: 'Title' } },
  { path: '/history', component: () => import('./pages/HistoryPage.vue'), meta: { title: 'My history', signedIn: true } },
  { path: '/dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { title: 'Dashboard' } },
  { path: '/:unknown(.*)*', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } },
]

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior(to, from, saved) {
    if (saved) return saved
    if (to.path === from.path) return false // only the query changed (browse filters, pages)
    return { top: 0 }
  },
})

const { signedIn } = useSession()

router.beforeEach((to) => {
  if (to.meta.signedIn && !signedIn.value) return '/signin'
  return true
})

router.afterEach((to, from) => {
  document.title = `${to.meta.title} · animerec`
  // Move focus to the new page for keyboard and screen-reader users (not on first load, nor
  // when only the query changed).
  if (from.matched.length && to.path !== from.path) {
    document.getElementById('content')?.focus({ preventScroll: true })
  }
})

