// Browser half of `make bench-web` (bench/web_bench.py runs it and prints the figures): Debian's
// Chromium driven by Playwright against a running stack. Prints one JSON object on stdout:
//   initialJs: [{url, bytes, gzip}] scripts loaded by a cold visit of /videos until the network is idle
//              (gzip = zlib level 9 of each body, what a gzip-serving edge would send at most),
//   hlsOnVideos: whether hls.js was among them (it must load only where a player is shown),
//   firstFrameMs: [..] navigation start -> first decoded frame (`loadeddata`) of /videos/<id>, cold cache,
//   pageUploadSeconds: [..] click on Upload -> "Uploaded" on /videos/upload for the file.
// Env: REELHOUSE_WEB_URL, REELHOUSE_BENCH_VIDEO_ID (a READY video), REELHOUSE_BENCH_FILE, REELHOUSE_BENCH_RUNS.
import { chromium } from '@playwright/test'
import { execSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'

const base = process.env.REELHOUSE_WEB_URL ?? 'http://127.0.0.1:8080'
const videoId = process.env.REELHOUSE_BENCH_VIDEO_ID
const file = process.env.REELHOUSE_BENCH_FILE
const runs = Number(process.env.REELHOUSE_BENCH_RUNS ?? '3')
const user = `bench-web-${Date.now().toString(36)}`
const executablePath = process.env.REELHOUSE_CHROMIUM ?? execSync('command -v chromium || command -v chromium-browser', { shell: '/bin/sh' }).toString().trim()

async function token() {
  const r = await fetch(`${base}/api/dev/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: user }) })
  if (!r.ok) throw new Error(`dev token: HTTP ${r.status}`)
  return (await r.json()).accessToken
}

/** A new context (empty cache) already signed in: the token goes to sessionStorage before the app runs. */
async function signedIn(browser, tok) {
  const ctx = await browser.newContext()
  await ctx.addInitScript((t) => sessionStorage.setItem('reelhouse.token', t), tok)
  return ctx
}

async function initialJs(browser, tok) {
  const ctx = await signedIn(browser, tok)
  const page = await ctx.newPage()
  const scripts = []
  page.on('response', async (res) => {
    if (res.request().resourceType() !== 'script') return
    try {
      const body = await res.body()
      scripts.push({ url: new URL(res.url()).pathname, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length })
    } catch {
      /* a response without a body */
    }
  })
  await page.goto(`${base}/videos`, { waitUntil: 'networkidle' })
  await page.getByRole('heading', { name: /videos/i }).first().waitFor()
  await ctx.close()
  return scripts
}

async function firstFrame(browser, tok) {
  const ctx = await signedIn(browser, tok)
  await ctx.addInitScript(() => {
    window.__firstFrame = null
    document.addEventListener('loadeddata', () => (window.__firstFrame ??= performance.now()), true)
  })
  const page = await ctx.newPage()
  await page.goto(`${base}/videos/${videoId}`)
  await page.waitForFunction(() => window.__firstFrame !== null, null, { timeout: 30_000 })
  const ms = await page.evaluate(() => window.__firstFrame)
  await ctx.close()
  return ms
}

async function pageUpload(browser, tok) {
  const ctx = await signedIn(browser, tok)
  const page = await ctx.newPage()
  await page.goto(`${base}/videos/upload`)
  await page.locator('#file').setInputFiles(file)
  await page.getByLabel('Title').fill('bench-web upload')
  const t0 = Date.now()
  await page.getByRole('button', { name: 'Upload', exact: true }).click()
  await page.getByTestId('upload-phase').filter({ hasText: /^Uploaded$/ }).waitFor({ timeout: 600_000 })
  const seconds = (Date.now() - t0) / 1000
  await ctx.close()
  return seconds
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-gpu'] })
try {
  const tok = await token()
  const scripts = await initialJs(browser, tok)
  const out = { initialJs: scripts, hlsOnVideos: scripts.some((s) => /\/hls[-.]/.test(s.url)), firstFrameMs: [], pageUploadSeconds: [] }
  if (videoId) for (let i = 0; i < runs; i++) out.firstFrameMs.push(await firstFrame(browser, tok))
  if (file) for (let i = 0; i < runs; i++) out.pageUploadSeconds.push(await pageUpload(browser, tok))
  process.stdout.write(JSON.stringify(out) + '\n')
} finally {
  await browser.close()
}
