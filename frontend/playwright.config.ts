// Browser tests of the web app against a running stack (tests/e2e/test_web.py starts one and runs
// `npx playwright test` with REELHOUSE_WEB_URL). Debian's Chromium, never a downloaded browser.
import { defineConfig } from '@playwright/test'
import { execSync } from 'node:child_process'

function chromium(): string {
  if (process.env.REELHOUSE_CHROMIUM) return process.env.REELHOUSE_CHROMIUM
  return execSync('command -v chromium || command -v chromium-browser', { shell: '/bin/sh' }).toString().trim()
}

export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: process.env.REELHOUSE_WEB_URL ?? 'http://127.0.0.1:8080',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium(),
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
    },
  },
})
