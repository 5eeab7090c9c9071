// Chat sidebar (docs/web.md): messages in order, auto-scroll that pauses while the viewer reads older
// messages, a send box with the server's limits, errors in words; for the owner and moderators, per
// message delete / time out / ban buttons and the moderation panel (ModerationPanel).
import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { chatKeys, useChatRoomQuery, useModerationMutation } from '../../hooks/useChatModeration'
import { useSession } from '../../lib/auth'
import { isMuted, type ChatMessage } from '../../lib/chat/reducer'
import { ModerationPanel } from './ModerationPanel'
import { useChat } from './useChat'

/** Re-render when `until` (ms since the epoch) passes, so a timeout's end unlocks the send box. */
function useRerenderAt(until: number | null) {
  const [, tick] = useState(0)
  useEffect(() => {
    if (until === null || !Number.isFinite(until)) return
    const wait = until - Date.now()
    if (wait <= 0) return
    const t = setTimeout(() => tick((n) => n + 1), Math.min(wait + 50, 2 ** 31 - 1))
    return () => clearTimeout(t)
  }, [until])
}

/** `actOn`: false for the user's own messages and the owner's (nobody may ban those). */
function MessageActions({ streamId, m, actOn }: { streamId: string; m: ChatMessage; actOn: boolean }) {
  const step = useModerationMutation(streamId)
  const who = m.username ?? m.userId
  return (
    <span className="chat-actions">
      <button type="button" className="link" aria-label={`Delete message from ${who}`} onClick={() => step.mutate({ kind: 'delete', messageId: m.id })}>
        Delete
      </button>
      {!actOn ? null : (
        <>
          <button type="button" className="link" aria-label={`Time out ${who} for 5 minutes`} onClick={() => step.mutate({ kind: 'ban', userId: m.userId, durationSeconds: 300 })}>
            Time out
          </button>
          <button type="button" className="link" aria-label={`Ban ${who}`} onClick={() => step.mutate({ kind: 'ban', userId: m.userId })}>
            Ban
          </button>
        </>
      )}
      {step.isError ? (
        <span role="alert" className="error">
          {' '}
          {step.error.message}
        </span>
      ) : null}
    </span>
  )
}

export function ChatPanel({ streamId }: { streamId: string }) {
  const { state, send } = useChat(streamId)
  const session = useSession()
  const qc = useQueryClient()
  const [text, setText] = useState('')
  const [follow, setFollow] = useState(true)
  const list = useRef<HTMLOListElement>(null)
  const max = state.limits?.maxChars ?? 500
  const room = useChatRoomQuery(streamId, state.canModerate)
  const isOwner = !!session && room.data?.ownerId === session.userId
  useRerenderAt(state.mutedUntil)
  const muted = isMuted(state, Date.now())
  const canType = state.canPost && !muted

  useEffect(() => {
    const el = list.current
    if (el && follow) el.scrollTop = el.scrollHeight
  }, [state.messages, follow])

  // another moderator changed bans, moderators or slow mode: read the lists again
  useEffect(() => {
    if (state.moderationSeq > 0) void qc.invalidateQueries({ queryKey: chatKeys.all(streamId) })
  }, [state.moderationSeq, streamId, qc])

  return (
    <aside className="chat" aria-label="Chat">
      <div className="chat-head">
        <strong>Chat</strong>
        <span className="muted" data-testid="chat-connection">
          {state.connected ? 'connected' : 'reconnecting…'}
        </span>
      </div>
      <ol
        className="chat-list"
        ref={list}
        data-testid="chat-messages"
        onScroll={(e) => {
          const el = e.currentTarget
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < 24)
        }}
        aria-live="polite"
      >
        {state.messages.map((m) => (
          <li key={m.id} data-seq={m.seq}>
            <span className="chat-user">{m.username ?? m.userId}</span> <span className="chat-text">{m.text}</span>
            {state.canModerate ? <MessageActions streamId={streamId} m={m} actOn={!!room.data && m.userId !== state.userId && m.userId !== room.data.ownerId} /> : null}
          </li>
        ))}
      </ol>
      {!follow ? (
        <button type="button" onClick={() => setFollow(true)}>
          New messages below
        </button>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (text.trim() && send(text.trim())) setText('')
        }}
      >
        <label htmlFor="chat-input" className="sr-only">
          Message
        </label>
        <input
          id="chat-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          maxLength={max}
          disabled={!canType}
          placeholder={muted ? 'You may not post right now' : state.canPost ? 'Say something' : 'Chat opens when the stream is live'}
        />
        <div className="row">
          <button type="submit" disabled={!canType || !text.trim()}>
            Send
          </button>
          <span className="muted" data-testid="chat-limits">
            {text.length}/{max}
            {state.slowModeSeconds ? ` · slow mode ${state.slowModeSeconds} s` : ''}
          </span>
        </div>
      </form>
      {state.error ? (
        <p role="alert" className="error" data-testid="chat-error">
          {state.error.message}
        </p>
      ) : null}
      {state.canModerate ? <ModerationPanel streamId={streamId} isOwner={isOwner} slowModeSeconds={state.slowModeSeconds} /> : null}
    </aside>
  )
}
