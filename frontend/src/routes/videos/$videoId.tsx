// /videos/{videoId} (docs/web.md): player, metadata, owner actions, retry when FAILED.
import { createFileRoute, Link, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { StatusBadge } from '../../components/video/StatusBadge'
import { VideoPlayer } from '../../components/video/VideoPlayer'
import { useDeleteVideoMutation, useRetryVideoMutation, useStoryboardQuery, useUpdateVideoMutation, useVideoQuery } from '../../hooks/useVideos'
import { useSession } from '../../lib/auth'
import { failReasonInWords, formatBytes, formatDuration } from '../../lib/format'
import { requireSession } from '../../lib/guard'
import type { Video, Visibility } from '../../types'

export const Route = createFileRoute('/videos/$videoId')({
  beforeLoad: requireSession,
  component: VideoDetailPage,
})

function VideoDetailPage() {
  const { videoId } = Route.useParams()
  const query = useVideoQuery(videoId)
  const session = useSession()
  if (query.isPending) return <p aria-busy="true">Loading…</p>
  if (query.isError)
    return (
      <section>
        <h1>Video unavailable</h1>
        <p role="alert" className="error">
          {query.error.message}
        </p>
        <Link to="/videos">Back to the videos</Link>
      </section>
    )
  const video = query.data
  const owner = session?.userId === video.ownerId
  return (
    <section className="detail">
      {video.status === 'READY' && video.playback.streamUrl ? (
        <Player video={video} src={video.playback.streamUrl} />
      ) : (
        <div className="player-placeholder">
          <StatusBadge status={video.status} progress={video.transcodeProgress} />
        </div>
      )}
      <h1>{video.title}</h1>
      <p className="meta">
        <StatusBadge status={video.status} progress={video.transcodeProgress} /> {video.visibility === 'private' ? 'Private' : 'Public'}
        {video.durationSeconds ? ` · ${formatDuration(video.durationSeconds)}` : ''}
        {video.width && video.height ? ` · ${video.width}×${video.height}` : ''} · {formatBytes(video.source.sizeBytes)} · by {video.ownerId}
      </p>
      {video.description ? <p className="description">{video.description}</p> : null}
      {video.status === 'FAILED' ? <Failed video={video} owner={owner} /> : null}
      {owner ? <OwnerActions video={video} /> : null}
    </section>
  )
}

/** The player of a READY video, with the storyboard thumbnails on its seek bar once they are read. */
function Player({ video, src }: { video: Video; src: string }) {
  const storyboard = useStoryboardQuery(video.id, true)
  return <VideoPlayer src={src} poster={video.playback.posterUrl} title={video.title} storyboard={storyboard.data ?? []} />
}

function Failed({ video, owner }: { video: Video; owner: boolean }) {
  const retry = useRetryVideoMutation(video.id)
  return (
    <div className="failed" role="alert">
      <p>
        <strong>{failReasonInWords(video.failReason)}</strong>
        {video.failDetail ? <span className="muted"> ({video.failDetail})</span> : null}
      </p>
      {owner ? (
        <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
          Retry
        </button>
      ) : null}
      {retry.isError ? <p className="error">{retry.error.message}</p> : null}
    </div>
  )
}

function OwnerActions({ video }: { video: Video }) {
  const [editing, setEditing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [title, setTitle] = useState(video.title)
  const [description, setDescription] = useState(video.description)
  const [visibility, setVisibility] = useState<Visibility>(video.visibility)
  const update = useUpdateVideoMutation(video.id)
  const del = useDeleteVideoMutation()
  const navigate = useNavigate()

  return (
    <div className="owner">
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            update.mutate({ title, description, visibility }, { onSuccess: () => setEditing(false) })
          }}
        >
          <label htmlFor="edit-title">Title</label>
          <input id="edit-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={300} />
          <label htmlFor="edit-description">Description</label>
          <textarea id="edit-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={5000} />
          <label htmlFor="edit-visibility">Visibility</label>
          <select id="edit-visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
            <option value="private">Private</option>
            <option value="public">Public</option>
          </select>
          <div className="row">
            <button type="submit" disabled={update.isPending}>
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
          {update.isError ? <p className="error">{update.error.message}</p> : null}
        </form>
      ) : (
        <div className="row">
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
          {confirming ? (
            <span role="alertdialog" aria-label="Confirm delete">
              Delete “{video.title}” for good?{' '}
              <button type="button" className="danger" onClick={() => del.mutate(video.id, { onSuccess: () => void navigate({ to: '/videos', search: {} }) })}>
                Yes, delete
              </button>{' '}
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </span>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </div>
      )}
      {del.isError ? <p className="error">{del.error.message}</p> : null}
    </div>
  )
}
