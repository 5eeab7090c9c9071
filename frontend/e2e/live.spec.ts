// Going live from the browser (issue 12): create a stream on /streams/create, read the RTMP URL and the
// revealed key on the broadcast page, push the bundled clip with ffmpeg, watch it live, chat between
// two browser contexts (each sees the other's message; the owner's delete removes it for the other),
// end the stream and follow the link to the recording. The stream gets a thumbnail on the create page
// (shown on its card) and is public: another user finds it under "Live now" and watches it; a second user is timed out, lifted, slowed down, named moderator and banned from
// the owner's moderation controls.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'

const clip = process.env.REELHOUSE_E2E_CLIP
const shots = process.env.REELHOUSE_E2E_ARTIFACTS ?? 'e2e-artifacts'

async function signIn(page: Page, user: string) {
  await page.goto('/signin')
  await page.getByLabel('User name').fill(user)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(/\/videos$/)
}

test('go live from the broadcast page, chat in two contexts, moderate, end and find the recording', async ({ browser }) => {
  if (!clip) throw new Error('set REELHOUSE_E2E_CLIP to the clip to push (tests/e2e/test_web.py does)')
  test.setTimeout(420_000) // live, chat, moderation steps and the recording's transcode, on a busy 2-core machine
  const user = `dave-${Date.now().toString(36)}`
  const ownerCtx = await browser.newContext()
  const owner = await ownerCtx.newPage()
  await signIn(owner, user)
  await owner.getByRole('link', { name: 'Streams' }).click()
  await owner.getByRole('link', { name: 'Create a stream' }).click()
  await owner.getByLabel('Title').fill('Bunny live')
  // a thumbnail picked as PNG (the page sends it as a JPEG)
  const png = join(mkdtempSync(join(tmpdir(), 'reelhouse-thumb-')), 'frame.png')
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '1', '-i', clip, '-frames:v', '1', '-vf', 'scale=640:-2', png])
  await owner.getByLabel('Thumbnail image (optional)').setInputFiles(png)
  await expect(owner.getByTestId('thumbnail-preview')).toBeVisible()
  await owner.getByRole('button', { name: 'Create' }).click()
  await expect(owner).toHaveURL(/\/streams\/[0-9a-f-]+\/broadcast$/)
  const streamId = owner.url().split('/').at(-2)!
  await expect(owner.getByTestId('stream-key')).not.toContainText(/[A-Za-z0-9]{8}/)
  await owner.getByRole('button', { name: 'Reveal' }).click()
  const key = (await owner.getByTestId('stream-key').textContent())!.trim()
  const rtmp = (await owner.getByTestId('rtmp-url').textContent())!.trim()
  expect(owner.url()).not.toContain(key)
  await owner.screenshot({ path: `${shots}/stream-broadcast.png`, fullPage: true })

  let ffmpeg: ChildProcess | null = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'flv', `${rtmp}/${key}`], { stdio: 'ignore' })
  try {
    await expect(owner.getByTestId('stream-status')).toHaveText('LIVE', { timeout: 20_000 })
    await expect(owner.getByTestId('stream-health')).toContainText('Receiving video')

    // another user, in a second browser context on a phone-sized screen, finds the public stream under
    // "Live now" on /streams, watches it and chats
    const viewerCtx = await browser.newContext({ viewport: { width: 375, height: 740 } })
    const viewer = await viewerCtx.newPage()
    await signIn(viewer, `viewer-${Date.now().toString(36)}`)
    await viewer.goto('/streams')
    await viewer.getByRole('list', { name: 'Live now' }).getByRole('link', { name: /Bunny live/ }).click()
    await expect(viewer).toHaveURL(new RegExp(`/streams/${streamId}$`))
    await expect(viewer.getByTestId('stream-status')).toHaveText('LIVE')
    const video = viewer.getByTestId('player')
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true
      void v.play().catch(() => undefined)
    })
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000 }).toBeGreaterThan(1)
    // the page re-reads the stream every 2 s with a freshly signed URL: playback must go on, not restart
    const before = await video.evaluate((v: HTMLVideoElement) => v.currentTime)
    await viewer.waitForTimeout(2500)
    expect(await video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeGreaterThan(before)

    await expect(viewer.getByLabel('Message', { exact: true })).toBeEnabled()
    await viewer.getByLabel('Message', { exact: true }).fill('hello from the viewer')
    await viewer.getByRole('button', { name: 'Send' }).click()
    await owner.getByLabel('Message', { exact: true }).fill('hello from the broadcaster')
    await owner.getByRole('button', { name: 'Send' }).click()
    for (const page of [owner, viewer]) {
      await expect(page.getByTestId('chat-messages')).toContainText('hello from the viewer')
      await expect(page.getByTestId('chat-messages')).toContainText('hello from the broadcaster')
    }
    await viewer.screenshot({ path: `${shots}/stream-watch-375px.png`, fullPage: true })
    // the owner deletes the viewer's message: it disappears for the viewer
    await owner.getByTestId('chat-messages').locator('li', { hasText: 'hello from the viewer' }).getByRole('button', { name: /^Delete message from/ }).click()
    await expect(viewer.getByTestId('chat-messages')).not.toContainText('hello from the viewer')
    await expect(viewer.getByTestId('chat-messages')).toContainText('hello from the broadcaster')

    await moderate(browser, owner, streamId)

    // end the stream: the watch page says so and links to the recording once it is a video
    await owner.getByRole('button', { name: 'End stream' }).click()
    await expect(viewer.getByTestId('stream-status')).toHaveText('ENDED', { timeout: 20_000 })
    await expect(viewer.getByRole('link', { name: 'Watch the recording' })).toBeVisible({ timeout: 60_000 })
    await viewer.getByRole('link', { name: 'Watch the recording' }).click()
    await expect(viewer).toHaveURL(/\/videos\/[0-9a-f-]+$/)
    await viewerCtx.close()
  } finally {
    ffmpeg?.kill('SIGKILL')
    ffmpeg = null
  }
  await owner.goto('/streams')
  await expect(owner.locator(`li[data-stream-id="${streamId}"] [data-status]`)).toHaveAttribute('data-status', 'ENDED')
  // the card shows the thumbnail, loaded through the edge's signed URL
  const thumb = owner.locator(`li[data-stream-id="${streamId}"]`).getByTestId('stream-thumbnail')
  await expect(thumb).toHaveAttribute('src', new RegExp(`/play/[0-9]+/[^/]+/live/${streamId}/thumbnail-[0-9a-f]+\\.jpg$`))
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(640)
  await owner.screenshot({ path: `${shots}/streams.png`, fullPage: true })
  await ownerCtx.close()
})

/** The owner moderates a second user (carol) from the broadcast page's chat; carol sees each step. */
async function moderate(browser: import('@playwright/test').Browser, owner: Page, streamId: string) {
  const carolName = `carol-${Date.now().toString(36)}`
  const carolCtx = await browser.newContext()
  const carol = await carolCtx.newPage()
  await signIn(carol, carolName)
  await carol.goto(`/streams/${streamId}`)
  // the stream is public: carol watches it like any viewer, without the owner's controls
  await expect(carol.getByTestId('stream-status')).toBeVisible()
  const input = carol.getByLabel('Message', { exact: true })
  await expect(input).toBeEnabled({ timeout: 20_000 })
  await expect(carol.getByTestId('moderation')).toHaveCount(0)
  await expect(carol.getByRole('button', { name: /^Delete message/ })).toHaveCount(0)
  await input.fill('buy cheap coins')
  await carol.getByRole('button', { name: 'Send' }).click()
  await expect(owner.getByTestId('chat-messages')).toContainText('buy cheap coins')

  // a timeout from the message's button: carol cannot post, the owner sees it in the list; lifting it
  await owner.getByRole('button', { name: `Time out ${carolName} for 5 minutes` }).click()
  await expect(carol.getByTestId('chat-error')).toContainText('timed out')
  await expect(input).toBeDisabled()
  await expect(owner.getByTestId('bans')).toContainText(carolName)
  await owner.screenshot({ path: `${shots}/stream-moderation.png`, fullPage: true })
  await owner.getByRole('button', { name: `Lift the ban on ${carolName}` }).click()
  await expect(input).toBeEnabled()

  // slow mode: shown to carol; of two messages sent at once (and within 10 s of her last) one is refused in words
  await owner.getByLabel('Slow mode').selectOption('10')
  await owner.getByRole('button', { name: 'Set slow mode' }).click()
  await expect(carol.getByTestId('chat-limits')).toContainText('slow mode 10 s')
  for (const text of ['one', 'two']) {
    await input.fill(text)
    await carol.getByRole('button', { name: 'Send' }).click()
  }
  await expect(carol.getByTestId('chat-error')).toContainText('Slow mode is on')
  await owner.getByLabel('Slow mode').selectOption('0')
  await owner.getByRole('button', { name: 'Set slow mode' }).click()
  await expect(carol.getByTestId('chat-limits')).not.toContainText('slow mode')

  // named moderator: carol gets the controls, without the owner's moderator list buttons
  await owner.getByLabel('New moderator (user)').fill(carolName)
  await owner.getByRole('button', { name: 'Add moderator' }).click()
  await expect(owner.getByTestId('moderators')).toContainText(carolName)
  await expect(carol.getByTestId('moderation')).toBeVisible()
  await expect(carol.getByRole('button', { name: 'Add moderator' })).toHaveCount(0)
  await expect(carol.getByRole('button', { name: /^Ban / })).toHaveCount(0) // only the owner's and her own messages are shown
  await owner.getByRole('button', { name: `Remove moderator ${carolName}` }).click()
  await expect(carol.getByTestId('moderation')).toHaveCount(0)

  // a ban from the panel
  await owner.getByLabel('Ban or time out (user)').fill(carolName)
  await owner.getByLabel('For how long').selectOption({ label: 'Ban until lifted' })
  await owner.getByRole('button', { name: 'Apply' }).click()
  await expect(carol.getByTestId('chat-error')).toHaveText('You are banned from this chat.')
  await expect(input).toBeDisabled()
  await carolCtx.close()
}
