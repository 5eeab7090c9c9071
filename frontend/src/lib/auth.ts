// Sign-in state: the bearer token in memory plus sessionStorage (survives a reload, not the tab).
// Any JWT works (the dev endpoint's or an OpenID Connect provider's): the user is its `sub` claim.
import { useSyncExternalStore } from 'react'

const KEY = 'reelhouse.token'

export interface Session {
  token: string
  userId: string
  name: string | null
  /** Expiry, ms since the epoch (null when the token has no `exp`). */
  expiresAt: number | null
}

/** The claims of a JWT we use, or null when it is not a JWT. */
export function parseToken(token: string): Session | null {
  const payload = token.split('.')[1]
  if (!payload) return null
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (payload.length % 4)) % 4))
    const claims = JSON.parse(json) as { sub?: unknown; name?: unknown; exp?: unknown }
    if (typeof claims.sub !== 'string') return null
    return {
      token,
      userId: claims.sub,
      name: typeof claims.name === 'string' ? claims.name : null,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    }
  } catch {
    return null
  }
}

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage
  } catch {
    return null
  }
}

let current: Session | null = null
let loaded = false
const listeners = new Set<() => void>()

function load(): Session | null {
  if (!loaded) {
    loaded = true
    const saved = storage()?.getItem(KEY)
    const parsed = saved ? parseToken(saved) : null
    current = parsed && (parsed.expiresAt === null || parsed.expiresAt > Date.now()) ? parsed : null
  }
  return current
}

/** The signed-in session or null. */
export function getSession(): Session | null {
  return load()
}

export function getToken(): string | null {
  return load()?.token ?? null
}

/** Keep `token` (throws when it is not a JWT with a subject). */
export function signIn(token: string): Session {
  const s = parseToken(token)
  if (!s) throw new Error('not a usable token')
  current = s
  loaded = true
  storage()?.setItem(KEY, token)
  listeners.forEach((l) => l())
  return s
}

export function signOut(): void {
  current = null
  loaded = true
  storage()?.removeItem(KEY)
  listeners.forEach((l) => l())
}

function subscribe(l: () => void): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

/** React hook: the current session, re-rendering on sign-in/out. */
export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, getSession, () => null)
}
