// /streams/create (docs/web.md): title, description, thumbnail image, optional schedule time,
// recording toggle.
import { createFileRoute, Link, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { ThumbnailPicker } from '../../components/stream/ThumbnailPicker'
import { useCreateStreamMutation, useStreamThumbnailMutation } from '../../hooks/useStreams'
import { requireSession } from '../../lib/guard'

export const Route = createFileRoute('/streams/create')({
  beforeLoad: requireSession,
  component: CreateStreamPage,
})

function CreateStreamPage() {
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [when, setWhen] = useState('')
  const [recording, setRecording] = useState(true)
  const [isPublic, setIsPublic] = useState(true)
  const [thumbnail, setThumbnail] = useState<Blob | null>(null)
  const create = useCreateStreamMutation()
  const thumb = useStreamThumbnailMutation()
  const navigate = useNavigate()
  return (
    <section className="narrow">
      <h1>Create a stream</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          create.mutate(
            { title: title.trim(), description, scheduledAt: when ? new Date(when).toISOString() : null, recordingEnabled: recording, visibility: isPublic ? 'public' : 'private' },
            // the key came in this answer once; the broadcast page reads it again from /ingest (never the URL)
            {
              onSuccess: (s) => {
                const go = () => void navigate({ to: '/streams/$streamId/broadcast', params: { streamId: s.id } })
                if (thumbnail) thumb.mutate({ id: s.id, jpeg: thumbnail }, { onSuccess: go })
                else go()
              },
            },
          )
        }}
      >
        <label htmlFor="stream-title">Title</label>
        <input id="stream-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        <label htmlFor="stream-description">Description</label>
        <textarea id="stream-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={5000} />
        <ThumbnailPicker onPicked={setThumbnail} />
        <label htmlFor="stream-when">Scheduled for (optional)</label>
        <input id="stream-when" type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} />
        <label className="check">
          <input type="checkbox" checked={recording} onChange={(e) => setRecording(e.target.checked)} /> Record the stream (it becomes a video)
        </label>
        <label className="check">
          <input type="checkbox" checked={isPublic} onChange={(e) => setIsPublic(e.target.checked)} /> Public: anyone signed in can find and watch it
        </label>
        <button type="submit" className="primary" disabled={!title.trim() || create.isPending || thumb.isPending}>
          Create
        </button>
        {thumb.isError && create.data ? (
          <p role="alert" className="error">
            The stream was created, but its thumbnail was not saved: {thumb.error.message}{' '}
            <Link to="/streams/$streamId/broadcast" params={{ streamId: create.data.id }}>
              Go to the broadcast page
            </Link>
          </p>
        ) : null}
        {create.isError ? (
          <p role="alert" className="error">
            {create.error.message}
          </p>
        ) : null}
      </form>
    </section>
  )
}
