// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ModerationPanel } from './ModerationPanel'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true

const SID = '5f0c8a52-0000-4000-8000-000000000001'
type Call = { method: string; url: string; body: unknown }
let calls: Call[]
let host: HTMLDivElement
let root: Root

/** The chat service's answers: one ban, one moderator; a ban of "owner" is refused as the service does. */
function fakeChatApi(url: string, init?: RequestInit): Response {
  const method = init?.method ?? 'GET'
  const body = init?.body ? JSON.parse(String(init.body)) : undefined
  calls.push({ method, url, body })
  const json = (status: number, data: unknown, type = 'application/json') => new Response(JSON.stringify(data), { status, headers: { 'Content-Type': type } })
  if (method === 'GET' && url.endsWith('/bans')) return json(200, { items: [{ userId: 'troll', until: null, reason: null, createdBy: 'o', createdAt: '2026-01-01T00:00:00Z' }], nextCursor: null })
  if (method === 'GET' && url.endsWith('/moderators')) return json(200, { items: [{ userId: 'mia' }], nextCursor: null })
  if (method === 'POST' && url.endsWith('/bans') && (body as { userId: string }).userId === 'owner')
    return json(403, { status: 403, code: 'CANNOT_MODERATE', title: 'You may not ban this user' }, 'application/problem+json')
  if (method === 'POST') return json(201, { userId: (body as { userId: string }).userId, until: null })
  if (method === 'PUT' && url.endsWith('/settings')) return json(200, { slowModeSeconds: (body as { slowModeSeconds: number }).slowModeSeconds })
  return new Response(null, { status: 204 })
}

beforeEach(() => {
  calls = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => fakeChatApi(url, init)))
  host = document.createElement('div')
  document.body.append(host)
  root = createRoot(host)
})
afterEach(() => {
  act(() => root.unmount())
  host.remove()
  vi.unstubAllGlobals()
})

async function render(isOwner: boolean) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  await act(async () => root.render(<QueryClientProvider client={qc}><ModerationPanel streamId={SID} isOwner={isOwner} slowModeSeconds={0} /></QueryClientProvider>))
  await act(async () => new Promise((r) => setTimeout(r, 0)))
}

const byLabel = (text: string) => {
  const label = [...host.querySelectorAll('label')].find((l) => l.textContent === text)!
  return document.getElementById(label.htmlFor) as HTMLInputElement & HTMLSelectElement
}
const button = (name: string) => [...host.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent) === name)
const setValue = async (el: HTMLInputElement | HTMLSelectElement, value: string) => {
  const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype
  await act(async () => {
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value)
    el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }))
  })
}
const click = async (el: HTMLElement) => {
  await act(async () => el.click())
  await act(async () => new Promise((r) => setTimeout(r, 0)))
}

describe('ModerationPanel', () => {
  it('lists bans and moderators; only the owner gets moderator controls', async () => {
    await render(false)
    expect(host.querySelector('[data-testid=bans]')!.textContent).toContain('troll')
    expect(host.querySelector('[data-testid=moderators]')!.textContent).toContain('mia')
    expect(button('Lift the ban on troll')).toBeDefined()
    expect(button('Remove moderator mia')).toBeUndefined()
    expect(button('Add moderator')).toBeUndefined()
    act(() => root.unmount())
    root = createRoot(host)
    await render(true)
    expect(button('Remove moderator mia')).toBeDefined()
    expect(button('Add moderator')).toBeDefined()
  })

  it('sends a timeout with its length, a ban without one, slow mode and moderator changes to the chat API', async () => {
    await render(true)
    await setValue(byLabel('Ban or time out (user)'), 'spammer')
    await setValue(byLabel('For how long'), '600')
    await click(button('Apply')!)
    await setValue(byLabel('Ban or time out (user)'), 'troll2')
    await setValue(byLabel('For how long'), 'ban')
    await click(button('Apply')!)
    await setValue(byLabel('Slow mode'), '30')
    await click(button('Set slow mode')!)
    await setValue(byLabel('New moderator (user)'), 'newmod')
    await click(button('Add moderator')!)
    await click(button('Lift the ban on troll')!)
    const writes = calls.filter((c) => c.method !== 'GET').map((c) => [c.method, c.url.replace(`/api/streams/${SID}/chat`, ''), c.body])
    expect(writes).toEqual([
      ['POST', '/bans', { userId: 'spammer', durationSeconds: 600 }],
      ['POST', '/bans', { userId: 'troll2' }],
      ['PUT', '/settings', { slowModeSeconds: 30 }],
      ['PUT', '/moderators/newmod', undefined],
      ['DELETE', '/bans/troll', undefined],
    ])
  })

  it('shows a refusal in words', async () => {
    await render(false)
    await setValue(byLabel('Ban or time out (user)'), 'owner')
    await click(button('Apply')!)
    expect(host.querySelector('[data-testid=moderation-error]')!.textContent).toBe('You may not moderate this person (the owner, or another moderator).')
  })
})
