// Wire types of the Reelhouse API (camelCase JSON; docs/api and the services' schemas).

/** Lifecycle of a video (docs/api.md "Video status"). */
export type VideoStatus = 'DRAFT' | 'UPLOADING' | 'UPLOADED' | 'TRANSCODING' | 'READY' | 'FAILED'

export type Visibility = 'private' | 'public'

/** A list item of GET /api/videos. */
export interface VideoSummary {
  id: string
  ownerId: string
  title: string
  description: string
  status: VideoStatus
  visibility: Visibility
  durationSeconds: number | null
  transcodeProgress: number | null
  failReason: string | null
  posterUrl: string | null
  createdAt: string
  updatedAt: string
}

export interface VideoPage {
  items: VideoSummary[]
  nextCursor: string | null
}

export interface Rendition {
  quality: string | null
  width: number | null
  height: number | null
  bandwidth: number | null
  codecs: string | null
}

/** GET /api/videos/{id}. */
export interface Video {
  id: string
  ownerId: string
  title: string
  description: string
  visibility: Visibility
  source: { mime: string; sizeBytes: number; fileName: string | null }
  status: VideoStatus
  failReason: string | null
  failDetail: string | null
  transcodeProgress: number | null
  durationSeconds: number | null
  width: number | null
  height: number | null
  renditions: Rendition[]
  playback: { ready: boolean; streamUrl: string | null; posterUrl: string | null; expiresAt: string | null }
  viewCount: number
  createdAt: string
  updatedAt: string
}

export interface CreateVideoBody {
  title: string
  description?: string
  sourceMime: string
  sourceSizeBytes: number
  fileName?: string
  visibility?: Visibility
}

export type UploadStatus = 'INITIATED' | 'IN_PROGRESS' | 'PAUSED' | 'COMPLETED' | 'CANCELED' | 'FAILED'

export interface StoredPart {
  partNumber: number
  etag: string
  sizeBytes: number
}

/** An upload session (POST /api/videos/{id}/uploads, GET /api/uploads/{sid}). */
export interface UploadSession {
  uploadSessionId: string
  videoId: string
  status: UploadStatus
  bytesUploaded: number
  totalBytes: number
  partSizeBytes: number
  totalParts: number
  failReason?: string
  parts?: StoredPart[]
}

export interface PartUrl {
  partNumber: number
  uploadUrl: string
  expiresAt: string
  sizeBytes: number
}

/** RFC 9457 problem details as the API sends them (plus the stable `code`). */
export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  code?: string
  [extra: string]: unknown
}

/** GET /api/videos/{id}/playback (the streaming service): signed URLs of a READY video. */
export interface Playback {
  videoId: string
  streamUrl: string
  expiresAt: string
  durationSeconds: number
  width: number
  height: number
  posterUrl: string | null
  thumbnailUrls: string[]
  /** The WebVTT index of the scrub previews (sprites relative to it), null when none was made. */
  storyboardUrl: string | null
}

/** Live stream lifecycle (docs/api.md "Live streams": OFFLINE / SCHEDULED / LIVE / ENDED). */
export type StreamStatus = 'OFFLINE' | 'SCHEDULED' | 'LIVE' | 'ENDED'

/** GET /api/streams/{id}. */
export interface LiveStream {
  id: string
  ownerId: string
  title: string
  description: string
  status: StreamStatus
  recordingEnabled: boolean
  scheduledAt: string | null
  startedAt: string | null
  endedAt: string | null
  endReason: string | null
  broadcasting: boolean
  viewerCount: number
  playbackUrl: string | null
  recordingStatus: string | null
  recordingVideoId: string | null
  /** Signed URL of the owner's thumbnail image (PUT /api/streams/{id}/thumbnail), null when none. */
  thumbnailUrl: string | null
  /** `private`: the owner only; `public`: anyone signed in may watch and find it. */
  visibility: 'private' | 'public'
  createdAt: string
  updatedAt: string
}

/** The owner's ingest details (the stream key is a secret: never put it in a URL or a log). */
export interface Ingest {
  streamId: string
  rtmpUrl: string
  streamKey: string
  publishUrl: string
  keyRotatedAt: string | null
}

/** A chat message (the chat service's frames and GET /chat/messages). */
export type { ChatMessage } from '../lib/chat/reducer'

/** GET /api/streams/{id}/chat: the chat room of a stream. */
export interface ChatRoom {
  streamId: string
  ownerId: string
  status: string
  visibility: string
  slowModeSeconds: number
  viewers: number
  lastSeq: number | null
}

/** An active ban or timeout (`until` null: banned until lifted). */
export interface ChatBan {
  userId: string
  until: string | null
  reason: string | null
  createdBy: string
  createdAt: string
}
