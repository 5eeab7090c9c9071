import { describe, expect, it } from 'vitest'
import { checkFile, completionList, MAX_SOURCE_SIZE_BYTES, planParts, ProgressMeter, remainingParts, storedBytes } from './planner'

const MiB = 1024 * 1024

describe('checkFile (the API rules: MOV/MP4/3GP/AVI/WMV, 1.5 GB)', () => {
  it('accepts the five formats and infers the MIME type when the browser gives none', () => {
    expect(checkFile('a.mp4', 'video/mp4', 10)).toEqual({ ok: true, format: 'MP4', mime: 'video/mp4' })
    expect(checkFile('b.MOV', '', 10)).toEqual({ ok: true, format: 'MOV', mime: 'video/quicktime' })
    expect(checkFile('c.wmv', 'application/octet-stream', 10)).toMatchObject({ ok: true, mime: 'video/x-ms-wmv' })
    expect(checkFile('d.3gp', 'video/3gpp', 10)).toMatchObject({ ok: true, format: '3GP' })
    expect(checkFile('e.avi', 'video/x-msvideo', 10)).toMatchObject({ ok: true, format: 'AVI' })
  })

  it('refuses other formats, a mismatching type, empty and too large files with the API codes', () => {
    expect(checkFile('movie.mkv', 'video/x-matroska', 10)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FORMAT' })
    expect(checkFile('clip.webm', 'video/webm', 10)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FORMAT' })
    expect(checkFile('clip.mp4', 'video/quicktime', 10)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FORMAT' })
    expect(checkFile('noext', 'video/mp4', 10)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FORMAT' })
    expect(checkFile('a.mp4', 'video/mp4', 0)).toMatchObject({ ok: false, code: 'INVALID_SIZE' })
    expect(checkFile('a.mp4', 'video/mp4', MAX_SOURCE_SIZE_BYTES)).toMatchObject({ ok: true })
    expect(checkFile('a.mp4', 'video/mp4', MAX_SOURCE_SIZE_BYTES + 1)).toEqual({ ok: false, code: 'FILE_TOO_LARGE', message: 'The file is larger than 1.5 GB.' })
  })
})

describe('planParts', () => {
  it('cuts the file in part-size pieces with a shorter last one', () => {
    const plan = planParts(12 * MiB + 3, 5 * MiB)
    expect(plan.map((p) => [p.partNumber, p.end - p.start])).toEqual([
      [1, 5 * MiB],
      [2, 5 * MiB],
      [3, 2 * MiB + 3],
    ])
    expect(plan[2]!.end).toBe(12 * MiB + 3)
  })

  it('gives one part for a file smaller than a part and exact parts for a multiple', () => {
    expect(planParts(100, 5 * MiB)).toEqual([{ partNumber: 1, start: 0, end: 100 }])
    expect(planParts(10 * MiB, 5 * MiB)).toHaveLength(2)
    expect(() => planParts(0, 5 * MiB)).toThrow(RangeError)
  })
})

describe('resume from the listed parts', () => {
  const plan = planParts(12 * MiB, 5 * MiB)

  it('sends only the parts storage lacks or holds with a wrong size', () => {
    const listed = [
      { partNumber: 1, etag: 'e1', sizeBytes: 5 * MiB },
      { partNumber: 2, etag: 'e2', sizeBytes: 1234 },
    ]
    expect(remainingParts(plan, listed).map((p) => p.partNumber)).toEqual([2, 3])
    expect(storedBytes(plan, listed)).toBe(5 * MiB)
    expect(remainingParts(plan, undefined)).toHaveLength(3)
    expect(storedBytes(plan, [])).toBe(0)
  })

  it('completes with every part in order from the listing and refuses a gap', () => {
    const listed = [
      { partNumber: 3, etag: 'e3', sizeBytes: 2 * MiB },
      { partNumber: 1, etag: 'e1', sizeBytes: 5 * MiB },
      { partNumber: 2, etag: 'e2', sizeBytes: 5 * MiB },
    ]
    expect(remainingParts(plan, listed)).toEqual([])
    expect(completionList(plan, listed)).toEqual([
      { partNumber: 1, etag: 'e1' },
      { partNumber: 2, etag: 'e2' },
      { partNumber: 3, etag: 'e3' },
    ])
    expect(() => completionList(plan, listed.slice(0, 2))).toThrow(/part 2|part 1|part 3/)
  })
})

describe('ProgressMeter', () => {
  it('reports speed over the window and the time left', () => {
    const m = new ProgressMeter(5000)
    expect(m.speed()).toBe(0)
    expect(m.secondsLeft(100)).toBeNull()
    m.add(0, 0)
    m.add(1000, 10 * MiB)
    m.add(2000, 20 * MiB)
    expect(m.speed()).toBe(10 * MiB)
    expect(m.secondsLeft(50 * MiB)).toBe(3)
    m.add(10_000, 20 * MiB) // stalled: old samples fall out of the window
    expect(m.speed()).toBeLessThan(10 * MiB)
  })
})
