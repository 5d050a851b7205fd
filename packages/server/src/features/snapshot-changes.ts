import type { Sql } from '../db/database.js';
import { CHANGES_CHANNEL } from '../db/database.js';

/** One change to what an environment's snapshot holds: a flag or segment, new value or removed. */
export type SnapshotChange =
  | { type: 'flag'; key: string; removed: boolean }
  | { type: 'segment'; key: string; removed: boolean }
  | { type: 'environment'; key: string; removed: boolean };

/**
 * Records a change to an environment's snapshot inside the writing
 * transaction: bumps the environment's snapshot version, keeps the change for
 * streaming clients that resume with Last-Event-ID, and NOTIFYs every replica
 * (delivered at commit, and not at all on rollback).
 */
export async function recordSnapshotChange(tx: Sql, environmentId: string, change: SnapshotChange): Promise<number> {
  const [row] = await tx.query<{ snapshot_version: number }>(
    'update environments set snapshot_version = snapshot_version + 1 where id = $1 returning snapshot_version',
    [environmentId],
  );
  const version = row?.snapshot_version ?? 0;
  await tx.query('insert into snapshot_changes (environment_id, snapshot_version, change) values ($1, $2, $3)', [
    environmentId,
    version,
    JSON.stringify(change),
  ]);
  await tx.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify({ environmentId, snapshotVersion: version })]);
  return version;
}
