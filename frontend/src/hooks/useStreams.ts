// TanStack Query hooks for live streams (docs/web.md).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createStream, getIngest, getStream, getStreams, rotateKey, startStream, stopStream } from '../lib/api/streams'

export const streamKeys = {
  list: ['streams', 'list'] as const,
  one: (id: string) => ['streams', 'one', id] as const,
  ingest: (id: string) => ['streams', 'ingest', id] as const,
}

/** The user's streams; refreshed every 5 s (LIVE badges, viewer counts). */
export function useStreamsQuery() {
  return useQuery({ queryKey: streamKeys.list, queryFn: () => getStreams(), refetchInterval: 5000 })
}

/** One stream, polled every 2 s (status, viewers, recording link). */
export function useStreamQuery(id: string) {
  return useQuery({ queryKey: streamKeys.one(id), queryFn: () => getStream(id), refetchInterval: 2000 })
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

export function useStreamActionMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (action: 'start' | 'stop') => (action === 'start' ? startStream(id) : stopStream(id)),
    onSuccess: (stream) => qc.setQueryData(streamKeys.one(id), stream),
  })
}
