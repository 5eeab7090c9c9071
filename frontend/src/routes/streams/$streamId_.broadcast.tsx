// /streams/{streamId}/broadcast (docs/web.md, owner only): broadcast controls (ingest, key, health,
// go live / end, thumbnail) and the chat with its moderation.
import { createFileRoute, Link } from '@tanstack/react-router'
import { BroadcastControls } from '../../components/stream/BroadcastControls'
import { ChatPanel } from '../../components/stream/ChatPanel'
import { useIngestQuery, useStreamQuery } from '../../hooks/useStreams'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/streams/$streamId_/broadcast')({
  beforeLoad: requireSession,
  component: BroadcastPage,
})

function BroadcastPage() {
  const { streamId } = Route.useParams()
  const stream = useStreamQuery(streamId)
  const ingest = useIngestQuery(streamId)
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
  return (
    <section className="watch">
      <div className="watch-main">
        <h1>
          Broadcast: {s.title}{' '}
          <span className={`badge badge-${s.status.toLowerCase()}`} data-status={s.status} data-testid="stream-status">
            {s.status}
          </span>
        </h1>
        <BroadcastControls stream={s} ingest={ingest.data} />
        <p>
          <Link to="/streams/$streamId" params={{ streamId }}>
            Watch page
          </Link>
        </p>
      </div>
      <ChatPanel streamId={streamId} />
    </section>
  )
}
