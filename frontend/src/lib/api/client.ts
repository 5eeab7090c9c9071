// The one place the app talks HTTP to the API: bearer token, JSON, RFC 9457 problems as ApiError.
import type { Problem } from '../../types'

/** An API failure: `status`, the problem's stable `code` and a sentence for people (`message`). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problem: Problem

  constructor(problem: Problem) {
    super(describeProblem(problem))
    this.name = 'ApiError'
    this.status = problem.status
    this.code = problem.code ?? `HTTP_${problem.status}`
    this.problem = problem
  }
}

const WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are signed out. Sign in again.',
  VIDEO_NOT_FOUND: 'This video does not exist or is private.',
  UNSUPPORTED_FORMAT: 'This file format is not supported. Use MOV, MP4, 3GP, AVI or WMV.',
  FILE_TOO_LARGE: 'The file is larger than 1.5 GB.',
  ETAG_MISMATCH: 'Someone changed this video meanwhile. Reload and try again.',
  UPSTREAM_UNAVAILABLE: 'The service is unavailable right now. Try again in a moment.',
  SESSION_PAUSED: 'The upload is paused.',
  STREAM_NOT_FOUND: 'This stream does not exist or belongs to someone else.',
  UNSUPPORTED_IMAGE: 'The thumbnail must be a JPEG image.',
  IMAGE_TOO_LARGE: 'The thumbnail is larger than 1 MB.',
  PAYLOAD_TOO_LARGE: 'That is too large to send.',
  NOT_MODERATOR: 'Only the stream owner or a moderator may do this.',
  NOT_OWNER: 'Only the stream owner may name moderators.',
  CANNOT_MODERATE: 'You may not moderate this person (the owner, or another moderator).',
  MESSAGE_NOT_FOUND: 'That message no longer exists.',
}

/** A sentence for a problem: known codes in our words, else the server's detail or title. */
export function describeProblem(p: Problem): string {
  const known = p.code ? WORDS[p.code] : undefined
  if (known) return known
  if (p.detail) return `${p.title ?? 'Error'}: ${p.detail}`
  return p.title ?? `Request failed (HTTP ${p.status})`
}

export type TokenSource = () => string | null

let tokenSource: TokenSource = () => null
let onUnauthenticated: () => void = () => {}

/** Where the client reads the bearer token from, and what to do on a 401 (sign out). */
export function configureClient(source: TokenSource, unauthenticated: () => void): void {
  tokenSource = source
  onUnauthenticated = unauthenticated
}

export interface RequestOptions {
  method?: string
  body?: unknown
  query?: Record<string, string | number | undefined | null>
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Send no Authorization header (e.g. the dev sign-in). */
  anonymous?: boolean
  /** Bytes to send as they are (e.g. an image), with `contentType`; instead of a JSON `body`. */
  raw?: Blob
  contentType?: string
}

/** Build `path?query` leaving out empty values. */
export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

/**
 * JSON request to the API on the same origin. Resolves with the parsed body (undefined for 204);
 * rejects with ApiError (problem+json, or a synthesized problem for other failures, status 0 when
 * the network failed).
 */
export async function apiRequest<T>(path: string, opts: RequestOptions = {}, fetchImpl: typeof fetch = fetch): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...opts.headers }
  const token = opts.anonymous ? null : tokenSource()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: string | Blob | undefined
  if (opts.raw !== undefined) {
    headers['Content-Type'] = opts.contentType ?? (opts.raw.type || 'application/octet-stream')
    body = opts.raw
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let res: Response
  try {
    res = await fetchImpl(withQuery(path, opts.query), { method: opts.method ?? 'GET', headers, body, signal: opts.signal })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError({ status: 0, code: 'NETWORK_ERROR', title: 'Network error', detail: 'the server could not be reached; check your connection' })
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = undefined
    }
  }
  if (!res.ok) {
    const problem: Problem =
      data && typeof data === 'object' ? { status: res.status, ...(data as object) } : { status: res.status, title: res.statusText || 'Error' }
    if (typeof problem.status !== 'number') problem.status = res.status
    const error = new ApiError(problem)
    if (res.status === 401 && !opts.anonymous) onUnauthenticated()
    throw error
  }
  return data as T
}
