import type { BaseRole } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';

/** A live dashboard session, resolved with its token and user. */
export interface SessionIdentity {
  id: string;
  tokenId: string;
  userId: string;
  userName: string;
  role: BaseRole;
  expiresAt: Date;
}

export interface NewSession {
  id: string;
  sessionHash: string;
  tokenId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Dashboard sessions: only the hash of the cookie secret is stored. */
export interface SessionStore {
  insert(sql: Sql, session: NewSession): Promise<void>;
  /** The session of `sessionHash` if it has not ended or expired at `now`, and its token and user are still valid. */
  findLive(sql: Sql, sessionHash: string, now: Date): Promise<SessionIdentity | undefined>;
  /** Ends a session; false when it had ended already. */
  end(sql: Sql, id: string, now: Date): Promise<boolean>;
}

interface Row {
  id: string;
  token_id: string;
  user_id: string;
  user_name: string;
  role: BaseRole;
  expires_at: Date | string;
}

export const sqlSessionStore: SessionStore = {
  async insert(sql, s) {
    await sql.query(
      'insert into dashboard_sessions (id, session_hash, token_id, user_id, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)',
      [s.id, s.sessionHash, s.tokenId, s.userId, s.createdAt.toISOString(), s.expiresAt.toISOString()],
    );
  },
  async findLive(sql, sessionHash, now) {
    const [row] = await sql.query<Row>(
      `select s.id, s.token_id, s.user_id, u.name as user_name, u.role, s.expires_at
         from dashboard_sessions s
         join api_tokens t on t.id = s.token_id
         join users u on u.id = s.user_id
        where s.session_hash = $1 and s.ended_at is null and s.expires_at > $2
          and t.revoked_at is null and not u.disabled`,
      [sessionHash, now.toISOString()],
    );
    if (row === undefined) return undefined;
    return { id: row.id, tokenId: row.token_id, userId: row.user_id, userName: row.user_name, role: row.role, expiresAt: new Date(row.expires_at) };
  },
  async end(sql, id, now) {
    const rows = await sql.query('update dashboard_sessions set ended_at = $2 where id = $1 and ended_at is null returning id', [id, now.toISOString()]);
    return rows.length > 0;
  },
};
