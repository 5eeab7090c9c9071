// Video and upload-session API functions (docs/web.md).
import type { CreateVideoBody, PartUrl, Playback, UploadSession, Video, VideoPage, Visibility } from '../../types'
import { apiRequest } from './client'

export interface ListParams {
  cursor?: string | null
  q?: string
  limit?: number
  owner?: 'me'
}

/** GET /api/videos: newest first, the caller's videos plus public ones. */
export function getVideos(params: ListParams = {}): Promise<VideoPage> {
  return apiRequest<VideoPage>('/api/videos', { query: { limit: params.limit ?? 24, cursor: params.cursor, q: params.q, owner: params.owner } })
}

export function getVideo(id: string): Promise<Video> {
  return apiRequest<Video>(`/api/videos/${encodeURIComponent(id)}`)
}

export function createVideo(body: CreateVideoBody): Promise<Video> {
  return apiRequest<Video>('/api/videos', { method: 'POST', body })
}

export function updateVideo(id: string, body: { title?: string; description?: string; visibility?: Visibility }): Promise<Video> {
  return apiRequest<Video>(`/api/videos/${encodeURIComponent(id)}`, { method: 'PATCH', body })
}

export function deleteVideo(id: string): Promise<void> {
  return apiRequest<void>(`/api/videos/${encodeURIComponent(id)}`, { method: 'DELETE' })
}

export function retryVideo(id: string): Promise<Video> {
  return apiRequest<Video>(`/api/videos/${encodeURIComponent(id)}/retry`, { method: 'POST' })
}

/** The signed master playlist URL of a READY video (null otherwise). */
export function getStreamURL(video: Video): string | null {
  return video.playback.ready ? video.playback.streamUrl : null
}

/** GET /api/videos/{id}/playback (streaming service): signed URLs incl. the storyboard; counts a view. */
export function getPlayback(id: string): Promise<Playback> {
  return apiRequest<Playback>(`/api/videos/${encodeURIComponent(id)}/playback`)
}

export function createUploadSession(videoId: string): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/videos/${encodeURIComponent(videoId)}/uploads`, { method: 'POST' })
}

/** The session with the parts storage already holds (`parts`). */
export function getUploadSession(sid: string): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/uploads/${encodeURIComponent(sid)}`)
}

/** Presigned PUT URLs for up to 100 part numbers. */
export async function getPresignedUpload(sid: string, partNumbers: number[]): Promise<PartUrl[]> {
  const r = await apiRequest<{ parts: PartUrl[] }>(`/api/uploads/${encodeURIComponent(sid)}/parts`, { method: 'POST', body: { partNumbers } })
  return r.parts
}

export function confirmUpload(sid: string, parts: { partNumber: number; etag: string }[]): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/uploads/${encodeURIComponent(sid)}/complete`, { method: 'POST', body: { parts } })
}

export function pauseUpload(sid: string): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/uploads/${encodeURIComponent(sid)}/pause`, { method: 'POST' })
}

export function resumeUpload(sid: string): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/uploads/${encodeURIComponent(sid)}/resume`, { method: 'POST' })
}

export function cancelUpload(sid: string): Promise<UploadSession> {
  return apiRequest<UploadSession>(`/api/uploads/${encodeURIComponent(sid)}/cancel`, { method: 'POST' })
}

/** POST /api/dev/token: a bearer token for a user id (local dev stack only). */
export function devSignIn(userId: string): Promise<{ accessToken: string; userId: string; expiresIn: number }> {
  return apiRequest('/api/dev/token', { method: 'POST', body: { userId }, anonymous: true })
}
