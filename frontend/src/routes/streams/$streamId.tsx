// /streams/{streamId} (docs/web.md): live player, viewer count, stream info and the chat;
// after the stream ends, a link to its recording.
import { createFileRoute, Link } from '@tanstack/react-router'
import { ChatPanel } from '../../components/stream/ChatPanel'
import { LivePlayer } from '../../components/stream/LivePlayer'
import { useStreamQuery } from '../../hooks/useStreams'
import { ApiError } from '../../lib/api/client'
import { useSession } from '../../lib/auth'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/streams/$streamId')({
  beforeLoad: requireSession,
  component: StreamDetailPage,
})

function StreamDetailPage() {
  const { streamId } = Route.useParams()
  // the chat stays mounted whatever the stream query does (loading, refetching, refused)
  return (
    <section className="watch">
      <div className="watch-main">
        <StreamInfo streamId={streamId} />
      </div>
      <ChatPanel streamId={streamId} />
    </section>
  )
}

function StreamInfo({ streamId }: { streamId: string }) {
  const query = useStreamQuery(streamId)
  const session = useSession()
  if (query.isPending) return <p aria-busy="true">Loading…</p>
  if (query.isError)
    return (
      <>
        <h1>Stream unavailable</h1>
        <p role="alert" className="error">
          {query.error.message}
        </p>
        {query.error instanceof ApiError && query.error.code === 'STREAM_NOT_FOUND' ? (
          <p className="muted">A stream's page shows only to its owner; its chat is open to everyone signed in while it runs.</p>
        ) : null}
      </>
    )
  const s = query.data
  return (
    <>
      {s.status === 'LIVE' && s.playbackUrl ? (
        <LivePlayer src={s.playbackUrl} title={s.title} poster={s.thumbnailUrl} />
      ) : (
        <div className="player-placeholder" style={s.thumbnailUrl ? { backgroundImage: `url("${s.thumbnailUrl}")` } : undefined}>
          <span className={`badge badge-${s.status.toLowerCase()}`}>{s.status === 'ENDED' ? 'Stream ended' : 'Not live yet'}</span>
        </div>
      )}
      <h1>
        {s.title}{' '}
        <span className={`badge badge-${s.status.toLowerCase()}`} data-status={s.status} data-testid="stream-status">
          {s.status}
        </span>
      </h1>
      <p className="meta">
        {s.status === 'LIVE' ? `${s.viewerCount} watching · ` : ''}by {s.ownerId}
        {s.startedAt ? ` · started ${new Date(s.startedAt).toLocaleTimeString()}` : ''}
      </p>
      {s.description ? <p>{s.description}</p> : null}
      {s.status === 'ENDED' && s.recordingVideoId ? (
        <p>
          <Link to="/videos/$videoId" params={{ videoId: s.recordingVideoId }}>
            Watch the recording
          </Link>
        </p>
      ) : s.status === 'ENDED' && s.recordingEnabled ? (
        <p className="muted">The recording is being prepared ({s.recordingStatus ?? 'pending'}).</p>
      ) : null}
      {session?.userId === s.ownerId ? (
        <Link to="/streams/$streamId/broadcast" params={{ streamId: s.id }} className="button">
          Broadcast controls
        </Link>
      ) : null}
    </>
  )
}
