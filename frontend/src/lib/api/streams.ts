// Live stream API functions (docs/web.md).
import type { Ingest, LiveStream } from '../../types'
import { apiRequest } from './client'

export function getStreams(cursor?: string | null): Promise<{ items: LiveStream[]; nextCursor: string | null }> {
  return apiRequest('/api/streams', { query: { limit: 50, cursor } })
}

export function getStream(id: string): Promise<LiveStream> {
  return apiRequest(`/api/streams/${encodeURIComponent(id)}`)
}

export function createStream(body: { title: string; description: string; scheduledAt?: string | null; recordingEnabled: boolean }): Promise<LiveStream & { ingest: Ingest }> {
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
