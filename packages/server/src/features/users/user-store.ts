import type { BaseRole as Role } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

/** A user as stored. */
export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Storage of users. Every method takes the Sql to run on, so services choose the transaction. */
export interface UserStore {
  /** Users ordered by id, after `afterId`. */
  list(sql: Sql, limit: number, afterId?: string): Promise<User[]>;
  get(sql: Sql, id: string): Promise<User | undefined>;
  /** Case-insensitive lookup. */
  getByEmail(sql: Sql, email: string): Promise<User | undefined>;
  insert(sql: Sql, user: Pick<User, 'id' | 'email' | 'name' | 'role'>): Promise<User>;
  /** Applies `changes` when the stored version is `expectedVersion`; undefined when it is not. */
  update(sql: Sql, id: string, expectedVersion: number, changes: Partial<Pick<User, 'name' | 'role' | 'disabled'>>): Promise<User | undefined>;
  /**
   * Ids of the enabled admins, with their rows locked until the transaction
   * ends: two transactions that each demote a different admin serialise here,
   * so the second one sees the first one's change and the last admin stays.
   */
  lockEnabledAdmins(sql: Sql): Promise<string[]>;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  disabled: r.disabled,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export const sqlUserStore: UserStore = {
  async list(sql, limit, afterId) {
    const rows = await sql.query<UserRow>('select * from users where ($1::text is null or id > $1) order by id limit $2', [afterId ?? null, limit]);
    return rows.map(toUser);
  },
  async get(sql, id) {
    const [row] = await sql.query<UserRow>('select * from users where id = $1', [id]);
    return row && toUser(row);
  },
  async getByEmail(sql, email) {
    const [row] = await sql.query<UserRow>('select * from users where lower(email) = lower($1) limit 1', [email]);
    return row && toUser(row);
  },
  async insert(sql, u) {
    const [row] = await sql.query<UserRow>('insert into users (id, email, name, role) values ($1, $2, $3, $4) returning *', [u.id, u.email, u.name, u.role]);
    return toUser(row as UserRow);
  },
  async update(sql, id, expectedVersion, changes) {
    const [row] = await sql.query<UserRow>(
      `update users set name = coalesce($3, name), role = coalesce($4, role), disabled = coalesce($5, disabled), version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning *`,
      [id, expectedVersion, changes.name ?? null, changes.role ?? null, changes.disabled ?? null],
    );
    return row && toUser(row);
  },
  async lockEnabledAdmins(sql) {
    const rows = await sql.query<{ id: string }>("select id from users where role = 'admin' and not disabled order by id for update", []);
    return rows.map((r) => r.id);
  },
};
