import type { FlagConfig, FlagType, Segment, Snapshot, Variation } from '@rollgate/core';
import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { Database, Sql } from '../../db/database.js';
import type { SnapshotChange } from '../snapshot-changes.js';
import { defaultEnvironmentConfig } from '../flags/flag-defaults.js';

/** An environment's snapshot as read from the database, with where it belongs. */
export interface LoadedSnapshot {
  environmentId: string;
  projectId: string;
  projectKey: string;
  snapshot: Snapshot & { environment: string; version: number; flags: FlagConfig[]; segments: Segment[] };
}

/** One row of snapshot_changes. */
export interface ChangeRow {
  version: number;
  change: SnapshotChange;
}

interface EnvironmentRow {
  id: string;
  key: string;
  snapshot_version: number;
  project_id: string;
  project_key: string;
}

interface FlagRow {
  key: string;
  type: FlagType;
  variations: Variation[];
  config: FlagEnvironmentConfig | null;
  version: number | null;
}

interface SegmentRow {
  key: string;
  name: string;
  definition: Omit<Segment, 'key' | 'name'>;
}

/** A flag as evaluators see it: the flag's own fields and its configuration in one environment, in a fixed field order. */
function toFlagConfig(row: FlagRow): FlagConfig {
  const c = row.config ?? defaultEnvironmentConfig(row.variations);
  return {
    key: row.key,
    type: row.type,
    variations: row.variations,
    enabled: c.enabled,
    offVariation: c.offVariation,
    ...(c.prerequisites !== undefined ? { prerequisites: c.prerequisites } : {}),
    ...(c.targets !== undefined ? { targets: c.targets } : {}),
    ...(c.rules !== undefined ? { rules: c.rules } : {}),
    fallthrough: c.fallthrough,
    ...(c.salt !== undefined ? { salt: c.salt } : {}),
    ...(row.version !== null ? { version: row.version } : {}),
  };
}

function toSegment(row: SegmentRow): Segment {
  const d = row.definition ?? {};
  const segment: Segment = { key: row.key, name: row.name };
  if (d.attribute !== undefined) segment.attribute = d.attribute;
  if (d.included !== undefined) segment.included = d.included;
  if (d.excluded !== undefined) segment.excluded = d.excluded;
  if (d.rules !== undefined) segment.rules = d.rules;
  return segment;
}

async function readSnapshot(sql: Sql, environmentId: string): Promise<LoadedSnapshot | undefined> {
  const [env] = await sql.query<EnvironmentRow>(
    'select e.id, e.key, e.snapshot_version, e.project_id, p.key as project_key from environments e join projects p on p.id = e.project_id where e.id = $1',
    [environmentId],
  );
  if (env === undefined) return undefined;
  // A flag without a row for this environment (created before the environment) is served
  // with the configuration a new environment gets: disabled, serving its off variation.
  const flags = await sql.query<FlagRow>(
    `select f.key, f.type, f.variations, fe.config, fe.version
       from flags f left join flag_environments fe on fe.flag_id = f.id and fe.environment_id = $1
      where f.project_id = $2 and f.archived_at is null
      order by f.key collate "C"`,
    [environmentId, env.project_id],
  );
  const segments = await sql.query<SegmentRow>(
    'select key, name, definition from segments where project_id = $1 and archived_at is null order by key collate "C"',
    [env.project_id],
  );
  return {
    environmentId: env.id,
    projectId: env.project_id,
    projectKey: env.project_key,
    snapshot: { environment: env.key, version: env.snapshot_version, flags: flags.map(toFlagConfig), segments: segments.map(toSegment) },
  };
}

function readChanges(sql: Sql, environmentId: string, afterVersion: number, upToVersion: number): Promise<ChangeRow[]> {
  return sql.query<ChangeRow>(
    `select snapshot_version as version, change from snapshot_changes
      where environment_id = $1 and snapshot_version > $2 and snapshot_version <= $3 order by snapshot_version`,
    [environmentId, afterVersion, upToVersion],
  );
}

/**
 * Reads an environment's snapshot in one repeatable-read transaction, so its
 * version and its content agree. With `changesAfter`, also returns the
 * snapshot_changes rows after that version up to the snapshot's version (what
 * happened since the caller's copy), read in the same transaction.
 * Undefined when the environment does not exist.
 *
 * @example
 * const loaded = await loadSnapshot(db, environmentId);
 * loaded?.snapshot.version; // environments.snapshot_version at the time of the read
 */
export async function loadSnapshot(
  db: Database,
  environmentId: string,
  changesAfter?: number,
): Promise<{ loaded: LoadedSnapshot; changes: ChangeRow[] } | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('set transaction isolation level repeatable read, read only');
    const loaded = await readSnapshot(tx, environmentId);
    if (loaded === undefined) return undefined;
    const changes =
      changesAfter !== undefined && changesAfter < loaded.snapshot.version ? await readChanges(tx, environmentId, changesAfter, loaded.snapshot.version) : [];
    return { loaded, changes };
  });
}

/**
 * The snapshot_changes rows after `afterVersion` up to `upToVersion`, or
 * undefined when any of them is missing (pruned): then the caller cannot
 * replay them and must send a full snapshot.
 */
export async function loadChangesBetween(db: Database, environmentId: string, afterVersion: number, upToVersion: number): Promise<ChangeRow[] | undefined> {
  if (upToVersion <= afterVersion) return [];
  const rows = await readChanges(db, environmentId, afterVersion, upToVersion);
  return rows.length === upToVersion - afterVersion ? rows : undefined;
}
