// Upload robustness in a real browser (issue 12): an upload paused mid-way and the page reloaded
// resumes the same session from the parts storage already holds (only the missing parts are sent),
// and a file that is not a video ends FAILED with the reason in words and a Retry button.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'

const MiB = 1024 * 1024
const shots = process.env.REELHOUSE_E2E_ARTIFACTS ?? 'e2e-artifacts'
const PART = /[?&]partNumber=(\d+)(&|$)/

test('a paused upload resumes after a reload from the stored parts; a non-video shows why it failed', async ({ browser }, testInfo) => {
  const file = testInfo.outputPath('not-a-video.mp4')
  // An MP4 file type box, then noise: it passes the container check at upload completion and the
  // transcoder refuses it (no index, no media). 3 parts of 5 MiB, 5 MiB, 1 MiB.
  const ftyp = Buffer.from('0000002066747970' + '69736f6d00000200' + '69736f6d69736f32' + '617663316d703431', 'hex')
  writeFileSync(file, Buffer.concat([ftyp, randomBytes(11 * MiB - ftyp.length)]))
  const ctx = await browser.newContext()
  const page = await ctx.newPage()
  const user = `carol-${Date.now().toString(36)}`
  await page.goto('/signin')
  await page.getByLabel('User name').fill(user)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(/\/videos$/)
  await page.goto('/videos/upload')

  // let part 1 through, hold the others until the upload is paused
  let release = () => {}
  const held = new Promise<void>((r) => (release = r))
  await page.route(PART, async (route) => {
    const n = Number(PART.exec(route.request().url())![1])
    if (route.request().method() !== 'PUT' || n === 1) return route.continue()
    await held
    await route.abort().catch(() => undefined)
  })
  await page.locator('#file').setInputFiles(file)
  await page.getByLabel('Title').fill('Not a video')
  const part1 = page.waitForResponse((r) => r.request().method() === 'PUT' && PART.exec(r.url())?.[1] === '1')
  await page.getByRole('button', { name: 'Upload', exact: true }).click()
  expect((await part1).status()).toBe(200)
  await page.getByRole('button', { name: 'Pause' }).click()
  await expect(page.getByTestId('upload-phase')).toHaveText('Paused')
  release()
  await page.unroute(PART)

  // reload: the same file resumes the same session and sends only parts 2 and 3
  await page.reload()
  const sent: number[] = []
  page.on('request', (r) => {
    const m = PART.exec(r.url())
    if (r.method() === 'PUT' && m) sent.push(Number(m[1]))
  })
  await page.locator('#file').setInputFiles(file)
  await expect(page.getByText('An unfinished upload of this file exists')).toBeVisible()
  await page.getByRole('button', { name: 'Resume upload' }).click()
  await expect(page.getByTestId('upload-phase')).toHaveText('Uploaded', { timeout: 60_000 })
  await expect(page.getByTestId('upload-figures')).toContainText('100 %')
  await expect(page.getByTestId('upload-figures')).toContainText('resumed')
  expect(sent.sort()).toEqual([2, 3])

  // the transcoder refuses it: the detail page says why, in words, and offers Retry
  await page.getByRole('link', { name: 'Open the video' }).click()
  const failed = page.locator('.failed')
  await expect(failed).toBeVisible({ timeout: 90_000 })
  await expect(failed.locator('strong')).not.toHaveText('Processing failed for an unknown reason.')
  await expect(failed.getByRole('button', { name: 'Retry' })).toBeVisible()
  await page.screenshot({ path: `${shots}/video-failed.png`, fullPage: true })
  await ctx.close()
})
