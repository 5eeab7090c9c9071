// TanStack Query hooks for live streams (docs/web.md).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createStream, deleteStream, getIngest, getStream, getStreams, putStreamThumbnail, rotateKey, startStream, stopStream, updateStream } from '../lib/api/streams'
import type { LiveStream } from '../types'
import { ApiError } from '../lib/api/client'

export const streamKeys = {
  list: ['streams', 'list'] as const,
  publicList: ['streams', 'public'] as const,
  one: (id: string) => ['streams', 'one', id] as const,
  ingest: (id: string) => ['streams', 'ingest', id] as const,
}

/** The user's streams; refreshed every 5 s (LIVE badges, viewer counts). */
export function useStreamsQuery() {
  return useQuery({ queryKey: streamKeys.list, queryFn: () => getStreams(), refetchInterval: 5000 })
}

/** Everyone's public streams (live ones first on the page); refreshed every 5 s. */
export function usePublicStreamsQuery() {
  return useQuery({ queryKey: streamKeys.publicList, queryFn: () => getStreams(null, 'public'), refetchInterval: 5000 })
}

const notFound = (err: unknown) => err instanceof ApiError && err.status === 404

/** One stream, polled every 2 s (status, viewers, recording link); a 404 (missing, or another user's
 *  stream) is final: neither retried nor polled. */
export function useStreamQuery(id: string) {
  return useQuery({
    queryKey: streamKeys.one(id),
    queryFn: () => getStream(id),
    retry: (count, err) => !notFound(err) && count < 3,
    refetchInterval: (query) => (notFound(query.state.error) ? false : 2000),
  })
}

export function useIngestQuery(id: string) {
  return useQuery({ queryKey: streamKeys.ingest(id), queryFn: () => getIngest(id), staleTime: Infinity })
}

export function useCreateStreamMutation() {
  const qc = useQueryClient()
  return useMutation({ mutationFn: createStream, onSuccess: () => void qc.invalidateQueries({ queryKey: streamKeys.list }) })
}

export function useRotateKeyMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({ mutationFn: () => rotateKey(id), onSuccess: (ingest) => qc.setQueryData(streamKeys.ingest(id), ingest) })
}

/** Go live now (seed task 27.3). */
export function useStartStreamMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({ mutationFn: () => startStream(id), onSuccess: (stream) => qc.setQueryData(streamKeys.one(id), stream) })
}

/** End the stream. */
export function useStopStreamMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({ mutationFn: () => stopStream(id), onSuccess: (stream) => qc.setQueryData(streamKeys.one(id), stream) })
}

export function useUpdateStreamMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: Parameters<typeof updateStream>[1]) => updateStream(id, body),
    onSuccess: (stream) => {
      qc.setQueryData(streamKeys.one(id), stream)
      void qc.invalidateQueries({ queryKey: streamKeys.list })
    },
  })
}

export function useDeleteStreamMutation() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => deleteStream(id),
    onSuccess: (_v, id) => {
      qc.removeQueries({ queryKey: streamKeys.one(id) })
      void qc.invalidateQueries({ queryKey: streamKeys.list })
    },
  })
}

/** Set a stream's thumbnail (a JPEG from lib/image.ts). */
export function useStreamThumbnailMutation() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ id, jpeg }: { id: string; jpeg: Blob }) => putStreamThumbnail(id, jpeg),
    onSuccess: (stream: LiveStream) => {
      qc.setQueryData(streamKeys.one(stream.id), stream)
      void qc.invalidateQueries({ queryKey: streamKeys.list })
    },
  })
}
