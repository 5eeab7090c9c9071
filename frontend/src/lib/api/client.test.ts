import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, apiRequest, configureClient, withQuery } from './client'

function fakeFetch(status: number, body: unknown, contentType = 'application/json') {
  return vi.fn(async (_url: string, _init?: RequestInit) =>
    new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'Content-Type': contentType } }),
  )
}

afterEach(() => configureClient(() => null, () => {}))

describe('apiRequest', () => {
  it('sends the bearer token and JSON, and returns the parsed body', async () => {
    configureClient(() => 'tok-123', () => {})
    const f = fakeFetch(201, { id: 'v1' })
    const out = await apiRequest<{ id: string }>('/api/videos', { method: 'POST', body: { title: 't' } }, f as unknown as typeof fetch)
    expect(out).toEqual({ id: 'v1' })
    const [url, init] = f.mock.calls[0]!
    expect(url).toBe('/api/videos')
    const headers = init!.headers as Record<string, string>
    expect(headers.Authorization).toBe('Bearer tok-123')
    expect(headers['Content-Type']).toBe('application/json')
    expect(init!.body).toBe('{"title":"t"}')
  })

  it('leaves out the token for anonymous calls and empty query values', async () => {
    configureClient(() => 'tok', () => {})
    const f = fakeFetch(200, { ok: true })
    await apiRequest('/api/dev/token', { method: 'POST', body: {}, anonymous: true, query: { a: 1, b: '', c: null, d: undefined } }, f as unknown as typeof fetch)
    expect(f.mock.calls[0]![0]).toBe('/api/dev/token?a=1')
    expect((f.mock.calls[0]![1]!.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(withQuery('/x', { q: 'sun set', cursor: 'abc' })).toBe('/x?q=sun+set&cursor=abc')
  })

  it('turns problem+json into an ApiError with the code and words', async () => {
    const f = fakeFetch(413, { type: 'about:blank', title: 'Source rejected', status: 413, code: 'FILE_TOO_LARGE', detail: '2 GB' }, 'application/problem+json')
    const err = await apiRequest('/api/videos', {}, f as unknown as typeof fetch).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(413)
    expect((err as ApiError).code).toBe('FILE_TOO_LARGE')
    expect((err as ApiError).message).toBe('The file is larger than 1.5 GB.')
  })

  it('uses the server detail for unknown codes and a status for non-JSON errors', async () => {
    const e1 = (await apiRequest('/a', {}, fakeFetch(409, { status: 409, title: 'Upload session state conflict', detail: 'session is CANCELED', code: 'SESSION_CANCELED' }) as unknown as typeof fetch).catch((e: unknown) => e)) as ApiError
    expect(e1.message).toBe('Upload session state conflict: session is CANCELED')
    const e2 = (await apiRequest('/a', {}, fakeFetch(502, '<html>bad gateway</html>', 'text/html') as unknown as typeof fetch).catch((e: unknown) => e)) as ApiError
    expect(e2.status).toBe(502)
    expect(e2.code).toBe('HTTP_502')
  })

  it('signs out on 401 and reports a network failure as status 0', async () => {
    const out = vi.fn()
    configureClient(() => 'expired', out)
    await apiRequest('/api/videos', {}, fakeFetch(401, { status: 401, code: 'UNAUTHENTICATED', title: 'Invalid or expired token' }) as unknown as typeof fetch).catch(() => undefined)
    expect(out).toHaveBeenCalledTimes(1)
    const failing = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = (await apiRequest('/api/videos', {}, failing as unknown as typeof fetch).catch((e: unknown) => e)) as ApiError
    expect(err.status).toBe(0)
    expect(err.code).toBe('NETWORK_ERROR')
  })

  it('returns undefined for 204', async () => {
    expect(await apiRequest('/api/videos/x', { method: 'DELETE' }, fakeFetch(204, undefined) as unknown as typeof fetch)).toBeUndefined()
  })
})
