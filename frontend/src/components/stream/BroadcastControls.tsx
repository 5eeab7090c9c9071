// The owner's broadcast controls (docs/web.md): RTMP URL and stream key
// (hidden until revealed, copy buttons, rotation), health, go live / end stream, thumbnail.
// The key lives in memory only: never in the URL, storage or logs.
import { useState } from 'react'
import { useRotateKeyMutation, useStartStreamMutation, useStopStreamMutation, useStreamThumbnailMutation } from '../../hooks/useStreams'
import type { Ingest, LiveStream } from '../../types'
import { ThumbnailPicker } from './ThumbnailPicker'

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

function health(s: LiveStream): string {
  if (s.status === 'LIVE') return `${s.broadcasting ? 'Receiving video' : 'No signal (waiting for the encoder to reconnect)'} · ${s.viewerCount} watching`
  return s.status === 'ENDED' ? 'Ended' : 'No signal'
}

export function BroadcastControls({ stream: s, ingest: i }: { stream: LiveStream; ingest: Ingest }) {
  const [reveal, setReveal] = useState(false)
  const rotate = useRotateKeyMutation(s.id)
  const start = useStartStreamMutation(s.id)
  const stop = useStopStreamMutation(s.id)
  const thumb = useStreamThumbnailMutation()
  const error = start.error ?? stop.error ?? rotate.error ?? thumb.error
  return (
    <>
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
      <p data-testid="stream-health">{health(s)}</p>
      <div className="row">
        {s.status === 'OFFLINE' || s.status === 'SCHEDULED' ? (
          <button type="button" className="primary" onClick={() => start.mutate()} disabled={start.isPending}>
            Go live
          </button>
        ) : null}
        {s.status === 'LIVE' ? (
          <button type="button" className="danger" onClick={() => stop.mutate()} disabled={stop.isPending}>
            End stream
          </button>
        ) : null}
      </div>
      <ThumbnailPicker current={s.thumbnailUrl} disabled={thumb.isPending} onPicked={(jpeg) => jpeg && thumb.mutate({ id: s.id, jpeg })} />
      {thumb.isSuccess ? <p className="muted">Thumbnail saved.</p> : null}
      {error ? (
        <p role="alert" className="error">
          {error.message}
        </p>
      ) : null}
    </>
  )
}
