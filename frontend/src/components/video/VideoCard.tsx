import { Link } from '@tanstack/react-router'
import type { VideoSummary } from '../../types'
import { formatDuration } from '../../lib/format'
import { StatusBadge } from './StatusBadge'

/** A grid card (docs/web.md): poster, title, duration, status badge; links to the video. */
export function VideoCard({ video }: { video: VideoSummary }) {
  return (
    <li className="card" data-video-id={video.id}>
      <Link to="/videos/$videoId" params={{ videoId: video.id }} className="card-link">
        <div className="poster">
          {video.posterUrl ? <img src={video.posterUrl} alt="" loading="lazy" /> : <div className="poster-empty" aria-hidden="true" />}
          {video.durationSeconds ? <span className="duration">{formatDuration(video.durationSeconds)}</span> : null}
        </div>
        <div className="card-body">
          <span className="card-title">{video.title}</span>
          <span className="card-meta">
            <StatusBadge status={video.status} progress={video.transcodeProgress} />
            {video.visibility === 'private' ? <span className="muted">Private</span> : null}
          </span>
        </div>
      </Link>
    </li>
  )
}
