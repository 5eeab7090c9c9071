import { Link } from '@tanstack/react-router'
import type { LiveStream } from '../../types'

/** A stream in a grid: thumbnail, title, status badge (LIVE with viewers, scheduled time). */
export function StreamCard({ stream }: { stream: LiveStream }) {
  return (
    <li className="card" data-stream-id={stream.id}>
      <Link to="/streams/$streamId" params={{ streamId: stream.id }} className="card-link">
        <div className="poster">
          {stream.thumbnailUrl ? <img src={stream.thumbnailUrl} alt="" loading="lazy" data-testid="stream-thumbnail" /> : <div className="poster-empty" aria-hidden="true" />}
          {stream.status === 'LIVE' ? <span className="live-flag">LIVE</span> : null}
        </div>
        <div className="card-body">
          <span className="card-title">{stream.title}</span>
          <span className="card-meta">
            <span className={`badge badge-${stream.status.toLowerCase()}`} data-status={stream.status}>
              {stream.status === 'LIVE' ? 'LIVE' : stream.status.charAt(0) + stream.status.slice(1).toLowerCase()}
            </span>
            {stream.status === 'LIVE' ? <span className="muted">{stream.viewerCount} watching</span> : null}
            {stream.status === 'SCHEDULED' && stream.scheduledAt ? <span className="muted">{new Date(stream.scheduledAt).toLocaleString()}</span> : null}
          </span>
        </div>
      </Link>
    </li>
  )
}
