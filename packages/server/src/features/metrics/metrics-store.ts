/**
 * Storage of ingested metrics: a batch is validated item by item, summed per
 * (flag, cohort, metric, minute) in memory, and written in one transaction
 * that first claims the batch id (a retried batch finds it taken and writes
 * nothing) and then upserts every minute row in one statement, adding to what
 * the row holds.
 */
import { metricDefinition } from '@rollgate/core';
import { metricsItemSchema, type MetricsIngestResponse } from '@rollgate/contract';
import type { Database } from '../../db/database.js';

/** The `metric` of exposure rows; no metric key can start with `$`. */
export const EXPOSURES = '$exposures';

const MINUTE = 60_000;
/** Items further in the future than this (clock skew) are refused. */
export const MAX_FUTURE_MS = 5 * MINUTE;
/** Items older than this are refused: no stage reads them any more. */
export const MAX_AGE_MS = 7 * 24 * 60 * MINUTE;

/** The sums of one minute row. */
interface Sums {
  flag: string;
  cohort: 'treatment' | 'control';
  metric: string;
  minute: number;
  count: number;
  sum: number;
  sumSq: number;
  events: number;
}

/** Why the first issue of a failed item parse happened, in one line. */
function reasonOf(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid item';
  const path = first.path.map(String).join('.');
  return path === '' ? first.message : `${path}: ${first.message}`;
}

/**
 * Validates `items` one by one against the schema, the catalog (a ratio
 * metric takes values 0..1), the time window around `now`, and the project's
 * flags (`flagExists`), and sums the good ones per minute row.
 */
export function summarise(
  items: readonly unknown[],
  now: number,
  flagExists: (key: string) => boolean,
): { rows: Sums[]; accepted: number; rejected: { index: number; reason: string }[] } {
  const rows = new Map<string, Sums>();
  const rejected: { index: number; reason: string }[] = [];
  let accepted = 0;
  items.forEach((raw, index) => {
    const parsed = metricsItemSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push({ index, reason: reasonOf(parsed.error.issues) });
      return;
    }
    const item = parsed.data;
    const at = Date.parse(item.at);
    if (at > now + MAX_FUTURE_MS) return void rejected.push({ index, reason: 'at: more than 5 minutes in the future' });
    if (at < now - MAX_AGE_MS) return void rejected.push({ index, reason: 'at: older than 7 days' });
    if (!flagExists(item.flag)) return void rejected.push({ index, reason: `flag: no flag ${JSON.stringify(item.flag)} in this project` });
    const metric = item.kind === 'exposure' ? EXPOSURES : item.metric;
    const value = item.kind === 'exposure' ? 1 : item.value;
    const ratio = item.kind === 'metric' && metricDefinition(item.metric)?.kind === 'ratio';
    if (ratio && (value < 0 || value > 1)) return void rejected.push({ index, reason: `value: ${item.metric} is a ratio metric: send 1 or 0 per request` });
    const minute = Math.floor(at / MINUTE) * MINUTE;
    const key = `${item.flag}\u0000${item.cohort}\u0000${metric}\u0000${minute}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { flag: item.flag, cohort: item.cohort, metric, minute, count: 0, sum: 0, sumSq: 0, events: 0 };
      rows.set(key, row);
    }
    row.count += 1;
    row.sum += value;
    row.sumSq += value * value;
    row.events += ratio ? value : value !== 0 ? 1 : 0;
    accepted++;
  });
  return { rows: [...rows.values()], accepted, rejected };
}

/**
 * Stores one batch of `environmentId` received at `now`: at most once per
 * batch id, all of it in one transaction.
 */
export async function ingestBatch(db: Database, environmentId: string, batchId: string, items: readonly unknown[], now: number): Promise<MetricsIngestResponse> {
  const flagKeys = [...new Set(items.map((i) => (typeof i === 'object' && i !== null ? (i as { flag?: unknown }).flag : undefined)).filter((f): f is string => typeof f === 'string'))];
  const known = new Set<string>();
  if (flagKeys.length > 0) {
    const found = await db.query<{ key: string }>(
      `select f.key from flags f join environments e on e.project_id = f.project_id where e.id = $1 and f.key = any($2::text[])`,
      [environmentId, flagKeys],
    );
    for (const r of found) known.add(r.key);
  }
  const { rows, accepted, rejected } = summarise(items, now, (key) => known.has(key));
  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      'insert into metric_batches (environment_id, batch_id, received_at) values ($1, $2, $3) on conflict (environment_id, batch_id) do nothing returning batch_id',
      [environmentId, batchId, new Date(now).toISOString()],
    );
    if (claimed.length === 0) return { accepted, rejected, duplicate: true };
    if (rows.length > 0) {
      const params: unknown[] = [environmentId];
      const values = rows.map((r) => {
        const at = params.length;
        params.push(r.flag, r.cohort, r.metric, new Date(r.minute).toISOString(), r.count, r.sum, r.sumSq, r.events);
        return `($1, $${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}::timestamptz, $${at + 5}::bigint, $${at + 6}::float8, $${at + 7}::float8, $${at + 8}::float8)`;
      });
      await tx.query(
        `insert into metric_minutes (environment_id, flag_key, cohort, metric, minute, count, sum, sum_sq, events) values ${values.join(', ')}
         on conflict (environment_id, flag_key, cohort, metric, minute) do update set
           count = metric_minutes.count + excluded.count, sum = metric_minutes.sum + excluded.sum,
           sum_sq = metric_minutes.sum_sq + excluded.sum_sq, events = metric_minutes.events + excluded.events`,
        params,
      );
    }
    return { accepted, rejected, duplicate: false };
  });
}
