// The web app's main job in a real browser (issue 12 "Tests"): sign in, upload a real clip through the
// page, the card turns READY without a reload, the video plays and the quality menu switches height,
// and another user cannot see the private video. Screenshots of every route go to e2e-artifacts/.
import { expect, test, type Page } from '@playwright/test'

const clip = process.env.REELHOUSE_E2E_CLIP
const shots = process.env.REELHOUSE_E2E_ARTIFACTS ?? 'e2e-artifacts'
const run = Date.now().toString(36)

async function signIn(page: Page, user: string) {
  await page.goto('/videos')
  await expect(page).toHaveURL(/\/signin/)
  await page.getByLabel('User name').fill(user)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(/\/videos$/)
  await expect(page.getByTestId('signed-in-as')).toHaveText(user)
}

test('upload through the page, watch it become READY, play it and switch quality; others cannot see it', async ({ browser }) => {
  if (!clip) throw new Error('set REELHOUSE_E2E_CLIP to the clip to upload (tests/e2e/test_web.py does)')
  const alice = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await alice.newPage()
  await signIn(page, `alice-${run}`)
  await page.screenshot({ path: `${shots}/videos-empty.png` })

  // upload the clip through the page
  await page.getByRole('link', { name: 'Upload', exact: true }).first().click()
  await expect(page).toHaveURL(/\/videos\/upload$/)
  await page.locator('#file').setInputFiles(clip!)
  await page.getByLabel('Title').fill(`Bunny ${run}`)
  await page.getByLabel('Visibility').selectOption('private')
  await page.screenshot({ path: `${shots}/videos-upload.png` })
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))
  await page.getByRole('button', { name: 'Upload', exact: true }).click()
  await expect(page.getByTestId('upload-phase')).toHaveText('Uploaded', { timeout: 60_000 })
  await expect(page.getByTestId('upload-figures')).toContainText('100 %')
  const bar = page.getByTestId('upload-progress')
  expect(await bar.getAttribute('value')).toBe(await bar.getAttribute('max'))
  const href = await page.getByRole('link', { name: 'Open the video' }).getAttribute('href')
  const videoId = href!.split('/').pop()!

  // the card follows the video to READY without a reload
  await page.getByRole('link', { name: 'Back to the videos' }).click()
  const card = page.locator(`li[data-video-id="${videoId}"]`)
  await expect(card).toBeVisible()
  await expect(card.locator('[data-status]')).toHaveAttribute('data-status', 'READY', { timeout: 90_000 })
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)
  await expect(card.locator('img')).toHaveAttribute('src', /\/play\//)
  await page.screenshot({ path: `${shots}/videos-ready.png` })

  // detail page: it plays, and choosing a rendition switches to its height
  await card.getByRole('link').click()
  await expect(page).toHaveURL(new RegExp(`/videos/${videoId}$`))
  const quality = page.getByTestId('quality')
  await expect.poll(async () => (await quality.locator('option').count()) - 1, { timeout: 30_000 }).toBeGreaterThan(1)
  const video = page.getByTestId('player')
  await video.evaluate((v: HTMLVideoElement) => {
    v.muted = true
    v.loop = true
    return v.play()
  })
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000 }).toBeGreaterThan(2)
  await page.screenshot({ path: `${shots}/video-detail.png` })
  const options = await quality.locator('option').allTextContents()
  const heights = options.slice(1).map((t) => parseInt(t, 10))
  const playingHeight = await video.evaluate((v: HTMLVideoElement) => v.videoHeight)
  const target = heights.find((h) => h !== playingHeight)!
  await quality.selectOption({ label: `${target}p` })
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoHeight), { timeout: 30_000 }).toBe(target)
  await expect(page.getByText(`Playing ${target}p`)).toBeVisible()

  // scrubbing: the seek bar shows the storyboard tile (a sprite the edge serves) of the time under the pointer
  const seek = page.getByTestId('seek')
  const seekBox = (await seek.boundingBox())!
  await page.mouse.move(seekBox.x + seekBox.width * 0.1, seekBox.y + seekBox.height / 2)
  const tile = page.getByTestId('storyboard-thumb')
  await expect(tile).toBeVisible()
  const early = await tile.getAttribute('style')
  await page.mouse.move(seekBox.x + seekBox.width * 0.9, seekBox.y + seekBox.height / 2)
  await expect.poll(() => tile.getAttribute('style')).not.toBe(early)
  const sprite = (await tile.getAttribute('data-sprite'))!
  expect(sprite).toMatch(new RegExp(`/play/[0-9]+/[^/]+/videos/${videoId}/.+/sprite_[0-9]+\\.jpg$`))
  expect(await page.evaluate(async (url) => {
    const img = new Image()
    img.src = url
    await img.decode()
    return img.naturalWidth
  }, sprite)).toBeGreaterThan(0)
  await page.screenshot({ path: `${shots}/video-scrub.png` })
  await page.mouse.move(0, 0)
  await expect(page.getByTestId('storyboard-preview')).toHaveCount(0)
  // keyboard: Tab-focusable range; Home goes to the start, an arrow key 5 s on, and the tile follows
  await video.evaluate((v: HTMLVideoElement) => {
    v.loop = false
    v.pause()
  })
  await seek.focus()
  await page.keyboard.press('Home')
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeLessThan(1)
  await page.keyboard.press('ArrowRight')
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeGreaterThan(2)
  await expect(tile).toBeVisible()

  // a second user sees neither the card nor the page of the private video
  const bob = await browser.newContext({ viewport: { width: 375, height: 740 } })
  const other = await bob.newPage()
  await signIn(other, `bob-${run}`)
  await expect(other.locator(`li[data-video-id="${videoId}"]`)).toHaveCount(0)
  await other.goto(`/videos/${videoId}`)
  await expect(other.getByRole('alert')).toContainText('does not exist or is private')
  await other.screenshot({ path: `${shots}/video-private-375px.png` })
  await bob.close()

  // signing out forgets the token
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page).toHaveURL(/\/signin/)
  expect(await page.evaluate(() => sessionStorage.getItem('reelhouse.token'))).toBeNull()
  await page.screenshot({ path: `${shots}/signin.png` })
  await alice.close()
})
