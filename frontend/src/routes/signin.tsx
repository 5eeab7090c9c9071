// Dev sign-in: a user name, no password; the token comes from POST /api/dev/token, which only the
// local (dev) stack serves. A real OpenID Connect sign-in would hand the same kind of bearer token.
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { devSignIn } from '../lib/api/videos'
import { signIn } from '../lib/auth'

export const Route = createFileRoute('/signin')({
  validateSearch: (search: Record<string, unknown>): { redirect?: string } => ({
    redirect: typeof search.redirect === 'string' && search.redirect.startsWith('/') ? search.redirect : undefined,
  }),
  component: SignIn,
})

function SignIn() {
  const { redirect } = Route.useSearch()
  const navigate = useNavigate()
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const { accessToken } = await devSignIn(name.trim())
      signIn(accessToken)
      await navigate({ to: redirect ?? '/videos' })
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <p className="muted">Development sign-in: pick any user name (letters, digits, dot, dash, underscore).</p>
      <form onSubmit={submit}>
        <label htmlFor="user">User name</label>
        <input id="user" name="user" value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9._\-]{1,64}" autoComplete="username" />
        <button type="submit" disabled={busy || !name.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </section>
  )
}
