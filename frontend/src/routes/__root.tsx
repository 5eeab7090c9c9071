import type { QueryClient } from '@tanstack/react-query'
import { createRootRouteWithContext, Link, Outlet, useNavigate } from '@tanstack/react-router'
import { signOut, useSession } from '../lib/auth'

function Layout() {
  const session = useSession()
  const navigate = useNavigate()
  return (
    <>
      <header className="top">
        <Link to="/videos" className="brand">
          Reelhouse
        </Link>
        <nav aria-label="Main">
          <Link to="/videos">Videos</Link>
          <Link to="/videos/upload">Upload</Link>
          <Link to="/streams">Streams</Link>
        </nav>
        <div className="who">
          {session ? (
            <>
              <span data-testid="signed-in-as">{session.name ?? session.userId}</span>
              <button
                type="button"
                onClick={() => {
                  signOut()
                  void navigate({ to: '/signin', search: { redirect: undefined } })
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <Link to="/signin" search={{ redirect: undefined }}>
              Sign in
            </Link>
          )}
        </div>
      </header>
      <main>
        <Outlet />
      </main>
    </>
  )
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/videos">Go to the videos</Link>
      </p>
    </section>
  )
}

export const Route = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Layout,
  notFoundComponent: NotFound,
})
