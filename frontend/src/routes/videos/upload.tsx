// /videos/upload (docs/web.md): pick or drop a file, metadata, multipart upload straight to
// storage, one progress bar (bytes, speed, time left), pause/resume/cancel, resume after a reload,
// then follow the video to READY.
import { useQueryClient } from '@tanstack/react-query'
import { createFileRoute, Link } from '@tanstack/react-router'
import { useEffect, useRef, useState } from 'react'
import { StatusBadge } from '../../components/video/StatusBadge'
import { useUploadVideoMutation, useVideoQuery } from '../../hooks/useVideos'
import { formatBytes, formatDuration } from '../../lib/format'
import { requireSession } from '../../lib/guard'
import { checkFile } from '../../lib/upload/planner'
import { fileKey, type Uploader, type UploadState } from '../../lib/upload/uploader'
import type { Visibility } from '../../types'

export const Route = createFileRoute('/videos/upload')({
  beforeLoad: requireSession,
  component: VideoUploadPage,
})

function VideoUploadPage() {
  const [file, setFile] = useState<File | null>(null)
  const [fileError, setFileError] = useState<string | null>(null)
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [visibility, setVisibility] = useState<Visibility>('private')
  const [dragging, setDragging] = useState(false)
  const [state, setState] = useState<UploadState | null>(null)
  const uploader = useRef<Uploader | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const queryClient = useQueryClient()
  const upload = useUploadVideoMutation()
  const videoId = state?.videoId ?? null
  const finished = state?.phase === 'done'
  // a new video (and later its upload) changes the grid: drop cached pages so it shows the card
  useEffect(() => {
    if (videoId) void queryClient.invalidateQueries({ queryKey: ['videos', 'list'] })
  }, [videoId, finished, queryClient])

  const choose = (f: File | undefined) => {
    if (!f) return
    const check = checkFile(f.name, f.type, f.size)
    setFileError(check.ok ? null : check.message)
    setFile(check.ok ? f : null)
    if (check.ok && !title) setTitle(f.name.replace(/\.[^.]+$/, ''))
  }

  const resumable = file ? localStorage.getItem(fileKey(file)) !== null : false

  const start = () => {
    if (!file) return
    upload.mutate({
      file,
      meta: { title: title.trim() || file.name, description, visibility },
      onProgress: setState,
      onUploader: (u) => (uploader.current = u),
    })
  }

  useEffect(() => () => void uploader.current?.pause(), [])

  const phase = state?.phase ?? 'idle'
  const active = phase === 'starting' || phase === 'uploading' || phase === 'completing'
  const pct = state && state.totalBytes > 0 ? Math.floor((state.bytesDone / state.totalBytes) * 100) : 0

  return (
    <section className="narrow">
      <h1>Upload a video</h1>
      {phase === 'idle' || phase === 'error' || phase === 'canceled' ? (
        <>
          <div
            className={`drop${dragging ? ' over' : ''}`}
            onDragOver={(e) => {
              e.preventDefault()
              setDragging(true)
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault()
              setDragging(false)
              choose(e.dataTransfer.files[0])
            }}
          >
            <p>Drop a video here, or</p>
            <label htmlFor="file" className="button">
              Choose a file
            </label>
            <input
              id="file"
              ref={inputRef}
              type="file"
              className="sr-only"
              accept=".mp4,.m4v,.mov,.qt,.3gp,.avi,.wmv,video/mp4,video/quicktime,video/3gpp,video/x-msvideo,video/x-ms-wmv"
              onChange={(e) => choose(e.target.files?.[0])}
            />
            <p className="muted">MOV, MP4, 3GP, AVI or WMV, up to 1.5 GB.</p>
            {file ? (
              <p data-testid="picked">
                {file.name} · {formatBytes(file.size)}
              </p>
            ) : null}
            {fileError ? (
              <p role="alert" className="error">
                {fileError}
              </p>
            ) : null}
          </div>
          <form
            onSubmit={(e) => {
              e.preventDefault()
              start()
            }}
          >
            <label htmlFor="title">Title</label>
            <input id="title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={300} />
            <label htmlFor="description">Description</label>
            <textarea id="description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={5000} />
            <label htmlFor="visibility">Visibility</label>
            <select id="visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
              <option value="private">Private</option>
              <option value="public">Public</option>
            </select>
            {resumable ? <p className="muted">An unfinished upload of this file exists: it continues from the parts already stored.</p> : null}
            <button type="submit" className="primary" disabled={!file || !title.trim()}>
              {resumable ? 'Resume upload' : 'Upload'}
            </button>
          </form>
        </>
      ) : null}
      {state && phase !== 'idle' ? (
        <div className="progress-box">
          <progress max={state.totalBytes} value={state.bytesDone} aria-label="Upload progress" data-testid="upload-progress" />
          <p aria-live="polite" data-testid="upload-figures">
            {pct} % · {formatBytes(state.bytesDone)} of {formatBytes(state.totalBytes)}
            {state.speed > 0 ? ` · ${formatBytes(state.speed)}/s` : ''}
            {state.secondsLeft !== null && phase === 'uploading' ? ` · ${formatDuration(state.secondsLeft)} left` : ''}
            {state.resumed ? ' · resumed' : ''}
          </p>
          <p data-testid="upload-phase">{PHASE_WORDS[phase]}</p>
          <div className="row">
            {phase === 'uploading' ? (
              <button type="button" onClick={() => void uploader.current?.pause()}>
                Pause
              </button>
            ) : null}
            {phase === 'paused' || (phase === 'error' && state.sessionId) ? (
              <button type="button" onClick={() => void uploader.current?.resume()}>
                Resume
              </button>
            ) : null}
            {active || phase === 'paused' ? (
              <button type="button" className="danger" onClick={() => void uploader.current?.cancel()}>
                Cancel
              </button>
            ) : null}
          </div>
          {state.error ? (
            <p role="alert" className="error">
              {state.error}
            </p>
          ) : null}
          {phase === 'done' && state.videoId ? <Follow videoId={state.videoId} /> : null}
        </div>
      ) : null}
    </section>
  )
}

const PHASE_WORDS: Record<UploadState['phase'], string> = {
  idle: '',
  starting: 'Starting…',
  uploading: 'Uploading…',
  paused: 'Paused',
  completing: 'Finishing…',
  done: 'Uploaded',
  canceled: 'Canceled',
  error: 'Stopped',
}

/** After the upload: the video's state until READY, with links. */
function Follow({ videoId }: { videoId: string }) {
  const { data } = useVideoQuery(videoId)
  return (
    <p className="follow">
      {data ? <StatusBadge status={data.status} progress={data.transcodeProgress} /> : null}{' '}
      <Link to="/videos/$videoId" params={{ videoId }}>
        Open the video
      </Link>{' '}
      ·{' '}
      <Link to="/videos" search={{}}>
        Back to the videos
      </Link>
    </p>
  )
}
