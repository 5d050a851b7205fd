import { useState } from 'react';
import { ApiRequestError } from '../../api/client.js';
import { useSession } from '../../api/session.js';

/** Sign in once with a personal user token; the server keeps the session in an httpOnly cookie. */
export function SignInPage() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Rollgate</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          signIn(token.trim())
            .catch((err: unknown) => setError(err instanceof ApiRequestError ? err.message : String(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label className="field">
          <span>Your user token</span>
          <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required aria-describedby="token-help" aria-invalid={error !== undefined} />
        </label>
        <p id="token-help" className="muted">
          The admin token printed on the first start, or a personal token an admin made for you. It is exchanged for a session cookie; the page never keeps it.
        </p>
        {error !== undefined && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}
