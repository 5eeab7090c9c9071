// Going live from the browser (issue 12): create a stream on /streams/create, read the RTMP URL and the
// revealed key on the broadcast page, push the bundled clip with ffmpeg, watch it live, chat between
// two browser contexts (each sees the other's message; the owner's delete removes it for the other),
// end the stream and follow the link to the recording.
import { spawn, type ChildProcess } from 'node:child_process'
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
  const user = `dave-${Date.now().toString(36)}`
  const ownerCtx = await browser.newContext()
  const owner = await ownerCtx.newPage()
  await signIn(owner, user)
  await owner.getByRole('link', { name: 'Streams' }).click()
  await owner.getByRole('link', { name: 'Create a stream' }).click()
  await owner.getByLabel('Title').fill('Bunny live')
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

    // a second browser context (the same account: streams are private to their owner) watches and chats
    const viewerCtx = await browser.newContext({ viewport: { width: 375, height: 740 } })
    const viewer = await viewerCtx.newPage()
    await signIn(viewer, user)
    await viewer.goto(`/streams/${streamId}`)
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

    await expect(viewer.getByLabel('Message')).toBeEnabled()
    await viewer.getByLabel('Message').fill('hello from the viewer')
    await viewer.getByRole('button', { name: 'Send' }).click()
    await owner.getByLabel('Message').fill('hello from the broadcaster')
    await owner.getByRole('button', { name: 'Send' }).click()
    for (const page of [owner, viewer]) {
      await expect(page.getByTestId('chat-messages')).toContainText('hello from the viewer')
      await expect(page.getByTestId('chat-messages')).toContainText('hello from the broadcaster')
    }
    await viewer.screenshot({ path: `${shots}/stream-watch-375px.png`, fullPage: true })
    // the owner deletes the viewer's message: it disappears for the viewer
    await owner.getByTestId('chat-messages').locator('li', { hasText: 'hello from the viewer' }).getByRole('button').click()
    await expect(viewer.getByTestId('chat-messages')).not.toContainText('hello from the viewer')
    await expect(viewer.getByTestId('chat-messages')).toContainText('hello from the broadcaster')

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
  await owner.screenshot({ path: `${shots}/streams.png`, fullPage: true })
  await ownerCtx.close()
})
