import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

export interface Environment {
  id: string;
  projectId: string;
  projectKey: string;
  key: string;
  name: string;
  position: number;
  requiresApproval: boolean;
  snapshotVersion: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface EnvironmentStore {
  list(sql: Sql, projectId: string): Promise<Environment[]>;
  get(sql: Sql, projectId: string, key: string): Promise<Environment | undefined>;
  getById(sql: Sql, id: string): Promise<Environment | undefined>;
  insert(sql: Sql, env: Pick<Environment, 'id' | 'projectId' | 'key' | 'name' | 'requiresApproval'>, position: number | undefined): Promise<Environment>;
  update(sql: Sql, id: string, expectedVersion: number, changes: { name?: string; requiresApproval?: boolean; position?: number }): Promise<Environment | undefined>;
}

interface EnvironmentRow {
  id: string;
  project_id: string;
  project_key: string;
  key: string;
  name: string;
  position: number;
  requires_approval: boolean;
  snapshot_version: number;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const toEnvironment = (r: EnvironmentRow): Environment => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  key: r.key,
  name: r.name,
  position: r.position,
  requiresApproval: r.requires_approval,
  snapshotVersion: r.snapshot_version,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const SELECT = 'select e.*, p.key as project_key from environments e join projects p on p.id = e.project_id';

/** Moves environments so that positions stay 0..n-1 with `id` at `position`. */
async function reorder(sql: Sql, projectId: string, id: string, position: number): Promise<void> {
  const rows = await sql.query<{ id: string }>('select id from environments where project_id = $1 and id <> $2 order by position, created_at', [projectId, id]);
  const order = rows.map((r) => r.id);
  order.splice(Math.min(position, order.length), 0, id);
  for (let i = 0; i < order.length; i++) await sql.query('update environments set position = $2 where id = $1 and position <> $2', [order[i], i]);
}

export const sqlEnvironmentStore: EnvironmentStore = {
  async list(sql, projectId) {
    return (await sql.query<EnvironmentRow>(`${SELECT} where e.project_id = $1 order by e.position`, [projectId])).map(toEnvironment);
  },
  async get(sql, projectId, key) {
    const [row] = await sql.query<EnvironmentRow>(`${SELECT} where e.project_id = $1 and e.key = $2`, [projectId, key]);
    return row && toEnvironment(row);
  },
  async getById(sql, id) {
    const [row] = await sql.query<EnvironmentRow>(`${SELECT} where e.id = $1`, [id]);
    return row && toEnvironment(row);
  },
  async insert(sql, env, position) {
    const [{ n } = { n: 0 }] = await sql.query<{ n: number }>('select count(*)::int as n from environments where project_id = $1', [env.projectId]);
    await sql.query('insert into environments (id, project_id, key, name, position, requires_approval) values ($1, $2, $3, $4, $5, $6)', [
      env.id,
      env.projectId,
      env.key,
      env.name,
      n,
      env.requiresApproval,
    ]);
    if (position !== undefined && position < n) await reorder(sql, env.projectId, env.id, position);
    return (await this.getById(sql, env.id)) as Environment;
  },
  async update(sql, id, expectedVersion, changes) {
    const [row] = await sql.query<{ project_id: string }>(
      `update environments set name = coalesce($3, name), requires_approval = coalesce($4, requires_approval), version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning project_id`,
      [id, expectedVersion, changes.name ?? null, changes.requiresApproval ?? null],
    );
    if (row === undefined) return undefined;
    if (changes.position !== undefined) await reorder(sql, row.project_id, id, changes.position);
    return this.getById(sql, id);
  },
};

/**
 * Locks environments of a project (all, or one) for the rest of the
 * transaction, always in id order. Every write that reads configurations
 * across flags or segments takes these locks first, so that two concurrent
 * writes cannot each pass a check the other one breaks (a prerequisite cycle
 * built from two sides, a segment deleted while a rule starts using it).
 */
export async function lockEnvironments(sql: Sql, projectId: string, environmentId?: string): Promise<void> {
  await sql.query('select id from environments where project_id = $1 and ($2::text is null or id = $2) order by id for update', [projectId, environmentId ?? null]);
}
