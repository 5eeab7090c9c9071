/// <reference types="vitest/config" />
// Vite build of the Reelhouse web app (issue 12). `npm run build` writes frontend/dist, which the
// local edge serves at `/` (deploy/local/nginx/edge.conf.template). `npm run dev` proxies /api, /ws and
// /play to a running local stack (REELHOUSE_EDGE, default http://127.0.0.1:8080).
import { tanstackRouter } from '@tanstack/router-plugin/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const edge = process.env.REELHOUSE_EDGE ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [tanstackRouter({ target: 'react', autoCodeSplitting: true }), react()],
  server: {
    proxy: { '/api': edge, '/play': edge, '/ws': { target: edge, ws: true } },
  },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 700, rolldownOptions: { checks: { pluginTimings: false } } },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
})
