// Storyboard thumbnails for scrubbing (docs/web.md): the transcoder's WebVTT index names, for every
// time range, a tile of a sprite sheet (`sprite_001.jpg#xywh=x,y,w,h`, relative to the index; see
// services/transcoder and GET /api/videos/{id}/playback `storyboardUrl`). Pure functions, unit tested.

/** One cue: [start, end) in seconds, the absolute sprite URL and the tile's rectangle in pixels. */
export interface StoryboardCue {
  start: number
  end: number
  url: string
  x: number
  y: number
  w: number
  h: number
}

/** "00:01:02.500" or "01:02.500" -> seconds; NaN when malformed. */
export function parseTimestamp(text: string): number {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d{1,3})?)$/.exec(text.trim())
  if (!m) return Number.NaN
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3])
}

/**
 * The cues of a WebVTT storyboard, ordered by start; sprite names resolved against `baseUrl` (the
 * index's own URL, so a signed `/play/<exp>/<token>/...` prefix carries over). Cues without a
 * `#xywh=` fragment or with a malformed time are skipped.
 */
export function parseStoryboard(vtt: string, baseUrl: string): StoryboardCue[] {
  const cues: StoryboardCue[] = []
  const lines = vtt.replace(/\r\n?/g, '\n').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const timing = /^\s*(\S+)\s+-->\s+(\S+)/.exec(lines[i] ?? '')
    if (!timing) continue
    const start = parseTimestamp(timing[1] ?? '')
    const end = parseTimestamp(timing[2] ?? '')
    const payload = (lines[i + 1] ?? '').trim()
    const frag = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload)
    if (!frag || Number.isNaN(start) || Number.isNaN(end)) continue
    cues.push({
      start,
      end,
      url: new URL(frag[1] ?? '', baseUrl).toString(),
      x: Number(frag[2]),
      y: Number(frag[3]),
      w: Number(frag[4]),
      h: Number(frag[5]),
    })
  }
  return cues.sort((a, b) => a.start - b.start)
}

/** The cue showing time `t` (seconds): the last cue starting at or before `t`; null before the first. */
export function cueAt(cues: StoryboardCue[], t: number): StoryboardCue | null {
  let lo = 0
  let hi = cues.length - 1
  let found: StoryboardCue | null = null
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const cue = cues[mid]!
    if (cue.start <= t) {
      found = cue
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** The time (seconds) under a pointer at `clientX` over a bar spanning [left, left + width), clamped to [0, duration]. */
export function timeAtPointer(clientX: number, left: number, width: number, duration: number): number {
  if (width <= 0 || !Number.isFinite(duration) || duration <= 0) return 0
  return Math.min(duration, Math.max(0, ((clientX - left) / width) * duration))
}
