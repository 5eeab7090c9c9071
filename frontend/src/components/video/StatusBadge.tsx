import type { VideoStatus } from '../../types'

const LABEL: Record<VideoStatus, string> = {
  DRAFT: 'Draft',
  UPLOADING: 'Uploading',
  UPLOADED: 'Queued',
  TRANSCODING: 'Processing',
  READY: 'Ready',
  FAILED: 'Failed',
}

/** The status of a video in words; TRANSCODING shows its percent. `data-status` carries the raw state. */
export function StatusBadge({ status, progress }: { status: VideoStatus; progress?: number | null }) {
  const pct = status === 'TRANSCODING' && progress !== null && progress !== undefined ? ` ${Math.floor(progress)} %` : ''
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status} role="status">
      {LABEL[status]}
      {pct}
    </span>
  )
}
