// TanStack Query hooks for videos (docs/web.md).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import type { VideoPage, VideoSummary, Visibility } from '../types'
import { deleteVideo, getPlayback, getVideo, getVideos, retryVideo, updateVideo } from '../lib/api/videos'
import { parseStoryboard, type StoryboardCue } from '../lib/storyboard/storyboard'
import { Uploader, type UploadMeta, type UploadState } from '../lib/upload/uploader'

/** Busy states whose cards change without a user action: poll while any is shown. */
const BUSY = new Set(['UPLOADING', 'UPLOADED', 'TRANSCODING'])

/** Poll interval (ms) while a video is still being processed. */
export const POLL_MS = 1500

export const videoKeys = {
  all: ['videos'] as const,
  list: (q: string) => ['videos', 'list', q] as const,
  one: (id: string) => ['videos', 'one', id] as const,
  storyboard: (id: string) => ['videos', 'storyboard', id] as const,
}

/**
 * The storyboard cues of a READY video (`enabled`): the streaming service's playback answer names the
 * signed WebVTT index, which is read once (30 min fresh, below the URL lifetime). A video without a
 * storyboard, or one that cannot be read, gives no cues (the seek bar still works).
 */
export function useStoryboardQuery(id: string, enabled: boolean) {
  return useQuery({
    queryKey: videoKeys.storyboard(id),
    enabled,
    staleTime: 30 * 60_000,
    retry: 1,
    queryFn: async (): Promise<StoryboardCue[]> => {
      const playback = await getPlayback(id)
      if (!playback.storyboardUrl) return []
      const res = await fetch(playback.storyboardUrl)
      if (!res.ok) return []
      return parseStoryboard(await res.text(), playback.storyboardUrl)
    },
  })
}

export interface UploadArgs {
  file: File
  meta: UploadMeta
  /** Every progress state (bytes, speed, time left, phase). */
  onProgress?: (s: UploadState) => void
  /** The running Uploader, for pause / resume / cancel buttons. */
  onUploader?: (u: Uploader) => void
}

/**
 * Upload a file as a new video (seed task 26.3): creates the video and its upload session, sends the
 * parts straight to storage and completes it (lib/upload/uploader.ts). `onProgress` gets every
 * progress state; the mutation resolves with the last one (phase `done`, or `paused`/`canceled`).
 */
export function useUploadVideoMutation() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ file, meta, onProgress, onUploader }: UploadArgs) =>
      new Promise<UploadState>((resolve, reject) => {
        let last: UploadState | null = null
        const u = new Uploader(file, meta, (s) => {
          last = s
          onProgress?.(s)
        })
        onUploader?.(u)
        u.start().then(
          () => (last && last.phase === 'error' ? reject(new Error(last.error ?? 'upload failed')) : resolve(last!)),
          reject,
        )
      }),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['videos', 'list'] }),
  })
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
