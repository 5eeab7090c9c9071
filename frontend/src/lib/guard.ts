import { redirect } from '@tanstack/react-router'
import { getSession } from './auth'

/** Route guard: send a signed-out visitor to /signin, coming back to `href` afterwards. */
export function requireSession({ location }: { location: { href: string } }): void {
  if (!getSession()) throw redirect({ to: '/signin', search: { redirect: location.href } })
}
