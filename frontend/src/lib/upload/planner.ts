// Pure planning of a multipart upload (no I/O): validation, parts, what is left after a reload,
// and the progress figures. Rules from docs/api.md "Upload validation": MOV, MP4, 3GP, AVI, WMV up to 1.5 GB.
import type { StoredPart } from '../../types'

/** 1.5 GiB in bytes: the seed's "1.5GB" limit (the gallery's MAX_SOURCE_SIZE_BYTES). */
export const MAX_SOURCE_SIZE_BYTES = 1_610_612_736

/** Extension (lower case) -> [format, MIME type sent to the API]. */
const EXTENSIONS: Record<string, [string, string]> = {
  mp4: ['MP4', 'video/mp4'],
  m4v: ['MP4', 'video/mp4'],
  mov: ['MOV', 'video/quicktime'],
  qt: ['MOV', 'video/quicktime'],
  '3gp': ['3GP', 'video/3gpp'],
  avi: ['AVI', 'video/x-msvideo'],
  wmv: ['WMV', 'video/x-ms-wmv'],
}

/** MIME type -> format (the gallery's ALLOWED_MIME_TYPES). */
const MIME_TYPES: Record<string, string> = {
  'video/mp4': 'MP4',
  'video/quicktime': 'MOV',
  'video/3gpp': '3GP',
  'video/x-msvideo': 'AVI',
  'video/avi': 'AVI',
  'video/msvideo': 'AVI',
  'video/x-ms-wmv': 'WMV',
  'video/x-ms-asf': 'WMV',
}

export type FileCheck =
  | { ok: true; format: string; mime: string }
  | { ok: false; code: 'UNSUPPORTED_FORMAT' | 'FILE_TOO_LARGE' | 'INVALID_SIZE'; message: string }

/**
 * Check a picked file like the API will (same codes): the extension must be one of the five formats,
 * a MIME type the browser reports must name the same format, size 1..MAX_SOURCE_SIZE_BYTES bytes.
 * Returns the MIME type to declare (the browser's when it gives one, else the extension's).
 */
export function checkFile(name: string, type: string, size: number): FileCheck {
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : ''
  const byExt = EXTENSIONS[ext]
  if (!byExt) return { ok: false, code: 'UNSUPPORTED_FORMAT', message: `Files of type ".${ext || '?'}" are not supported. Use MOV, MP4, 3GP, AVI or WMV.` }
  const mime = type.split(';')[0]!.trim().toLowerCase()
  if (mime && mime !== 'application/octet-stream') {
    const fmt = MIME_TYPES[mime]
    if (!fmt) return { ok: false, code: 'UNSUPPORTED_FORMAT', message: `The file's type ${mime} is not supported. Use MOV, MP4, 3GP, AVI or WMV.` }
    if (fmt !== byExt[0]) return { ok: false, code: 'UNSUPPORTED_FORMAT', message: `The extension .${ext} does not match the file's type ${mime}.` }
  }
  if (size <= 0) return { ok: false, code: 'INVALID_SIZE', message: 'The file is empty.' }
  if (size > MAX_SOURCE_SIZE_BYTES) return { ok: false, code: 'FILE_TOO_LARGE', message: 'The file is larger than 1.5 GB.' }
  return { ok: true, format: byExt[0], mime: mime && MIME_TYPES[mime] ? mime : byExt[1] }
}

export interface PartPlan {
  partNumber: number
  /** Byte range [start, end) in the file. */
  start: number
  end: number
}

/** Every part of a `totalBytes` file cut in `partSize`-byte parts (the last holds the rest). */
export function planParts(totalBytes: number, partSize: number): PartPlan[] {
  if (totalBytes <= 0 || partSize <= 0) throw new RangeError(`sizes must be positive (total ${totalBytes}, part ${partSize})`)
  const parts: PartPlan[] = []
  for (let n = 1, start = 0; start < totalBytes; n++, start += partSize) {
    parts.push({ partNumber: n, start, end: Math.min(start + partSize, totalBytes) })
  }
  return parts
}

/** The parts still to send: those storage does not hold with exactly their planned size. */
export function remainingParts(plan: PartPlan[], stored: StoredPart[] | undefined): PartPlan[] {
  const have = new Map((stored ?? []).map((p) => [p.partNumber, p.sizeBytes]))
  return plan.filter((p) => have.get(p.partNumber) !== p.end - p.start)
}

/** Bytes already stored among the planned parts (the resume point of the progress bar). */
export function storedBytes(plan: PartPlan[], stored: StoredPart[] | undefined): number {
  const left = new Set(remainingParts(plan, stored).map((p) => p.partNumber))
  return plan.filter((p) => !left.has(p.partNumber)).reduce((sum, p) => sum + (p.end - p.start), 0)
}

/** The `complete` body from storage's listing: every planned part, in order, with its ETag.
 *  Throws when a part is missing (the caller uploads it first). */
export function completionList(plan: PartPlan[], stored: StoredPart[]): { partNumber: number; etag: string }[] {
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]))
  return plan.map((p) => {
    const s = byNumber.get(p.partNumber)
    if (!s) throw new Error(`part ${p.partNumber} is not stored`)
    return { partNumber: p.partNumber, etag: s.etag }
  })
}

/** Speed and time left from (time ms, bytes done) samples over a sliding window. */
export class ProgressMeter {
  private samples: [number, number][] = []

  constructor(private readonly windowMs = 5000) {}

  /** Record `bytes` done at `now` (ms). */
  add(now: number, bytes: number): void {
    this.samples.push([now, bytes])
    while (this.samples.length > 2 && now - this.samples[0]![0] > this.windowMs) this.samples.shift()
  }

  /** Bytes per second over the window (0 until two samples span some time). */
  speed(): number {
    if (this.samples.length < 2) return 0
    const [t0, b0] = this.samples[0]!
    const [t1, b1] = this.samples[this.samples.length - 1]!
    return t1 > t0 ? Math.max(0, ((b1 - b0) * 1000) / (t1 - t0)) : 0
  }

  /** Seconds left for `total` bytes at the current speed (null when unknown). */
  secondsLeft(total: number): number | null {
    const v = this.speed()
    const last = this.samples[this.samples.length - 1]
    if (!last || v <= 0) return null
    return Math.max(0, (total - last[1]) / v)
  }

  reset(): void {
    this.samples = []
  }
}
