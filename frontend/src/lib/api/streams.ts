// Live stream API functions (docs/web.md).
import type { ChatBan, ChatRoom, Ingest, LiveStream } from '../../types'
import { apiRequest } from './client'

/** `mine`: the user's own streams; `public`: everyone's public streams (what viewers browse). */
export function getStreams(cursor?: string | null, scope: 'mine' | 'public' = 'mine'): Promise<{ items: LiveStream[]; nextCursor: string | null }> {
  return apiRequest('/api/streams', { query: { limit: 50, cursor, scope } })
}

export function getStream(id: string): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}`)
}

export function createStream(body: { title: string; description: string; scheduledAt?: string | null; recordingEnabled: boolean; visibility?: 'private' | 'public' }): Promise<LiveStream & { ingest: Ingest }> {
  return apiRequest('/api/streams', { method: 'POST', body })
}

export function getIngest(id: string): Promise<Ingest> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}/ingest`)
}

export function rotateKey(id: string): Promise<Ingest> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}/rotate-key`, { method: 'POST' })
}

export function startStream(id: string): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}/start`, { method: 'POST' })
}

export function stopStream(id: string): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}/stop`, { method: 'POST' })
}

/** Moderation: delete one chat message (owner or moderator). */
export function deleteChatMessage(streamId: string, messageId: string): Promise<void> {
  return apiRequest(`/api/streams/${encodeURIComponent(streamId)}/chat/messages/${encodeURIComponent(messageId)}`, { method: 'DELETE' })
}

/** A short-lived (30 s) ticket for this stream's chat WebSocket: the bearer token never goes in a URL. */
export function chatTicket(streamId: string): Promise<{ ticket: string; expiresAt: string }> {
  return apiRequest(`/api/streams/${encodeURIComponent(streamId)}/chat/ticket`, { method: 'POST' })
}

const chat = (streamId: string) => `/api/streams/${encodeURIComponent(streamId)}/chat`

/** Edit a stream: only the fields given change (`scheduledAt: null` unschedules). */
export function updateStream(id: string, body: { title?: string; description?: string; scheduledAt?: string | null; recordingEnabled?: boolean; visibility?: 'private' | 'public' }): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}`, { method: 'PATCH', body })
}

/** Delete a stream (a LIVE one is ended first; its recording is discarded). */
export function deleteStream(id: string): Promise<void> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}`, { method: 'DELETE' })
}

/** The seeds' name for the owner's ingest details (RTMP URL and stream key). */
export const getIngestURL = getIngest

/** Set the stream's thumbnail: a JPEG of at most 1 MB (lib/image.ts makes one from any picture). */
export function putStreamThumbnail(id: string, jpeg: Blob): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}/thumbnail`, { method: 'PUT', raw: jpeg, contentType: 'image/jpeg' })
}

export function getChatRoom(streamId: string): Promise<ChatRoom> {
  return apiRequest(chat(streamId))
}

export function getChatBans(streamId: string): Promise<{ items: ChatBan[] }> {
  return apiRequest(`${chat(streamId)}/bans`)
}

/** Ban `userId` from the chat; with `durationSeconds` (1 s..14 days) it is a timeout instead. */
export function banChatUser(streamId: string, userId: string, durationSeconds?: number, reason?: string): Promise<{ userId: string; until: string | null }> {
  return apiRequest(`${chat(streamId)}/bans`, { method: 'POST', body: { userId, durationSeconds, reason: reason || undefined } })
}

export function unbanChatUser(streamId: string, userId: string): Promise<void> {
  return apiRequest(`${chat(streamId)}/bans/${encodeURIComponent(userId)}`, { method: 'DELETE' })
}

/** Slow mode: at most one message per `seconds` per person (0 turns it off; at most 3600). */
export function setSlowMode(streamId: string, seconds: number): Promise<ChatRoom> {
  return apiRequest(`${chat(streamId)}/settings`, { method: 'PUT', body: { slowModeSeconds: seconds } })
}

export function getChatModerators(streamId: string): Promise<{ items: { userId: string }[] }> {
  return apiRequest(`${chat(streamId)}/moderators`)
}

/** Owner only: name or remove a moderator. */
export function setChatModerator(streamId: string, userId: string, present: boolean): Promise<void> {
  return apiRequest(`${chat(streamId)}/moderators/${encodeURIComponent(userId)}`, { method: present ? 'PUT' : 'DELETE' })
}
