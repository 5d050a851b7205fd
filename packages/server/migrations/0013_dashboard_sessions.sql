-- Dashboard sign-in sessions: a user token exchanged for an httpOnly cookie.
-- Only the hash of the cookie secret is stored (the CSRF token is derived
-- from the secret, so it is never stored either); a session ends when it is signed out, when it
-- expires, or when its token is revoked or its user disabled.
create table dashboard_sessions (
  id text primary key,
  session_hash text not null unique,
  token_id text not null references api_tokens (id),
  user_id text not null references users (id),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  ended_at timestamptz
);
create index dashboard_sessions_user on dashboard_sessions (user_id);
