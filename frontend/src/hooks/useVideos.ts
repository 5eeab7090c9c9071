// TanStack Query hooks for videos (docs/web.md).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import type { VideoPage, VideoSummary, Visibility } from '../types'
import { deleteVideo, getVideo, getVideos, retryVideo, updateVideo } from '../lib/api/videos'

/** Busy states whose cards change without a user action: poll while any is shown. */
const BUSY = new Set(['UPLOADING', 'UPLOADED', 'TRANSCODING'])

/** Poll interval (ms) while a video is still being processed. */
export const POLL_MS = 1500

export const videoKeys = {
  all: ['videos'] as const,
  list: (q: string) => ['videos', 'list', q] as const,
  one: (id: string) => ['videos', 'one', id] as const,
}

/** The grid: cursor pages ("load more"), search `q`; refetches every POLL_MS while a shown video is busy. */
export function useVideosQuery(q: string) {
  return useInfiniteQuery({
    queryKey: videoKeys.list(q),
    queryFn: ({ pageParam }) => getVideos({ cursor: pageParam, q: q || undefined }),
    initialPageParam: null as string | null,
    getNextPageParam: (last: VideoPage) => last.nextCursor,
    refetchInterval: (query) => {
      const items: VideoSummary[] = query.state.data?.pages.flatMap((p) => p.items) ?? []
      return items.some((v) => BUSY.has(v.status)) ? POLL_MS : false
    },
  })
}

/** One video; polls while it is busy so the page follows it to READY or FAILED. */
export function useVideoQuery(id: string | null) {
  return useQuery({
    queryKey: videoKeys.one(id ?? ''),
    queryFn: () => getVideo(id!),
    enabled: !!id,
    refetchInterval: (query) => (query.state.data && !BUSY.has(query.state.data.status) && query.state.data.status !== 'DRAFT' ? false : POLL_MS),
  })
}

export function useUpdateVideoMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: { title?: string; description?: string; visibility?: Visibility }) => updateVideo(id, body),
    onSuccess: (video) => {
      qc.setQueryData(videoKeys.one(id), video)
      void qc.invalidateQueries({ queryKey: ['videos', 'list'] })
    },
  })
}

export function useDeleteVideoMutation() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => deleteVideo(id),
    onSuccess: (_v, id) => {
      qc.removeQueries({ queryKey: videoKeys.one(id) })
      void qc.invalidateQueries({ queryKey: ['videos', 'list'] })
    },
  })
}

export function useRetryVideoMutation(id: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: () => retryVideo(id),
    onSuccess: (video) => {
      qc.setQueryData(videoKeys.one(id), video)
      void qc.invalidateQueries({ queryKey: ['videos', 'list'] })
    },
  })
}
