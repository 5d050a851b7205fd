import type { BaseRole as Role, TokenKind } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { isoOrNull, iso } from '../../internal/time.js';

/** A token as stored (never with its secret). */
export interface Token {
  id: string;
  kind: TokenKind;
  name: string;
  prefix: string;
  userId: string | null;
  projectId: string | null;
  projectKey: string | null;
  environmentId: string | null;
  environmentKey: string | null;
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What authentication needs to know about a token. */
export interface TokenIdentity {
  token: Token;
  /** For admin tokens: the user's name, role and whether the user is disabled. */
  user: { id: string; name: string; role: Role; disabled: boolean } | null;
}

export interface TokenStore {
  findByHash(sql: Sql, hash: string): Promise<TokenIdentity | undefined>;
  get(sql: Sql, id: string): Promise<Token | undefined>;
  list(sql: Sql, filter: { userId?: string; projectId?: string; limit: number; afterId?: string }): Promise<Token[]>;
  insert(sql: Sql, token: Pick<Token, 'id' | 'kind' | 'name' | 'prefix' | 'userId' | 'projectId' | 'environmentId' | 'createdBy'>, hash: string): Promise<Token>;
  revoke(sql: Sql, id: string): Promise<Token | undefined>;
  touch(sql: Sql, id: string): Promise<void>;
  /**
   * The token and its hash, with its row locked until the transaction ends
   * (concurrent revocations of one token serialise: only the first is audited).
   */
  getForUpdate(sql: Sql, id: string): Promise<{ token: Token; hash: string } | undefined>;
}

interface TokenRow {
  id: string;
  kind: TokenKind;
  name: string;
  prefix: string;
  user_id: string | null;
  project_id: string | null;
  project_key: string | null;
  environment_id: string | null;
  environment_key: string | null;
  created_at: Date | string;
  created_by: string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const toToken = (r: TokenRow): Token => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  prefix: r.prefix,
  userId: r.user_id,
  projectId: r.project_id,
  projectKey: r.project_key,
  environmentId: r.environment_id,
  environmentKey: r.environment_key,
  createdAt: iso(r.created_at),
  createdBy: r.created_by,
  lastUsedAt: isoOrNull(r.last_used_at),
  revokedAt: isoOrNull(r.revoked_at),
});

const SELECT = `select t.*, p.key as project_key, e.key as environment_key
  from api_tokens t left join projects p on p.id = t.project_id left join environments e on e.id = t.environment_id`;

export const sqlTokenStore: TokenStore = {
  async findByHash(sql, hash) {
    const [row] = await sql.query<TokenRow & { user_name: string | null; user_role: Role | null; user_disabled: boolean | null }>(
      `select t.*, p.key as project_key, e.key as environment_key, u.name as user_name, u.role as user_role, u.disabled as user_disabled
         from api_tokens t
         left join projects p on p.id = t.project_id
         left join environments e on e.id = t.environment_id
         left join users u on u.id = t.user_id
        where t.token_hash = $1`,
      [hash],
    );
    if (row === undefined) return undefined;
    return {
      token: toToken(row),
      user: row.user_id === null ? null : { id: row.user_id, name: row.user_name ?? '', role: row.user_role ?? 'none', disabled: row.user_disabled ?? true },
    };
  },
  async get(sql, id) {
    const [row] = await sql.query<TokenRow>(`${SELECT} where t.id = $1`, [id]);
    return row && toToken(row);
  },
  async list(sql, filter) {
    const rows = await sql.query<TokenRow>(
      `${SELECT} where ($1::text is null or t.user_id = $1) and ($2::text is null or t.project_id = $2) and ($3::text is null or t.id > $3)
        order by t.id limit $4`,
      [filter.userId ?? null, filter.projectId ?? null, filter.afterId ?? null, filter.limit],
    );
    return rows.map(toToken);
  },
  async insert(sql, t, hash) {
    await sql.query(
      `insert into api_tokens (id, kind, name, token_hash, prefix, user_id, project_id, environment_id, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [t.id, t.kind, t.name, hash, t.prefix, t.userId, t.projectId, t.environmentId, t.createdBy],
    );
    return (await this.get(sql, t.id)) as Token;
  },
  async revoke(sql, id) {
    await sql.query('update api_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1', [id]);
    return this.get(sql, id);
  },
  async touch(sql, id) {
    await sql.query('update api_tokens set last_used_at = now() where id = $1', [id]);
  },
  async getForUpdate(sql, id) {
    const [locked] = await sql.query<{ token_hash: string }>('select token_hash from api_tokens where id = $1 for update', [id]);
    if (locked === undefined) return undefined;
    const token = await this.get(sql, id);
    return token && { token, hash: locked.token_hash };
  },
};
