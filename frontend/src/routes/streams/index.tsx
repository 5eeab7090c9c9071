// /streams (docs/web.md): other people's public streams that are live now, then the user's own
// streams (LIVE first with viewer counts) and a Scheduled section.
import { createFileRoute, Link } from '@tanstack/react-router'
import { StreamCard } from '../../components/stream/StreamCard'
import { usePublicStreamsQuery, useStreamsQuery } from '../../hooks/useStreams'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/streams/')({
  beforeLoad: requireSession,
  component: StreamsPage,
})

function StreamsPage() {
  const query = useStreamsQuery()
  const publicQuery = usePublicStreamsQuery()
  const items = query.data?.items ?? []
  const liveNow = (publicQuery.data?.items ?? []).filter((s) => s.status === 'LIVE' && !items.some((mine) => mine.id === s.id))
  const scheduled = items.filter((s) => s.status === 'SCHEDULED')
  const others = items.filter((s) => s.status !== 'SCHEDULED').sort((a, b) => Number(b.status === 'LIVE') - Number(a.status === 'LIVE'))
  return (
    <section>
      <div className="toolbar">
        <h1>Streams</h1>
        <Link to="/streams/create" className="button primary">
          Create a stream
        </Link>
      </div>
      {query.isPending ? <p aria-busy="true">Loading streams…</p> : null}
      {query.isError ? (
        <p role="alert" className="error">
          {query.error.message}
        </p>
      ) : null}
      {liveNow.length ? (
        <>
          <h2>Live now</h2>
          <ul className="grid" aria-label="Live now">
            {liveNow.map((s) => (
              <StreamCard key={s.id} stream={s} />
            ))}
          </ul>
          <h2>Your streams</h2>
        </>
      ) : null}
      {query.isSuccess && items.length === 0 ? <p className="empty">No streams yet.</p> : null}
      <ul className="grid" aria-label="Streams">
        {others.map((s) => (
          <StreamCard key={s.id} stream={s} />
        ))}
      </ul>
      {scheduled.length ? (
        <>
          <h2>Scheduled</h2>
          <ul className="grid" aria-label="Scheduled streams">
            {scheduled.map((s) => (
              <StreamCard key={s.id} stream={s} />
            ))}
          </ul>
        </>
      ) : null}
    </section>
  )
}
