import { NavLink, Outlet } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useLiveUpdates } from '../api/live.js';
import { useSession } from '../api/session.js';

const NAV = [
  { to: '/', label: 'Rollouts', end: true },
  { to: '/flags', label: 'Flags' },
  { to: '/plans', label: 'Plans' },
  { to: '/segments', label: 'Segments' },
  { to: '/environments', label: 'Environments' },
  { to: '/catalog', label: 'Metrics' },
  { to: '/tokens', label: 'Tokens' },
  { to: '/users', label: 'Users' },
  { to: '/audit', label: 'Audit log' },
];

/** The frame of every signed-in page: navigation, the live indicator, who is signed in. */
export function Layout() {
  const client = useQueryClient();
  const { session, signOut } = useSession();
  const live = useLiveUpdates(client, session !== undefined);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Rollgate</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end}>
                  {n.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <span className={`live live-${live}`} role="status" aria-live="polite">
          {live === 'live' ? 'Live' : live === 'offline' ? 'Offline: reconnecting' : 'Connecting…'}
        </span>
        {session !== undefined && (
          <span className="who">
            {session.user.name} <span className="role">({session.role})</span>{' '}
            <button type="button" className="btn btn-small" onClick={() => void signOut()}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
