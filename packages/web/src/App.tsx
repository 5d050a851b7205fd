import { lazy, Suspense } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { SessionProvider, useSession } from './api/session.js';
import { Layout } from './components/Layout.js';
import { OverviewPage } from './features/overview/OverviewPage.js';
import { SignInPage } from './features/sign-in/SignInPage.js';

// Pages other than the overview load when first opened, so the first page stays small.
const RolloutPage = lazy(() => import('./features/rollouts/RolloutPage.js').then((m) => ({ default: m.RolloutPage })));
const FlagsPage = lazy(() => import('./features/flags/FlagsPage.js').then((m) => ({ default: m.FlagsPage })));
const FlagPage = lazy(() => import('./features/flags/FlagPage.js').then((m) => ({ default: m.FlagPage })));
const PlansPage = lazy(() => import('./features/plans/PlansPage.js').then((m) => ({ default: m.PlansPage })));
const AdminPages = lazy(() => import('./features/admin/AdminPages.js').then((m) => ({ default: m.AdminPages })));

function Routed() {
  const { session, loading } = useSession();
  if (loading) return <p aria-live="polite">Loading…</p>;
  if (session === undefined) return <SignInPage />;
  return (
    <Suspense fallback={<p aria-live="polite">Loading…</p>}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<OverviewPage />} />
          <Route path="rollouts/:projectKey/:rolloutId" element={<RolloutPage />} />
          <Route path="flags" element={<FlagsPage />} />
          <Route path="flags/:projectKey/:flagKey" element={<FlagPage />} />
          <Route path="plans/*" element={<PlansPage />} />
          <Route path=":section/*" element={<AdminPages />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

/** The dashboard: signed out, the sign-in page; signed in, the pages. */
export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <Routed />
      </SessionProvider>
    </BrowserRouter>
  );
}
