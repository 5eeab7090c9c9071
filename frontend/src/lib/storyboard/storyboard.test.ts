import { describe, expect, it } from 'vitest'
import { cueAt, parseStoryboard, parseTimestamp, timeAtPointer } from './storyboard'

// the shape the transcoder writes (services/transcoder, tile filter: one sheet per 25 thumbnails)
const VTT = `WEBVTT

00:00:00.000 --> 00:00:02.000
sprite_001.jpg#xywh=0,0,160,90

00:00:02.000 --> 00:00:04.000
sprite_001.jpg#xywh=160,0,160,90

NOTE a comment

00:00:50.000 --> 00:00:52.000
sprite_002.jpg#xywh=0,0,160,90
`
const BASE = 'http://edge.test/play/1767225600/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/videos/0b5e/storyboard/storyboard.vtt'

describe('storyboard', () => {
  it('reads WebVTT timestamps with and without hours', () => {
    expect(parseTimestamp('00:01:02.500')).toBe(62.5)
    expect(parseTimestamp('01:02.250')).toBe(62.25)
    expect(parseTimestamp('1:00:00.000')).toBe(3600)
    expect(parseTimestamp('nonsense')).toBeNaN()
  })

  it('parses cues, resolving sprite names under the signed prefix of the index', () => {
    const cues = parseStoryboard(VTT, BASE)
    expect(cues).toHaveLength(3)
    expect(cues[1]).toEqual({
      start: 2,
      end: 4,
      url: 'http://edge.test/play/1767225600/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/videos/0b5e/storyboard/sprite_001.jpg',
      x: 160,
      y: 0,
      w: 160,
      h: 90,
    })
    expect(cues[2]!.url.endsWith('/storyboard/sprite_002.jpg')).toBe(true)
  })

  it('skips cues without a tile rectangle and copes with CRLF', () => {
    const cues = parseStoryboard('WEBVTT\r\n\r\n00:00.000 --> 00:02.000\r\nplain text\r\n\r\n00:02.000 --> 00:04.000\r\ns.jpg#xywh=1,2,3,4\r\n', BASE)
    expect(cues.map((c) => [c.start, c.x, c.y, c.w, c.h])).toEqual([[2, 1, 2, 3, 4]])
  })

  it('finds the tile for a time (last cue starting at or before it)', () => {
    const cues = parseStoryboard(VTT, BASE)
    expect(cueAt(cues, 0)?.x).toBe(0)
    expect(cueAt(cues, 3.9)?.x).toBe(160)
    expect(cueAt(cues, 30)?.x).toBe(160)
    expect(cueAt(cues, 51)?.url).toContain('sprite_002')
    expect(cueAt([], 5)).toBeNull()
    expect(cueAt(cues, -1)).toBeNull()
  })

  it('maps a pointer position over the bar to a clamped time', () => {
    expect(timeAtPointer(150, 100, 200, 60)).toBe(15)
    expect(timeAtPointer(50, 100, 200, 60)).toBe(0)
    expect(timeAtPointer(400, 100, 200, 60)).toBe(60)
    expect(timeAtPointer(150, 100, 0, 60)).toBe(0)
    expect(timeAtPointer(150, 100, 200, Number.NaN)).toBe(0)
  })
})
