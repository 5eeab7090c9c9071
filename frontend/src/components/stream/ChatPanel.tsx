// Chat sidebar (docs/web.md): messages in order, auto-scroll that pauses
// while the viewer reads older messages, a send box with the server's limits, errors in words, and
// a delete button for the owner and moderators.
import { useEffect, useRef, useState } from 'react'
import { deleteChatMessage } from '../../lib/api/streams'
import { useChat } from './useChat'

export function ChatPanel({ streamId }: { streamId: string }) {
  const { state, send } = useChat(streamId)
  const [text, setText] = useState('')
  const [follow, setFollow] = useState(true)
  const [modError, setModError] = useState<string | null>(null)
  const list = useRef<HTMLOListElement>(null)
  const max = state.limits?.maxChars ?? 500

  useEffect(() => {
    const el = list.current
    if (el && follow) el.scrollTop = el.scrollHeight
  }, [state.messages, follow])

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
            {state.canModerate ? (
              <button
                type="button"
                className="link"
                aria-label={`Delete message from ${m.username ?? m.userId}`}
                onClick={() => deleteChatMessage(streamId, m.id).catch((err: Error) => setModError(err.message))}
              >
                Delete
              </button>
            ) : null}
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
        <input id="chat-input" value={text} onChange={(e) => setText(e.target.value)} maxLength={max} disabled={!state.canPost} placeholder={state.canPost ? 'Say something' : 'Chat opens when the stream is live'} />
        <div className="row">
          <button type="submit" disabled={!state.canPost || !text.trim()}>
            Send
          </button>
          <span className="muted">
            {text.length}/{max}
            {state.slowModeSeconds ? ` · slow mode ${state.slowModeSeconds} s` : ''}
          </span>
        </div>
      </form>
      {state.error || modError ? (
        <p role="alert" className="error">
          {state.error?.message ?? modError}
        </p>
      ) : null}
    </aside>
  )
}
