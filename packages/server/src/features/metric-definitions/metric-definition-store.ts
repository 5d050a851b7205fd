import { METRIC_CATALOG, type MetricDefinition, type MetricDirection, type MetricKind, type MetricUnit } from '@rollgate/core';
import type { MetricSource } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

/**
 * A metric definition as stored. A project's own metric has `builtIn: false`
 * and every describing field; the definition of a built-in metric
 * (`builtIn: true`) holds only its source, the rest being the catalog's.
 * `source` holds header values in clear: never return it from the API or
 * write it to the audit log as is (see `redactSource`).
 */
export interface StoredMetricDefinition {
  id: string;
  projectId: string;
  projectKey: string;
  key: string;
  builtIn: boolean;
  name: string | null;
  description: string;
  kind: MetricKind | null;
  unit: MetricUnit | null;
  direction: MetricDirection | null;
  source: MetricSource;
  archived: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The fields a write sets. */
export type MetricDefinitionFields = Pick<StoredMetricDefinition, 'name' | 'description' | 'kind' | 'unit' | 'direction' | 'source'>;

/** What the observation sources need of a definition. */
export type MetricSourceRecord = Pick<StoredMetricDefinition, 'id' | 'key' | 'builtIn' | 'kind' | 'source' | 'version'>;

/** Storage of metric definitions. Every method takes the Sql to run on, so services choose the transaction. */
export interface MetricDefinitionStore {
  /** Active definitions, by key. */
  list(sql: Sql, projectId: string, limit: number, afterKey?: string): Promise<StoredMetricDefinition[]>;
  /** The definition with this key, archived or not. */
  getByKey(sql: Sql, projectId: string, key: string): Promise<StoredMetricDefinition | undefined>;
  insert(sql: Sql, definition: Pick<StoredMetricDefinition, 'id' | 'projectId' | 'key' | 'builtIn'> & MetricDefinitionFields): Promise<StoredMetricDefinition>;
  /** Applies `changes` when the stored version is `expectedVersion`; undefined when it is not. */
  update(sql: Sql, id: string, expectedVersion: number, changes: Partial<MetricDefinitionFields & { archived: boolean }>): Promise<StoredMetricDefinition | undefined>;
}

interface Row {
  id: string;
  project_id: string;
  project_key: string;
  key: string;
  built_in: boolean;
  name: string | null;
  description: string;
  kind: MetricKind | null;
  unit: MetricUnit | null;
  direction: MetricDirection | null;
  source: MetricSource;
  archived_at: Date | string | null;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const toDefinition = (r: Row): StoredMetricDefinition => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  key: r.key,
  builtIn: r.built_in,
  name: r.name,
  description: r.description,
  kind: r.kind,
  unit: r.unit,
  direction: r.direction,
  source: r.source,
  archived: r.archived_at !== null,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const SELECT = 'select d.*, p.key as project_key from metric_definitions d join projects p on p.id = d.project_id';

async function byId(sql: Sql, id: string): Promise<StoredMetricDefinition> {
  const [row] = await sql.query<Row>(`${SELECT} where d.id = $1`, [id]);
  if (row === undefined) throw new Error(`metric definition ${id} vanished`);
  return toDefinition(row);
}

export const sqlMetricDefinitionStore: MetricDefinitionStore = {
  async list(sql, projectId, limit, afterKey) {
    const rows = await sql.query<Row>(
      `${SELECT} where d.project_id = $1 and d.archived_at is null and ($2::text is null or d.key > $2) order by d.key limit $3`,
      [projectId, afterKey ?? null, limit],
    );
    return rows.map(toDefinition);
  },
  async getByKey(sql, projectId, key) {
    const [row] = await sql.query<Row>(`${SELECT} where d.project_id = $1 and d.key = $2`, [projectId, key]);
    return row && toDefinition(row);
  },
  async insert(sql, d) {
    await sql.query(
      'insert into metric_definitions (id, project_id, key, built_in, name, description, kind, unit, direction, source) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [d.id, d.projectId, d.key, d.builtIn, d.name, d.description, d.kind, d.unit, d.direction, JSON.stringify(d.source)],
    );
    return byId(sql, d.id);
  },
  async update(sql, id, expectedVersion, changes) {
    // A field left out keeps its value: none of them is ever set back to null.
    const [row] = await sql.query<{ id: string }>(
      `update metric_definitions set
              name = coalesce($3, name), description = coalesce($4, description), kind = coalesce($5, kind),
              unit = coalesce($6, unit), direction = coalesce($7, direction), source = coalesce($8::jsonb, source),
              archived_at = case when $9::boolean is null then archived_at when $9 then coalesce(archived_at, now()) else null end,
              version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning id`,
      [
        id,
        expectedVersion,
        changes.name ?? null,
        changes.description ?? null,
        changes.kind ?? null,
        changes.unit ?? null,
        changes.direction ?? null,
        changes.source === undefined ? null : JSON.stringify(changes.source),
        changes.archived ?? null,
      ],
    );
    if (row === undefined) return undefined;
    return byId(sql, id);
  },
};

/**
 * Keys of the project's active definitions: with the catalog, the metrics its
 * plans may name.
 */
export async function activeMetricKeys(sql: Sql, projectId: string): Promise<string[]> {
  const rows = await sql.query<{ key: string }>('select key from metric_definitions where project_id = $1 and archived_at is null', [projectId]);
  return rows.map((r) => r.key);
}

/**
 * The active definitions among `keys` whose source is not push: what the
 * composite observation source reads from Prometheus or HTTP.
 */
export async function externalSources(sql: Sql, projectId: string, keys: readonly string[]): Promise<MetricSourceRecord[]> {
  if (keys.length === 0) return [];
  const rows = await sql.query<Pick<Row, 'id' | 'key' | 'built_in' | 'kind' | 'source' | 'version'>>(
    `select id, key, built_in, kind, source, version from metric_definitions
      where project_id = $1 and archived_at is null and key = any($2::text[]) and source->>'type' <> 'push'`,
    [projectId, [...keys]],
  );
  return rows.map(sourceRecordOf);
}

function sourceRecordOf(r: Pick<Row, 'id' | 'key' | 'built_in' | 'kind' | 'source' | 'version'>): MetricSourceRecord {
  return {
    id: r.id,
    key: r.key,
    builtIn: r.built_in,
    // A built-in metric's kind is the catalog's.
    kind: r.built_in ? (METRIC_CATALOG.find((m) => m.key === r.key)?.kind ?? null) : r.kind,
    source: r.source,
    version: r.version,
  };
}

/**
 * The active non-push definitions of several projects at once (a controller
 * tick's prefetch), by project id.
 */
export async function externalSourcesOfProjects(sql: Sql, projectIds: readonly string[]): Promise<Map<string, MetricSourceRecord[]>> {
  const byProject = new Map<string, MetricSourceRecord[]>(projectIds.map((id) => [id, []]));
  if (projectIds.length === 0) return byProject;
  const rows = await sql.query<Pick<Row, 'id' | 'project_id' | 'key' | 'built_in' | 'kind' | 'source' | 'version'>>(
    `select id, project_id, key, built_in, kind, source, version from metric_definitions
      where project_id = any($1::text[]) and archived_at is null and source->>'type' <> 'push'`,
    [[...new Set(projectIds)]],
  );
  for (const r of rows) byProject.get(r.project_id)?.push(sourceRecordOf(r));
  return byProject;
}

/**
 * The metric catalog of a project: the built-in metrics and the project's own
 * definitions, as core `MetricDefinition`s (for `decide`'s `catalog` option,
 * which words reasons in the metric's unit and picks the statistical test by
 * its kind).
 */
export async function projectMetricCatalog(sql: Sql, projectId: string): Promise<MetricDefinition[]> {
  return (await projectMetricCatalogs(sql, [projectId])).get(projectId) ?? [...METRIC_CATALOG];
}

/**
 * The catalogs of several projects in one query (a controller tick's
 * projects); every project asked for has an entry.
 */
export async function projectMetricCatalogs(sql: Sql, projectIds: readonly string[]): Promise<Map<string, MetricDefinition[]>> {
  const ids = [...new Set(projectIds)];
  const out = new Map<string, MetricDefinition[]>(ids.map((id) => [id, [...METRIC_CATALOG]]));
  if (ids.length === 0) return out;
  const rows = await sql.query<Row>(`${SELECT} where d.project_id = any($1::text[]) and d.archived_at is null and not d.built_in order by d.key`, [ids]);
  for (const row of rows) out.get(row.project_id)?.push(coreDefinitionOf(toDefinition(row)));
  return out;
}

/** A project's own definition as a core catalog entry. */
export function coreDefinitionOf(d: StoredMetricDefinition): MetricDefinition {
  const core: MetricDefinition = {
    key: d.key,
    name: d.name ?? d.key,
    unit: d.unit ?? 'count',
    kind: d.kind ?? 'gauge',
    direction: d.direction ?? 'lower',
  };
  if (d.description !== '') core.description = d.description;
  return core;
}
