// Runs one upload from the page: creates the video and its upload session (or resumes a saved one
// from the parts storage already holds), PUTs the parts straight to storage with presigned URLs,
// several at once, and completes the session. Pause/resume/cancel; progress in bytes, speed, time left.
import type { UploadSession, Visibility } from '../../types'
import { ApiError } from '../api/client'
import {
  cancelUpload,
  confirmUpload,
  createUploadSession,
  createVideo,
  getPresignedUpload,
  getUploadSession,
  pauseUpload,
  resumeUpload,
} from '../api/videos'
import { checkFile, completionList, planParts, ProgressMeter, remainingParts, storedBytes, type PartPlan } from './planner'

/** Fastest the progress figures are shown again (ms). */
const PROGRESS_MS = 100

export type UploadPhase = 'idle' | 'starting' | 'uploading' | 'paused' | 'completing' | 'done' | 'canceled' | 'error'

export interface UploadState {
  phase: UploadPhase
  videoId: string | null
  sessionId: string | null
  bytesDone: number
  totalBytes: number
  /** Bytes per second. */
  speed: number
  secondsLeft: number | null
  /** True when this run continues a session saved before a reload. */
  resumed: boolean
  error: string | null
}

export interface UploadMeta {
  title: string
  description: string
  visibility: Visibility
}

/** A file's identity across reloads (the File object itself is gone after one). */
export function fileKey(file: Pick<File, 'name' | 'size' | 'lastModified'>): string {
  return `reelhouse.upload:${file.name}:${file.size}:${file.lastModified}`
}

interface Saved {
  videoId: string
  sessionId: string
}

const OPEN = new Set(['INITIATED', 'IN_PROGRESS', 'PAUSED'])

/** PUT `body` to `url`, reporting bytes sent; resolves on 2xx, rejects otherwise (status 0: network). */
function putPart(url: string, body: Blob, onProgress: (sent: number) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    xhr.upload.onprogress = (e) => onProgress(e.loaded)
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`storage answered HTTP ${xhr.status}`)))
    xhr.onerror = () => reject(new Error('network error while sending a part'))
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'))
    signal.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class Uploader {
  state: UploadState
  private plan: PartPlan[] = []
  private baseBytes = 0
  private inFlight = new Map<number, number>()
  private abort: AbortController | null = null
  private meter = new ProgressMeter()

  constructor(
    private readonly file: File,
    private readonly meta: UploadMeta,
    private readonly onChange: (s: UploadState) => void,
    private readonly concurrency = 4,
  ) {
    this.state = { phase: 'idle', videoId: null, sessionId: null, bytesDone: 0, totalBytes: file.size, speed: 0, secondsLeft: null, resumed: false, error: null }
  }

  private set(patch: Partial<UploadState>): void {
    this.state = { ...this.state, ...patch }
    this.onChange(this.state)
  }

  private saved(): Saved | null {
    try {
      const raw = localStorage.getItem(fileKey(this.file))
      return raw ? (JSON.parse(raw) as Saved) : null
    } catch {
      return null
    }
  }

  private save(s: Saved | null): void {
    try {
      if (s) localStorage.setItem(fileKey(this.file), JSON.stringify(s))
      else localStorage.removeItem(fileKey(this.file))
    } catch {
      /* storage unavailable: no resume after reload */
    }
  }

  /** An earlier, unfinished session for this same file (saved before a reload), if any. */
  hasSavedSession(): boolean {
    return this.saved() !== null
  }

  /** Create (or resume) and upload; resolves when done, canceled, paused or failed (see `state`). */
  async start(): Promise<void> {
    const check = checkFile(this.file.name, this.file.type, this.file.size)
    if (!check.ok) {
      this.set({ phase: 'error', error: check.message })
      return
    }
    this.set({ phase: 'starting', error: null })
    try {
      let session: UploadSession | null = null
      const saved = this.saved()
      if (saved) {
        session = await getUploadSession(saved.sessionId).catch(() => null)
        if (session && OPEN.has(session.status) && session.totalBytes === this.file.size) {
          if (session.status === 'PAUSED') await resumeUpload(session.uploadSessionId)
          this.set({ resumed: true })
        } else {
          session = null
          this.save(null)
        }
      }
      if (!session) {
        const video = await createVideo({
          title: this.meta.title,
          description: this.meta.description,
          visibility: this.meta.visibility,
          sourceMime: check.mime,
          sourceSizeBytes: this.file.size,
          fileName: this.file.name,
        })
        this.set({ videoId: video.id })
        session = await createUploadSession(video.id)
        this.save({ videoId: video.id, sessionId: session.uploadSessionId })
      }
      this.set({ videoId: session.videoId, sessionId: session.uploadSessionId })
      this.plan = planParts(this.file.size, session.partSizeBytes)
      await this.send(session)
    } catch (err) {
      this.fail(err)
    }
  }

  private fail(err: unknown): void {
    if (err instanceof DOMException && err.name === 'AbortError') return
    this.set({ phase: 'error', error: err instanceof Error ? err.message : String(err) })
  }

  private lastShown = 0

  /** Recompute the figures; the page hears of them at most every PROGRESS_MS unless `force` (a part
   *  finished): XHR progress events come many times a second per part, re-rendering on each costs speed. */
  private progress(force = false): void {
    let done = this.baseBytes
    for (const v of this.inFlight.values()) done += v
    const now = performance.now()
    this.meter.add(now, done)
    if (!force && now - this.lastShown < PROGRESS_MS) return
    this.lastShown = now
    this.set({ bytesDone: Math.min(done, this.file.size), speed: this.meter.speed(), secondsLeft: this.meter.secondsLeft(this.file.size) })
  }

  /** Upload what storage lacks (from the session's listing), then complete. */
  private async send(session: UploadSession): Promise<void> {
    const sid = session.uploadSessionId
    const listed = await getUploadSession(sid)
    const todo = remainingParts(this.plan, listed.parts)
    this.baseBytes = storedBytes(this.plan, listed.parts)
    this.inFlight.clear()
    this.meter.reset()
    this.abort = new AbortController()
    const signal = this.abort.signal
    this.set({ phase: 'uploading' })
    this.progress(true)
    const queue = [...todo]
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        await this.sendPart(sid, part, signal)
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, Math.max(1, todo.length)) }, worker))
    if (signal.aborted) return
    this.set({ phase: 'completing' })
    const stored = await getUploadSession(sid)
    await confirmUpload(sid, completionList(this.plan, stored.parts ?? []))
    this.save(null)
    this.set({ phase: 'done', bytesDone: this.file.size, secondsLeft: 0 })
  }

  private async sendPart(sid: string, part: PartPlan, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new DOMException('aborted', 'AbortError')
      try {
        const [url] = await getPresignedUpload(sid, [part.partNumber])
        await putPart(url!.uploadUrl, this.file.slice(part.start, part.end), (sent) => {
          this.inFlight.set(part.partNumber, sent)
          this.progress()
        }, signal)
        this.inFlight.delete(part.partNumber)
        this.baseBytes += part.end - part.start
        this.progress(true)
        return
      } catch (err) {
        this.inFlight.delete(part.partNumber)
        const aborted = signal.aborted || (err instanceof DOMException && err.name === 'AbortError')
        const final = err instanceof ApiError && err.status >= 400 && err.status < 500
        if (aborted || final || attempt >= 5) throw err
        await sleep(500 * 2 ** (attempt - 1))
      }
    }
  }

  /** Stop sending; parts already stored are kept (the session becomes PAUSED). */
  async pause(): Promise<void> {
    if (this.state.phase !== 'uploading' || !this.state.sessionId) return
    this.abort?.abort()
    this.inFlight.clear()
    this.set({ phase: 'paused', speed: 0, secondsLeft: null, bytesDone: this.baseBytes })
    await pauseUpload(this.state.sessionId).catch(() => undefined)
  }

  /** Continue a paused (or failed) upload from the parts storage holds. */
  async resume(): Promise<void> {
    const sid = this.state.sessionId
    if (!sid || (this.state.phase !== 'paused' && this.state.phase !== 'error')) return
    try {
      const s = await getUploadSession(sid)
      if (s.status === 'PAUSED') await resumeUpload(sid)
      await this.send(s)
    } catch (err) {
      this.fail(err)
    }
  }

  /** Abort the upload for good (the session is CANCELED and its stored parts dropped). */
  async cancel(): Promise<void> {
    this.abort?.abort()
    const sid = this.state.sessionId
    this.save(null)
    this.set({ phase: 'canceled', speed: 0, secondsLeft: null })
    if (sid) await cancelUpload(sid).catch(() => undefined)
  }
}
