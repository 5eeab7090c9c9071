// HLS player (docs/web.md): hls.js (loaded only here, on demand), quality menu with Auto plus
// every rendition by height, fullscreen, keyboard controls (space/k play-pause, f fullscreen,
// left/right seek 5 s, m mute), and for a video on demand a seek bar with storyboard thumbnails
// (SeekBar). Safari plays HLS natively (no quality menu there).
import { useEffect, useRef, useState } from 'react'
import type HlsType from 'hls.js'
import type { StoryboardCue } from '../../lib/storyboard/storyboard'
import { SeekBar } from './SeekBar'

export interface QualityLevel {
  index: number
  height: number
}

/** Menu entries from hls.js levels: one per height, highest first (duplicates keep the first). */
export function qualityLevels(levels: { height: number }[]): QualityLevel[] {
  const seen = new Set<number>()
  return levels
    .map((l, index) => ({ index, height: l.height }))
    .filter((l) => l.height > 0 && !seen.has(l.height) && seen.add(l.height))
    .sort((a, b) => b.height - a.height)
}

/** What a signed playback URL points at, without its expiry and token (/play/<exp>/<token>/<rest>). */
export function playbackIdentity(url: string): string {
  return url.replace(/\/play\/[0-9]+\/[^/]+\//, '/play/')
}

/** The first URL seen for the same object: a re-signed URL (new expiry/token on every API read)
 *  must not reload the player and restart playback. */
function useStableSrc(src: string): string {
  const ref = useRef(src)
  if (playbackIdentity(ref.current) !== playbackIdentity(src)) ref.current = src
  return ref.current
}

/** Current time and duration (seconds) of a media element, updated from its events. */
function useMediaClock(ref: React.RefObject<HTMLVideoElement | null>): { time: number; duration: number } {
  const [clock, setClock] = useState({ time: 0, duration: 0 })
  useEffect(() => {
    const v = ref.current
    if (!v) return
    const update = () => setClock({ time: v.currentTime, duration: Number.isFinite(v.duration) ? v.duration : 0 })
    const events = ['timeupdate', 'durationchange', 'seeking', 'loadedmetadata'] as const
    for (const e of events) v.addEventListener(e, update)
    return () => {
      for (const e of events) v.removeEventListener(e, update)
    }
  }, [ref])
  return clock
}

export interface VideoPlayerProps {
  src: string
  poster?: string | null
  title: string
  live?: boolean
  /** Storyboard cues for the seek bar's thumbnails (video on demand only). */
  storyboard?: StoryboardCue[]
}

export function VideoPlayer({ src, poster, title, live = false, storyboard = [] }: VideoPlayerProps) {
  const stableSrc = useStableSrc(src)
  const videoRef = useRef<HTMLVideoElement>(null)
  const boxRef = useRef<HTMLDivElement>(null)
  const hlsRef = useRef<HlsType | null>(null)
  const [levels, setLevels] = useState<QualityLevel[]>([])
  const [choice, setChoice] = useState(-1)
  const [playing, setPlaying] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const clock = useMediaClock(videoRef)

  useEffect(() => {
    const video = videoRef.current
    if (!video) return
    let destroyed = false
    let retry: ReturnType<typeof setTimeout> | undefined
    setError(null)
    void import('hls.js').then(({ default: Hls }) => {
      if (destroyed) return
      if (!Hls.isSupported()) {
        if (video.canPlayType('application/vnd.apple.mpegurl')) video.src = stableSrc
        else setError('This browser cannot play HLS video.')
        return
      }
      // live: stay close to the live edge (docs/web.md, the low-latency player)
      const hls = new Hls(live ? { lowLatencyMode: true, liveSyncDurationCount: 2, liveMaxLatencyDurationCount: 5 } : { capLevelToPlayerSize: false })
      hlsRef.current = hls
      hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => setLevels(qualityLevels(data.levels)))
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => setPlaying(hls.levels[data.level]?.height ?? null))
      let retries = 0
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return
        // a live playlist appears a moment after the stream goes LIVE (and hls.js does not retry a
        // 404): keep asking for a while instead of giving up
        if (live && data.type === Hls.ErrorTypes.NETWORK_ERROR && retries < 30) {
          retries++
          setError(null)
          retry = setTimeout(() => hls.loadSource(stableSrc), 1000)
          return
        }
        setError(`Playback failed (${data.details}).`)
      })
      hls.loadSource(stableSrc)
      hls.attachMedia(video)
    })
    return () => {
      destroyed = true
      if (retry) clearTimeout(retry)
      hlsRef.current?.destroy()
      hlsRef.current = null
    }
  }, [stableSrc, live])

  const pick = (index: number) => {
    setChoice(index)
    const hls = hlsRef.current
    if (hls) hls.currentLevel = index
  }

  const fullscreen = () => {
    const box = boxRef.current
    if (!box) return
    if (document.fullscreenElement) void document.exitFullscreen()
    else void box.requestFullscreen?.()
  }

  const onKey = (e: React.KeyboardEvent) => {
    const v = videoRef.current
    const tag = (e.target as HTMLElement).tagName
    if (!v || tag === 'SELECT' || tag === 'BUTTON' || tag === 'INPUT') return
    if (e.key === ' ' || e.key === 'k') {
      e.preventDefault()
      if (v.paused) void v.play()
      else v.pause()
    } else if (e.key === 'f') fullscreen()
    else if (e.key === 'm') v.muted = !v.muted
    else if (e.key === 'ArrowRight') v.currentTime = Math.min(v.duration || Infinity, v.currentTime + 5)
    else if (e.key === 'ArrowLeft') v.currentTime = Math.max(0, v.currentTime - 5)
  }

  return (
    <div className="player" ref={boxRef} onKeyDown={onKey}>
      <video ref={videoRef} poster={poster ?? undefined} controls playsInline aria-label={`Video: ${title}`} data-testid="player" />
      {!live && clock.duration > 0 ? (
        <SeekBar
          duration={clock.duration}
          currentTime={clock.time}
          cues={storyboard}
          onSeek={(t) => {
            if (videoRef.current) videoRef.current.currentTime = t
          }}
        />
      ) : null}
      <div className="player-bar">
        <label>
          Quality{' '}
          <select aria-label="Quality" value={choice} onChange={(e) => pick(Number(e.target.value))} data-testid="quality">
            <option value={-1}>Auto{choice === -1 && playing ? ` (${playing}p)` : ''}</option>
            {levels.map((l) => (
              <option key={l.index} value={l.index}>
                {l.height}p
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={fullscreen}>
          Fullscreen
        </button>
        <span className="muted" aria-live="polite">
          {playing ? `Playing ${playing}p` : ''}
        </span>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </div>
  )
}
