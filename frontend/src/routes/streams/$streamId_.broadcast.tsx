// /streams/{streamId}/broadcast (docs/web.md, owner only): RTMP URL and stream key (hidden
// until revealed, copy buttons, rotation), go live / end stream, stream health, chat moderation.
// The key is read from GET /ingest into memory only: never into the URL, storage or logs.
import { createFileRoute, Link } from '@tanstack/react-router'
import { useState } from 'react'
import { ChatPanel } from '../../components/stream/ChatPanel'
import { useIngestQuery, useRotateKeyMutation, useStreamActionMutation, useStreamQuery } from '../../hooks/useStreams'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/streams/$streamId_/broadcast')({
  beforeLoad: requireSession,
  component: BroadcastPage,
})

function Copy({ value, label }: { value: string; label: string }) {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      aria-label={`Copy ${label}`}
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => {
          setDone(true)
          setTimeout(() => setDone(false), 1500)
        })
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  )
}

function BroadcastPage() {
  const { streamId } = Route.useParams()
  const stream = useStreamQuery(streamId)
  const ingest = useIngestQuery(streamId)
  const rotate = useRotateKeyMutation(streamId)
  const action = useStreamActionMutation(streamId)
  const [reveal, setReveal] = useState(false)
  if (stream.isError || ingest.isError)
    return (
      <section>
        <h1>Broadcast unavailable</h1>
        <p role="alert" className="error">
          {(stream.error ?? ingest.error)?.message}
        </p>
      </section>
    )
  if (!stream.data || !ingest.data) return <p aria-busy="true">Loading…</p>
  const s = stream.data
  const i = ingest.data
  return (
    <section className="watch">
      <div className="watch-main">
        <h1>
          Broadcast: {s.title}{' '}
          <span className={`badge badge-${s.status.toLowerCase()}`} data-status={s.status} data-testid="stream-status">
            {s.status}
          </span>
        </h1>
        <dl className="ingest">
          <dt>Server (RTMP URL)</dt>
          <dd>
            <code data-testid="rtmp-url">{i.rtmpUrl}</code> <Copy value={i.rtmpUrl} label="RTMP URL" />
          </dd>
          <dt>Stream key</dt>
          <dd>
            <code data-testid="stream-key">{reveal ? i.streamKey : '•'.repeat(16)}</code>{' '}
            <button type="button" onClick={() => setReveal(!reveal)} aria-pressed={reveal}>
              {reveal ? 'Hide' : 'Reveal'}
            </button>{' '}
            <Copy value={i.streamKey} label="stream key" />{' '}
            <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending || s.status === 'LIVE'}>
              Rotate key
            </button>
          </dd>
        </dl>
        <h2>Health</h2>
        <p data-testid="stream-health">
          {s.status === 'LIVE' ? (s.broadcasting ? 'Receiving video' : 'No signal (waiting for the encoder to reconnect)') : s.status === 'ENDED' ? 'Ended' : 'No signal'}
          {s.status === 'LIVE' ? ` · ${s.viewerCount} watching` : ''}
        </p>
        <div className="row">
          {s.status === 'OFFLINE' || s.status === 'SCHEDULED' ? (
            <button type="button" className="primary" onClick={() => action.mutate('start')} disabled={action.isPending}>
              Go live
            </button>
          ) : null}
          {s.status === 'LIVE' ? (
            <button type="button" className="danger" onClick={() => action.mutate('stop')} disabled={action.isPending}>
              End stream
            </button>
          ) : null}
          <Link to="/streams/$streamId" params={{ streamId }}>
            Watch page
          </Link>
        </div>
        {action.isError || rotate.isError ? (
          <p role="alert" className="error">
            {(action.error ?? rotate.error)?.message}
          </p>
        ) : null}
      </div>
      <ChatPanel streamId={streamId} />
    </section>
  )
}
