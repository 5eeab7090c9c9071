// Formatting for people: durations, sizes, speeds.

/** 75.4 -> "1:15"; 3725 -> "1:02:05"; null -> "". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return ''
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

/** Bytes in binary units: 1536 -> "1.5 KB"; 1610612736 -> "1.5 GB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** Words for a FAILED video's failReason code (the transcoder's and upload service's codes). */
export function failReasonInWords(code: string | null | undefined): string {
  const words: Record<string, string> = {
    NO_VIDEO_STREAM: 'The file has no video track.',
    CORRUPT_SOURCE: 'The file is damaged and could not be read.',
    UNSUPPORTED_CODEC: 'The video uses a codec we cannot decode.',
    TRANSCODE_ERROR: 'Converting the video failed.',
    TIMEOUT: 'Converting the video took too long.',
    WORKER_LOST: 'The converter stopped while working on the video.',
    UNSUPPORTED_MEDIA: 'The file is not a video we can read.',
    SOURCE_MISSING: 'The uploaded file is missing.',
    UPLOAD_GONE: 'The upload expired before it finished.',
    CANCELED: 'The upload was canceled.',
    SOURCE_TOO_LONG: 'The video is longer than allowed.',
    RESOLUTION_TOO_HIGH: 'The video resolution is larger than allowed.',
  }
  if (!code) return 'Processing failed for an unknown reason.'
  return words[code] ?? `Processing failed (${code.toLowerCase().replace(/_/g, ' ')}).`
}
