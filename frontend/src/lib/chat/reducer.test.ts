import { describe, expect, it } from 'vitest'
import { chatReducer, chatSocketUrl, initialChatState, isMuted, type ChatMessage, type ChatState } from './reducer'

const msg = (seq: number, text = `m${seq}`): ChatMessage => ({ id: `id-${seq}`, seq, userId: 'u', username: 'u', text, sentAt: '2026-01-01T00:00:00Z' })
const run = (state: ChatState, ...actions: Parameters<typeof chatReducer>[1][]) => actions.reduce(chatReducer, state)

describe('chatReducer', () => {
  it('orders messages by seq and drops duplicates', () => {
    const s = run(initialChatState, { type: 'message', ...msg(3) }, { type: 'message', ...msg(1) }, { type: 'message', ...msg(3, 'again') }, { type: 'message', ...msg(2) })
    expect(s.messages.map((m) => [m.seq, m.text])).toEqual([
      [1, 'm1'],
      [2, 'm2'],
      [3, 'm3'],
    ])
    expect(s.lastSeq).toBe(3)
  })

  it('applies deletions, also one that arrives before its message or in the history', () => {
    let s = run(initialChatState, { type: 'message', ...msg(1) }, { type: 'message', ...msg(2) }, { type: 'deleted', messageId: 'id-1', seq: 1 })
    expect(s.messages.map((m) => m.seq)).toEqual([2])
    s = run(s, { type: 'deleted', messageId: 'id-5', seq: 5 }, { type: 'message', ...msg(5) })
    expect(s.messages.map((m) => m.seq)).toEqual([2])
    s = run(s, { type: 'history', messages: [msg(6), msg(7)], truncated: false, deleted: ['id-2', 'id-7'] })
    expect(s.messages.map((m) => m.seq)).toEqual([6])
    expect(s.lastSeq).toBe(7)
  })

  it('after a reconnect, the history of what was missed fills the gap without doubling', () => {
    let s = run(initialChatState, { type: 'connected' }, { type: 'history', messages: [msg(1), msg(2)], truncated: false, deleted: [] })
    s = run(s, { type: 'disconnected' })
    expect(s.connected).toBe(false)
    expect(chatSocketUrl('http://example.test', 'st-1', 'tkt', s.lastSeq)).toBe('ws://example.test/ws/streams/st-1/chat?ticket=tkt&lastSeq=2')
    // the server resends from lastSeq; a message it also fans out live arrives twice
    s = run(s, { type: 'connected' }, { type: 'history', messages: [msg(3), msg(4)], truncated: false, deleted: [] }, { type: 'message', ...msg(4) }, { type: 'message', ...msg(5) })
    expect(s.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
    expect(s.connected).toBe(true)
  })

  it('keeps room state and shows errors in words', () => {
    let s = run(initialChatState, {
      type: 'welcome',
      status: 'LIVE',
      canPost: true,
      canModerate: false,
      slowModeSeconds: 0,
      viewers: 3,
      lastSeq: null,
      limits: { maxChars: 500, burst: 5, perSecond: 1 },
    })
    expect([s.status, s.canPost, s.viewers, s.limits?.maxChars]).toEqual(['LIVE', true, 3, 500])
    s = run(s, { type: 'presence', viewers: 7 }, { type: 'error', code: 'RATE_LIMITED', message: 'slow down' })
    expect(s.viewers).toBe(7)
    expect(s.error?.message).toBe('You are sending messages too fast. Wait a moment.')
    s = run(s, { type: 'room', status: 'ENDED' })
    expect([s.status, s.canPost]).toEqual(['ENDED', false])
    // connected while the stream was not live yet: posting opens when it goes live (signed in only)
    const early = run(initialChatState, { type: 'welcome', status: 'OFFLINE', userId: 'ann', canPost: false, canModerate: true, slowModeSeconds: 0, viewers: 0, lastSeq: null, limits: { maxChars: 500, burst: 5, perSecond: 1 } })
    expect(run(early, { type: 'room', status: 'LIVE' }).canPost).toBe(true)
    const anonymous = run(initialChatState, { type: 'welcome', status: 'OFFLINE', userId: null, canPost: false, canModerate: false, slowModeSeconds: 0, viewers: 0, lastSeq: null, limits: { maxChars: 500, burst: 5, perSecond: 1 } })
    expect(run(anonymous, { type: 'room', status: 'LIVE' }).canPost).toBe(false)
    expect(chatSocketUrl('https://x.test', 's', null, null)).toBe('wss://x.test/ws/streams/s/chat')
  })

  describe('moderation frames (the chat service sends upper-case actions)', () => {
    const welcome = { type: 'welcome' as const, status: 'LIVE', userId: 'bob', canPost: true, canModerate: false, slowModeSeconds: 0, viewers: 2, lastSeq: null, limits: { maxChars: 500, burst: 5, perSecond: 1 } }

    it('slow mode changes the shown interval', () => {
      const s = run(initialChatState, welcome, { type: 'moderation', action: 'SLOW_MODE', slowModeSeconds: 30 })
      expect(s.slowModeSeconds).toBe(30)
      expect(run(s, { type: 'moderation', action: 'SLOW_MODE', slowModeSeconds: 0 }).slowModeSeconds).toBe(0)
    })

    it('a ban or timeout of this user mutes the send box and says so; unban lifts it; others are unaffected', () => {
      let s = run(initialChatState, welcome, { type: 'moderation', action: 'BAN', userId: 'carol' })
      expect(s.mutedUntil).toBeNull()
      expect(s.moderationSeq).toBe(1)
      s = run(s, { type: 'moderation', action: 'BAN', userId: 'bob' })
      expect(isMuted(s, Date.now())).toBe(true)
      expect(s.error?.message).toBe('You are banned from this chat.')
      s = run(s, { type: 'moderation', action: 'UNBAN', userId: 'bob' })
      expect(isMuted(s, Date.now())).toBe(false)
      expect(s.error).toBeNull()
      const until = new Date(Date.now() + 60_000).toISOString()
      s = run(s, { type: 'moderation', action: 'TIMEOUT', userId: 'bob', until })
      expect(s.mutedUntil).toBe(Date.parse(until))
      expect(isMuted(s, Date.now())).toBe(true)
      expect(isMuted(s, Date.parse(until) + 1)).toBe(false)
      expect(s.error?.code).toBe('TIMED_OUT')
    })

    it('a refused post (BANNED / TIMED_OUT with until) mutes too', () => {
      const until = new Date(Date.now() + 5000).toISOString()
      const s = run(initialChatState, welcome, { type: 'error', code: 'TIMED_OUT', message: 'you are timed out', until })
      expect(s.mutedUntil).toBe(Date.parse(until))
      expect(run(initialChatState, { type: 'error', code: 'BANNED', message: 'x' }).mutedUntil).toBe(Infinity)
    })

    it('being named or removed as moderator turns the controls on and off', () => {
      let s = run(initialChatState, welcome, { type: 'moderation', action: 'MODERATOR_ADDED', userId: 'bob' })
      expect(s.canModerate).toBe(true)
      s = run(s, { type: 'moderation', action: 'MODERATOR_REMOVED', userId: 'bob' })
      expect(s.canModerate).toBe(false)
    })
  })
})
