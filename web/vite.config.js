import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Every path the Flask API answers; in development they go to the API, everything else is the app.
const API_PATHS = [
  'trending', 'anime', 'sim', 'genres', 'auth', 'me', 'clicks', 'views', 'impressions', 'events',
  'ratings', 'user', 'recall', 'rank', 'recommends', 'recommend', 'upload', 'admin', 'openapi',
  'health', 'metrics', 'search', 'talk',
]
const API = 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // ECharts is most of the weight: only the dashboard loads it.
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router)[\\/]/ },
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender|vue-echarts|tslib)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      [`^/(${API_PATHS.join('|')})(/|\\?|$)`]: { target: API, changeOrigin: false },
    },
  },
})
