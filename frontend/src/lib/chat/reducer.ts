// Chat state from the chat service's WebSocket frames (services/chat .../http/ws.py): messages kept in
// `seq` order without duplicates, deletions applied even when they arrive before the message, and
// `lastSeq` for a reconnect (`?lastSeq=`) so nothing is lost or doubled.

export interface ChatMessage {
  id: string
  seq: number
  userId: string
  username: string | null
  text: string
  sentAt: string
}

export interface ChatLimits {
  maxChars: number
  burst: number
  perSecond: number
}

export interface ChatState {
  messages: ChatMessage[]
  /** Highest `seq` seen (null before any): the reconnect point. */
  lastSeq: number | null
  deleted: Set<string>
  status: string | null
  viewers: number
  /** The signed-in user the server recognised (null: reading anonymously). */
  userId: string | null
  canPost: boolean
  canModerate: boolean
  slowModeSeconds: number
  limits: ChatLimits | null
  connected: boolean
  truncated: boolean
  error: { code: string; message: string } | null
  /** This user may not post until then (ms since the epoch; Infinity = banned until lifted; null = free). */
  mutedUntil: number | null
  /** Counts moderation frames: lists of bans and moderators are stale when it changes. */
  moderationSeq: number
}

export type ChatFrame =
  | { type: 'welcome'; status: string; userId?: string | null; canPost: boolean; canModerate: boolean; slowModeSeconds: number; viewers: number; lastSeq: number | null; limits: ChatLimits }
  | { type: 'history'; messages: ChatMessage[]; truncated: boolean; deleted: string[] }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'deleted'; messageId: string; seq: number | null }
  | { type: 'presence'; viewers: number }
  | { type: 'room'; status: string }
  | { type: 'moderation'; action: string; userId?: string; until?: string; slowModeSeconds?: number; reason?: string }
  | { type: 'ack'; id: string; seq: number; nonce?: string }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string; until?: string }

export type ChatAction = ChatFrame | { type: 'connected' } | { type: 'disconnected' }

export const initialChatState: ChatState = {
  messages: [],
  lastSeq: null,
  deleted: new Set(),
  status: null,
  viewers: 0,
  userId: null,
  canPost: false,
  canModerate: false,
  slowModeSeconds: 0,
  limits: null,
  connected: false,
  truncated: false,
  error: null,
  mutedUntil: null,
  moderationSeq: 0,
}

/** Words for the chat service's error codes (its domain/rules.py). */
export function chatErrorInWords(code: string, fallback: string): string {
  const words: Record<string, string> = {
    RATE_LIMITED: 'You are sending messages too fast. Wait a moment.',
    SLOW_MODE: 'Slow mode is on: wait before sending another message.',
    BANNED: 'You are banned from this chat.',
    TIMED_OUT: 'You are timed out for a while.',
    MESSAGE_TOO_LONG: 'The message is too long.',
    EMPTY_MESSAGE: 'The message is empty.',
    ROOM_CLOSED: 'The chat is open only while the stream is live.',
    FORBIDDEN: 'You are not allowed to do that.',
    UNAUTHENTICATED: 'Sign in to chat.',
  }
  return words[code] ?? fallback
}

function merge(current: ChatMessage[], incoming: ChatMessage[], deleted: Set<string>): ChatMessage[] {
  const bySeq = new Map(current.map((m) => [m.seq, m]))
  for (const m of incoming) if (!deleted.has(m.id) && !bySeq.has(m.seq)) bySeq.set(m.seq, m)
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

function maxSeq(a: number | null, msgs: { seq: number }[]): number | null {
  return msgs.reduce<number | null>((acc, m) => (acc === null || m.seq > acc ? m.seq : acc), a)
}

/** The next state after one frame or connection change (pure). */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'connected':
      return { ...state, connected: true }
    case 'disconnected':
      return { ...state, connected: false }
    case 'welcome':
      return {
        ...state,
        status: action.status,
        userId: action.userId ?? null,
        canPost: action.canPost,
        canModerate: action.canModerate,
        slowModeSeconds: action.slowModeSeconds,
        viewers: action.viewers,
        limits: action.limits,
        error: null,
      }
    case 'history': {
      const deleted = new Set([...state.deleted, ...action.deleted])
      const kept = state.messages.filter((m) => !deleted.has(m.id))
      return { ...state, deleted, messages: merge(kept, action.messages, deleted), lastSeq: maxSeq(state.lastSeq, action.messages), truncated: state.truncated || action.truncated }
    }
    case 'message': {
      const { type: _t, ...msg } = action
      return { ...state, messages: merge(state.messages, [msg], state.deleted), lastSeq: maxSeq(state.lastSeq, [msg]) }
    }
    case 'deleted': {
      const deleted = new Set(state.deleted).add(action.messageId)
      return { ...state, deleted, messages: state.messages.filter((m) => m.id !== action.messageId) }
    }
    case 'presence':
      return { ...state, viewers: action.viewers }
    case 'room':
      // a signed-in viewer connected before the stream went live may post once it is
      return { ...state, status: action.status, canPost: action.status === 'LIVE' ? state.canPost || state.userId !== null : false }
    case 'moderation':
      return moderate({ ...state, moderationSeq: state.moderationSeq + 1 }, action)
    case 'error': {
      const muted = action.code === 'BANNED' ? Infinity : action.code === 'TIMED_OUT' && action.until ? Date.parse(action.until) : state.mutedUntil
      return { ...state, mutedUntil: Number.isNaN(muted) ? state.mutedUntil : muted, error: { code: action.code, message: chatErrorInWords(action.code, action.message) } }
    }
    case 'ack':
    case 'pong':
      return state
  }
}

/** A `moderation` frame (the chat service's chat.moderated actions: BAN, TIMEOUT, UNBAN, SLOW_MODE,
 * MODERATOR_ADDED, MODERATOR_REMOVED) applied to what this user may do. */
function moderate(state: ChatState, m: Extract<ChatFrame, { type: 'moderation' }>): ChatState {
  const action = m.action.toUpperCase()
  if (action === 'SLOW_MODE') return m.slowModeSeconds !== undefined ? { ...state, slowModeSeconds: m.slowModeSeconds } : state
  if (!m.userId || m.userId !== state.userId) return state
  switch (action) {
    case 'BAN':
      return { ...state, mutedUntil: Infinity, error: { code: 'BANNED', message: chatErrorInWords('BANNED', '') } }
    case 'TIMEOUT': {
      const until = m.until ? Date.parse(m.until) : Number.NaN
      return { ...state, mutedUntil: Number.isNaN(until) ? state.mutedUntil : until, error: { code: 'TIMED_OUT', message: timedOutWords(m.until) } }
    }
    case 'UNBAN':
      return { ...state, mutedUntil: null, error: state.error && ['BANNED', 'TIMED_OUT'].includes(state.error.code) ? null : state.error }
    case 'MODERATOR_ADDED':
      return { ...state, canModerate: true }
    case 'MODERATOR_REMOVED':
      return { ...state, canModerate: false }
    default:
      return state
  }
}

function timedOutWords(until: string | undefined): string {
  const t = until ? new Date(until) : null
  return t && !Number.isNaN(t.getTime()) ? `You are timed out until ${t.toLocaleTimeString()}.` : chatErrorInWords('TIMED_OUT', '')
}

/** True while `state.mutedUntil` lies after `now` (ms since the epoch). */
export function isMuted(state: Pick<ChatState, 'mutedUntil'>, now: number): boolean {
  return state.mutedUntil !== null && state.mutedUntil > now
}

/** The WebSocket URL on the page's origin. A signed-in viewer passes a short-lived chat ticket (from
 * `POST /api/streams/{id}/chat/ticket`), never the bearer token; `lastSeq` asks for exactly what was missed. */
export function chatSocketUrl(origin: string, streamId: string, ticket: string | null, lastSeq: number | null): string {
  const url = new URL(`/ws/streams/${encodeURIComponent(streamId)}/chat`, origin.replace(/^http/, 'ws'))
  if (ticket) url.searchParams.set('ticket', ticket)
  if (lastSeq !== null) url.searchParams.set('lastSeq', String(lastSeq))
  return url.toString()
}
