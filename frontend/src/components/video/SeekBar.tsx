// Seek bar with storyboard thumbnails (docs/web.md): hovering or dragging over it shows the storyboard
// tile of that moment above the pointer; it is a native range input, so Tab focuses it and Page Up/Down
// and Home/End seek natively, the arrow keys by ARROW_STEP seconds (the tile follows keyboard seeking too).
import { useEffect, useRef, useState } from 'react'
import { formatDuration } from '../../lib/format'
import { cueAt, timeAtPointer, type StoryboardCue } from '../../lib/storyboard/storyboard'

/** Seconds an arrow key moves (the range's own step, 0.1 s, is for smooth dragging). */
export const ARROW_STEP = 5

export interface SeekBarProps {
  /** Seconds. */
  duration: number
  /** Seconds. */
  currentTime: number
  onSeek: (seconds: number) => void
  /** Storyboard cues (empty: no thumbnails, the bar still seeks). */
  cues: StoryboardCue[]
}

/** The tile of `cue` as a CSS sprite (background offset into the sheet). */
export function Thumbnail({ cue }: { cue: StoryboardCue }) {
  return (
    <div
      className="seek-thumb"
      data-testid="storyboard-thumb"
      data-sprite={cue.url}
      style={{ width: cue.w, height: cue.h, backgroundImage: `url("${cue.url}")`, backgroundPosition: `${-cue.x}px ${-cue.y}px` }}
    />
  )
}

export function SeekBar({ duration, currentTime, onSeek, cues }: SeekBarProps) {
  const [preview, setPreview] = useState<number | null>(null)
  // The value just chosen, shown until the player reports its new time: a controlled range that fell
  // back to the old time would make the browser's `change` after `input` seek back there.
  const [held, setHeld] = useState<number | null>(null)
  useEffect(() => setHeld(null), [currentTime])
  const dragging = useRef(false)
  const cue = preview === null ? null : cueAt(cues, preview)
  const left = preview === null || duration <= 0 ? 0 : (preview / duration) * 100
  const half = (cue?.w ?? 40) / 2 + 2 // keep the tile inside the player at both ends

  const fromPointer = (e: React.PointerEvent<HTMLElement>) => {
    const box = e.currentTarget.getBoundingClientRect()
    return timeAtPointer(e.clientX, box.left, box.width, duration)
  }

  return (
    <div className="seek" onPointerMove={(e) => setPreview(fromPointer(e))} onPointerLeave={() => !dragging.current && setPreview(null)}>
      {preview !== null ? (
        <div className="seek-preview" style={{ left: `clamp(${half}px, ${left}%, calc(100% - ${half}px))` }} data-testid="storyboard-preview" aria-hidden="true">
          {cue ? <Thumbnail cue={cue} /> : null}
          <span className="seek-time">{formatDuration(preview)}</span>
        </div>
      ) : null}
      <input
        type="range"
        aria-label="Seek"
        data-testid="seek"
        min={0}
        max={duration}
        step={0.1}
        value={Math.min(held ?? currentTime, duration)}
        aria-valuetext={`${formatDuration(currentTime)} of ${formatDuration(duration)}`}
        onPointerDown={() => (dragging.current = true)}
        onPointerUp={() => {
          dragging.current = false
        }}
        onChange={(e) => {
          const t = Number(e.target.value)
          if (t === held) return
          if (!dragging.current) setPreview(t) // keyboard: show where it went
          setHeld(t)
          onSeek(t)
        }}
        onKeyDown={(e) => {
          const dir = e.key === 'ArrowRight' || e.key === 'ArrowUp' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowDown' ? -1 : 0
          if (!dir) return
          e.preventDefault()
          const t = Math.min(duration, Math.max(0, (held ?? currentTime) + dir * ARROW_STEP))
          setPreview(t)
          setHeld(t)
          onSeek(t)
        }}
        onBlur={() => setPreview(null)}
      />
    </div>
  )
}
