// Chat moderation for the stream owner and moderators (docs/web.md): slow mode, ban or time out a
// person, lift bans, and (owner only) name or remove moderators. Shown only to who may use it; every
// refusal of the chat service is shown in words.
import { useId, useState } from 'react'
import { useChatBansQuery, useChatModeratorsQuery, useModerationMutation } from '../../hooks/useChatModeration'

/** Slow mode choices (seconds; the service allows 0..3600). */
export const SLOW_MODES: { seconds: number; label: string }[] = [
  { seconds: 0, label: 'Off' },
  { seconds: 5, label: '5 seconds' },
  { seconds: 10, label: '10 seconds' },
  { seconds: 30, label: '30 seconds' },
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
]

/** Ban lengths: none = banned until lifted; else a timeout in seconds (the service allows up to 14 days). */
export const BAN_LENGTHS: { seconds: number | null; label: string }[] = [
  { seconds: 60, label: 'Time out 1 minute' },
  { seconds: 300, label: 'Time out 5 minutes' },
  { seconds: 600, label: 'Time out 10 minutes' },
  { seconds: 3600, label: 'Time out 1 hour' },
  { seconds: 86_400, label: 'Time out 1 day' },
  { seconds: null, label: 'Ban until lifted' },
]

export function ModerationPanel({ streamId, isOwner, slowModeSeconds }: { streamId: string; isOwner: boolean; slowModeSeconds: number }) {
  const ids = useId()
  const bans = useChatBansQuery(streamId)
  const mods = useChatModeratorsQuery(streamId)
  const step = useModerationMutation(streamId)
  const [slow, setSlow] = useState(String(slowModeSeconds))
  const [who, setWho] = useState('')
  const [length, setLength] = useState('300')
  const [reason, setReason] = useState('')
  const [newMod, setNewMod] = useState('')
  const error = step.error ?? bans.error ?? mods.error

  return (
    <details className="moderation" data-testid="moderation" open>
      <summary>Moderation</summary>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault()
          step.mutate({ kind: 'slowMode', seconds: Number(slow) })
        }}
      >
        <label htmlFor={`${ids}-slow`}>Slow mode</label>
        <select id={`${ids}-slow`} value={slow} onChange={(e) => setSlow(e.target.value)}>
          {SLOW_MODES.map((m) => (
            <option key={m.seconds} value={m.seconds}>
              {m.label}
            </option>
          ))}
        </select>
        <button type="submit" disabled={step.isPending}>
          Set slow mode
        </button>
        <span className="muted" data-testid="slow-mode-now">
          now {slowModeSeconds ? `${slowModeSeconds} s` : 'off'}
        </span>
      </form>

      <form
        onSubmit={(e) => {
          e.preventDefault()
          const seconds = length === 'ban' ? undefined : Number(length)
          step.mutate({ kind: 'ban', userId: who.trim(), durationSeconds: seconds, reason: reason.trim() || undefined }, { onSuccess: () => setWho('') })
        }}
      >
        <label htmlFor={`${ids}-who`}>Ban or time out (user)</label>
        <input id={`${ids}-who`} value={who} onChange={(e) => setWho(e.target.value)} required maxLength={200} autoComplete="off" />
        <label htmlFor={`${ids}-length`}>For how long</label>
        <select id={`${ids}-length`} value={length} onChange={(e) => setLength(e.target.value)}>
          {BAN_LENGTHS.map((b) => (
            <option key={b.label} value={b.seconds ?? 'ban'}>
              {b.label}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-reason`}>Reason (optional)</label>
        <input id={`${ids}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
        <button type="submit" className="danger" disabled={step.isPending || !who.trim()}>
          Apply
        </button>
      </form>

      <h3>Banned and timed out</h3>
      {bans.data?.length ? (
        <ul className="plain" data-testid="bans">
          {bans.data.map((b) => (
            <li key={b.userId} className="row">
              <span>
                {b.userId} <span className="muted">{b.until ? `until ${new Date(b.until).toLocaleTimeString()}` : 'banned'}</span>
              </span>
              <button type="button" className="link" aria-label={`Lift the ban on ${b.userId}`} onClick={() => step.mutate({ kind: 'unban', userId: b.userId })}>
                Lift
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{bans.isPending ? 'Loading…' : 'Nobody.'}</p>
      )}

      <h3>Moderators</h3>
      {mods.data?.length ? (
        <ul className="plain" data-testid="moderators">
          {mods.data.map((m) => (
            <li key={m} className="row">
              <span>{m}</span>
              {isOwner ? (
                <button type="button" className="link" aria-label={`Remove moderator ${m}`} onClick={() => step.mutate({ kind: 'moderator', userId: m, present: false })}>
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{mods.isPending ? 'Loading…' : 'None yet.'}</p>
      )}
      {isOwner ? (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault()
            step.mutate({ kind: 'moderator', userId: newMod.trim(), present: true }, { onSuccess: () => setNewMod('') })
          }}
        >
          <label htmlFor={`${ids}-mod`}>New moderator (user)</label>
          <input id={`${ids}-mod`} value={newMod} onChange={(e) => setNewMod(e.target.value)} required maxLength={200} autoComplete="off" />
          <button type="submit" disabled={step.isPending || !newMod.trim()}>
            Add moderator
          </button>
        </form>
      ) : null}
      {error ? (
        <p role="alert" className="error" data-testid="moderation-error">
          {error.message}
        </p>
      ) : null}
    </details>
  )
}
