/** The signed-in frame: navigation (only the screens the key's scopes allow), the environment and key, sign-out; signed out, the sign-in page in its place. */
import { NavLink, Outlet } from 'react-router';
import { SignInScreen } from './screens/sign-in.tsx';
import { type Scope, scopeAllows, useSession } from './session.tsx';

const screens: readonly { readonly to: string; readonly label: string; readonly scope: Scope }[] = [
  { to: '/customers', label: 'Customers', scope: 'read' },
  { to: '/catalog', label: 'Catalog', scope: 'read' },
  { to: '/webhooks', label: 'Webhooks', scope: 'admin' },
  { to: '/audit', label: 'Audit log', scope: 'admin' },
  { to: '/keys', label: 'API keys', scope: 'admin' },
  { to: '/jobs', label: 'Jobs', scope: 'admin' },
];

export function Layout() {
  const { state, signOut } = useSession();
  if (state.status === 'loading') return <p className="muted page">Loading…</p>;
  if (state.status === 'signed-out') return <SignInScreen message={state.message} />;
  const { session } = state;
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Bursar</span>
        <nav aria-label="Console">
          <ul>
            {screens
              .filter((screen) => scopeAllows(session.api_key.scopes, screen.scope))
              .map((screen) => (
                <li key={screen.to}>
                  <NavLink to={screen.to}>{screen.label}</NavLink>
                </li>
              ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            <span className="muted">Environment</span>{' '}
            <strong data-testid="environment">{session.environment.name}</strong>
          </span>
          <span>
            <span className="muted">Key</span> <strong>{session.api_key.name}</strong>{' '}
            <span className="muted" data-testid="scopes">
              ({session.api_key.scopes.join(', ')})
            </span>
          </span>
          <button type="button" className="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="page">
        <Outlet />
      </main>
    </div>
  );
}
