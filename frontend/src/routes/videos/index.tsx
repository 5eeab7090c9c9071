// /videos (docs/web.md): the signed-in user's and public videos, newest first.
import { createFileRoute, Link, useNavigate } from '@tanstack/react-router'
import { useEffect, useState } from 'react'
import { VideoCard } from '../../components/video/VideoCard'
import { useVideosQuery } from '../../hooks/useVideos'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/videos/')({
  validateSearch: (search: Record<string, unknown>): { q?: string } => ({
    q: typeof search.q === 'string' && search.q ? search.q : undefined,
  }),
  beforeLoad: requireSession,
  component: VideosPage,
})

function VideosPage() {
  const { q = '' } = Route.useSearch()
  const navigate = useNavigate({ from: '/videos/' })
  const [text, setText] = useState(q)
  useEffect(() => setText(q), [q])
  const query = useVideosQuery(q)
  const items = query.data?.pages.flatMap((p) => p.items) ?? []

  return (
    <section>
      <div className="toolbar">
        <h1>Videos</h1>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault()
            void navigate({ search: { q: text.trim() || undefined } })
          }}
        >
          <label htmlFor="q" className="sr-only">
            Search videos
          </label>
          <input id="q" type="search" placeholder="Search title and description" value={text} onChange={(e) => setText(e.target.value)} />
          <button type="submit">Search</button>
        </form>
        <Link to="/videos/upload" className="button primary">
          Upload
        </Link>
      </div>
      {query.isPending ? <p aria-busy="true">Loading videos…</p> : null}
      {query.isError ? (
        <p role="alert" className="error">
          {query.error.message}
        </p>
      ) : null}
      {query.isSuccess && items.length === 0 ? (
        <p className="empty">{q ? `No videos match “${q}”.` : 'No videos yet. Upload your first one.'}</p>
      ) : null}
      <ul className="grid" aria-label="Videos">
        {items.map((v) => (
          <VideoCard key={v.id} video={v} />
        ))}
      </ul>
      {query.hasNextPage ? (
        <button type="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  )
}
