import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { FlagType, Variation } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

/** A flag as stored, without its per-environment configurations. */
export interface Flag {
  id: string;
  projectId: string;
  projectKey: string;
  key: string;
  name: string;
  description: string;
  type: FlagType;
  variations: Variation[];
  tags: string[];
  archived: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A flag's configuration in one environment. */
export interface FlagEnvironment {
  flagId: string;
  environmentId: string;
  environmentKey: string;
  config: FlagEnvironmentConfig;
  version: number;
  updatedAt: string;
}

/** One flag's configuration in one environment, with what checks across flags need. */
export interface FlagConfigRow {
  flagId: string;
  flagKey: string;
  archived: boolean;
  environmentId: string;
  environmentKey: string;
  config: FlagEnvironmentConfig;
}

export interface FlagListFilter {
  archived: boolean;
  tag?: string;
  afterKey?: string;
  limit: number;
}

/** Storage of flags and their per-environment configurations. Every method takes the Sql to run on. */
export interface FlagStore {
  list(sql: Sql, projectId: string, filter: FlagListFilter): Promise<Flag[]>;
  getByKey(sql: Sql, projectId: string, key: string): Promise<Flag | undefined>;
  getById(sql: Sql, id: string): Promise<Flag | undefined>;
  /** Key and variations of every flag of the project that is not archived. */
  listActive(sql: Sql, projectId: string): Promise<Pick<Flag, 'id' | 'key' | 'variations'>[]>;
  insert(sql: Sql, flag: Pick<Flag, 'id' | 'projectId' | 'key' | 'name' | 'description' | 'type' | 'variations' | 'tags'>): Promise<Flag>;
  /** Applies `changes` when the stored version is `expectedVersion`; undefined when it is not. */
  update(
    sql: Sql,
    id: string,
    expectedVersion: number,
    changes: Partial<Pick<Flag, 'name' | 'description' | 'variations' | 'tags' | 'archived'>>,
  ): Promise<Flag | undefined>;
  /** The configurations of these flags in every environment, in environment order. */
  environments(sql: Sql, flagIds: readonly string[]): Promise<FlagEnvironment[]>;
  getEnvironment(sql: Sql, flagId: string, environmentId: string): Promise<FlagEnvironment | undefined>;
  insertEnvironment(sql: Sql, flagId: string, environmentId: string, config: FlagEnvironmentConfig): Promise<void>;
  /** Replaces the configuration when the stored version is `expectedVersion`; undefined when it is not. */
  updateEnvironment(sql: Sql, flagId: string, environmentId: string, expectedVersion: number, config: FlagEnvironmentConfig): Promise<FlagEnvironment | undefined>;
  /** Configurations of the project's flags, optionally in one environment only. */
  configs(sql: Sql, projectId: string, filter?: { environmentId?: string; activeOnly?: boolean }): Promise<FlagConfigRow[]>;
  /** Configurations of active flags whose rules reference the segment `segmentKey`. */
  referencingSegment(sql: Sql, projectId: string, segmentKey: string): Promise<FlagConfigRow[]>;
}

interface FlagRow {
  id: string;
  project_id: string;
  project_key: string;
  key: string;
  name: string;
  description: string;
  type: FlagType;
  variations: Variation[];
  tags: string[];
  archived_at: Date | string | null;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

interface FlagEnvironmentRow {
  flag_id: string;
  environment_id: string;
  environment_key: string;
  config: FlagEnvironmentConfig;
  version: number;
  updated_at: Date | string;
}

interface FlagConfigDbRow {
  flag_id: string;
  flag_key: string;
  archived: boolean;
  environment_id: string;
  environment_key: string;
  config: FlagEnvironmentConfig;
}

const toFlag = (r: FlagRow): Flag => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  key: r.key,
  name: r.name,
  description: r.description,
  type: r.type,
  variations: r.variations,
  tags: r.tags,
  archived: r.archived_at !== null,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const toFlagEnvironment = (r: FlagEnvironmentRow): FlagEnvironment => ({
  flagId: r.flag_id,
  environmentId: r.environment_id,
  environmentKey: r.environment_key,
  config: r.config,
  version: r.version,
  updatedAt: iso(r.updated_at),
});

const toConfigRow = (r: FlagConfigDbRow): FlagConfigRow => ({
  flagId: r.flag_id,
  flagKey: r.flag_key,
  archived: r.archived,
  environmentId: r.environment_id,
  environmentKey: r.environment_key,
  config: r.config,
});

const SELECT = 'select f.*, p.key as project_key from flags f join projects p on p.id = f.project_id';
const SELECT_ENV = `select fe.flag_id, fe.environment_id, e.key as environment_key, fe.config, fe.version, fe.updated_at
  from flag_environments fe join environments e on e.id = fe.environment_id`;
const SELECT_CONFIG = `select f.id as flag_id, f.key as flag_key, (f.archived_at is not null) as archived, e.id as environment_id, e.key as environment_key, fe.config
  from flag_environments fe join flags f on f.id = fe.flag_id join environments e on e.id = fe.environment_id`;

export const sqlFlagStore: FlagStore = {
  async list(sql, projectId, filter) {
    const rows = await sql.query<FlagRow>(
      `${SELECT} where f.project_id = $1 and (f.archived_at is not null) = $2
          and ($3::text is null or f.tags @> jsonb_build_array($3::text))
          and ($4::text is null or f.key > $4)
        order by f.key limit $5`,
      [projectId, filter.archived, filter.tag ?? null, filter.afterKey ?? null, filter.limit],
    );
    return rows.map(toFlag);
  },
  async getByKey(sql, projectId, key) {
    const [row] = await sql.query<FlagRow>(`${SELECT} where f.project_id = $1 and f.key = $2`, [projectId, key]);
    return row && toFlag(row);
  },
  async getById(sql, id) {
    const [row] = await sql.query<FlagRow>(`${SELECT} where f.id = $1`, [id]);
    return row && toFlag(row);
  },
  async listActive(sql, projectId) {
    return sql.query<Pick<Flag, 'id' | 'key' | 'variations'>>('select id, key, variations from flags where project_id = $1 and archived_at is null', [projectId]);
  },
  async insert(sql, f) {
    await sql.query('insert into flags (id, project_id, key, name, description, type, variations, tags) values ($1, $2, $3, $4, $5, $6, $7, $8)', [
      f.id,
      f.projectId,
      f.key,
      f.name,
      f.description,
      f.type,
      JSON.stringify(f.variations),
      JSON.stringify(f.tags),
    ]);
    return (await this.getById(sql, f.id)) as Flag;
  },
  async update(sql, id, expectedVersion, changes) {
    const [row] = await sql.query<{ id: string }>(
      `update flags set name = coalesce($3, name), description = coalesce($4, description), variations = coalesce($5::jsonb, variations),
              tags = coalesce($6::jsonb, tags),
              archived_at = case when $7::boolean is null then archived_at when $7 then coalesce(archived_at, now()) else null end,
              version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning id`,
      [
        id,
        expectedVersion,
        changes.name ?? null,
        changes.description ?? null,
        changes.variations === undefined ? null : JSON.stringify(changes.variations),
        changes.tags === undefined ? null : JSON.stringify(changes.tags),
        changes.archived ?? null,
      ],
    );
    return row && this.getById(sql, row.id);
  },
  async environments(sql, flagIds) {
    if (flagIds.length === 0) return [];
    const rows = await sql.query<FlagEnvironmentRow>(`${SELECT_ENV} where fe.flag_id = any($1::text[]) order by fe.flag_id, e.position`, [flagIds]);
    return rows.map(toFlagEnvironment);
  },
  async getEnvironment(sql, flagId, environmentId) {
    const [row] = await sql.query<FlagEnvironmentRow>(`${SELECT_ENV} where fe.flag_id = $1 and fe.environment_id = $2`, [flagId, environmentId]);
    return row && toFlagEnvironment(row);
  },
  async insertEnvironment(sql, flagId, environmentId, config) {
    await sql.query('insert into flag_environments (flag_id, environment_id, config) values ($1, $2, $3)', [flagId, environmentId, JSON.stringify(config)]);
  },
  async updateEnvironment(sql, flagId, environmentId, expectedVersion, config) {
    const [row] = await sql.query<{ flag_id: string }>(
      `update flag_environments set config = $4, version = version + 1, updated_at = now()
        where flag_id = $1 and environment_id = $2 and version = $3 returning flag_id`,
      [flagId, environmentId, expectedVersion, JSON.stringify(config)],
    );
    return row && this.getEnvironment(sql, flagId, environmentId);
  },
  async configs(sql, projectId, filter = {}) {
    const rows = await sql.query<FlagConfigDbRow>(
      `${SELECT_CONFIG} where f.project_id = $1 and ($2::text is null or fe.environment_id = $2) and (not $3 or f.archived_at is null)
        order by f.key, e.position`,
      [projectId, filter.environmentId ?? null, filter.activeOnly ?? false],
    );
    return rows.map(toConfigRow);
  },
  async referencingSegment(sql, projectId, segmentKey) {
    const rows = await sql.query<FlagConfigDbRow>(
      `${SELECT_CONFIG} where f.project_id = $1 and f.archived_at is null
          and exists (select 1 from jsonb_array_elements(coalesce(fe.config -> 'rules', '[]'::jsonb)) r
                       where coalesce(r -> 'segments', '[]'::jsonb) @> jsonb_build_array($2::text))
        order by f.key, e.position`,
      [projectId, segmentKey],
    );
    return rows.map(toConfigRow);
  },
};

