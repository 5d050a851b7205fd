/**
 * Storage of ingested metrics (POST /api/client/metrics).
 *
 * A batch is validated item by item, attributed (items that give a context
 * key instead of a cohort take the cohort and variant of that context's
 * latest exposure to the flag), summed per (flag, metric, minute, cohort,
 * variant) in memory, and written in one transaction:
 *
 * 1. claim the batch id (a retried batch finds it taken and writes nothing);
 * 2. take a transaction-scoped advisory lock per (environment, flag) of the
 *    batch, in a fixed order, so batches of the same flag merge one after the
 *    other (sketches merge in JS, which SQL cannot do atomically);
 * 3. read the contexts to attribute and the sketches of the touched rows;
 * 4. upsert the minute rows (sums add up in SQL; histograms and HyperLogLogs
 *    are merged with the stored ones read under the lock), and the hour rows
 *    of those with a sketch (metric_hours, so that long stages merge hours);
 * 5. upsert the contexts seen in exposures (metric_contexts).
 *
 * Quantile metrics (per the catalog, or `kindOf`) also keep a log-bucket
 * histogram of their values, unique metrics a HyperLogLog of the context keys
 * with a non-zero value, and exposures a HyperLogLog of their context keys.
 */
import { HyperLogLog, LogHistogram, metricDefinition, murmur3, type MetricKind } from '@rollgate/core';
import { metricsItemSchema, type MetricsIngestResponse } from '@rollgate/contract';
import type { Database, Sql } from '../../db/database.js';

/** The `metric` of exposure rows; no metric key can start with `$`. */
export const EXPOSURES = '$exposures';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Items further in the future than this (clock skew) are refused. */
export const MAX_FUTURE_MS = 5 * MINUTE;
/** Items older than this are refused: no stage reads them any more. */
export const MAX_AGE_MS = 7 * DAY;
/**
 * The first key of the two-key advisory locks that serialise ingestion per
 * (environment, flag); the second is a hash of the two. Two-key locks live
 * apart from the one-key locks of `LOCKS`.
 */
export const INGEST_LOCK_SPACE = 7_240_100;

/** The kind of a metric, or undefined for a metric nobody defined (read and stored as a mean). */
export type MetricKindOf = (metric: string) => MetricKind | undefined;

/** The built-in catalog's kinds. */
export const catalogKindOf: MetricKindOf = (metric) => metricDefinition(metric)?.kind;

export interface IngestOptions {
  /** Kinds of metrics; default the built-in catalog (unknown metrics are means). */
  kindOf?: MetricKindOf;
  /** Items older than this are refused; default 7 days. */
  maxAgeMs?: number;
  /**
   * Take every item at `now` instead of its own `at`: on an accelerated
   * clock, clients stamp items in real time, which the server's clock has
   * left behind; the batch's arrival is the one time both share.
   */
  atArrival?: boolean;
}

type Cohort = 'treatment' | 'control';

/** A valid item, before attribution. */
type Checked =
  | { index: number; kind: 'exposure'; flag: string; variant: string; cohort: Cohort; contextKey: string; count: number; at: number }
  | { index: number; kind: 'metric'; flag: string; metric: string; metricKind: MetricKind | undefined; cohort?: Cohort; variant?: string; contextKey?: string; value: number; at: number };

/** One minute row's additions (or one hour row's: `start` is then the hour). */
export interface MinuteRow {
  flag: string;
  metric: string;
  start: number;
  cohort: Cohort;
  /** '' when unknown (the item gave none and was not attributed). */
  variant: string;
  count: number;
  sum: number;
  sumSq: number;
  events: number;
  histogram?: LogHistogram;
  hll?: HyperLogLog;
  /** A row of a sketch kind (exposures, quantile and unique metrics): it is kept per hour as well. */
  sketched?: boolean;
}

/** What exposures say about one context of one flag: its latest cohort and variant. */
export interface ContextRow {
  flag: string;
  contextKey: string;
  cohort: Cohort;
  variant: string;
  /** First exposure in this cohort and variant (within the batch). */
  firstSeen: number;
  lastSeen: number;
}

/** The cohort and variant a context was last exposed to, and when. */
interface Assignment {
  cohort: Cohort;
  variant: string;
  at: number;
}

type Rejection = { index: number; reason: string };

/** Why the first issue of a failed item parse happened, in one line. */
function reasonOf(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid item';
  const path = first.path.map(String).join('.');
  return path === '' ? first.message : `${path}: ${first.message}`;
}

const contextId = (flag: string, contextKey: string) => `${flag}\u0000${contextKey}`;

/**
 * Validates `items` one by one against the schema, the metric kinds (a ratio
 * metric takes values 0..1, a unique metric needs a context key), the time
 * window around `now` and the project's flags (`flagExists`).
 */
export function checkItems(
  items: readonly unknown[],
  now: number,
  flagExists: (key: string) => boolean,
  options: IngestOptions = {},
): { checked: Checked[]; rejected: Rejection[] } {
  const kindOf = options.kindOf ?? catalogKindOf;
  const maxAge = options.maxAgeMs ?? MAX_AGE_MS;
  const checked: Checked[] = [];
  const rejected: Rejection[] = [];
  items.forEach((raw, index) => {
    const parsed = metricsItemSchema.safeParse(raw);
    if (!parsed.success) return void rejected.push({ index, reason: reasonOf(parsed.error.issues) });
    const item = parsed.data;
    const at = options.atArrival === true ? now : Date.parse(item.at);
    if (at > now + MAX_FUTURE_MS) return void rejected.push({ index, reason: 'at: more than 5 minutes in the future' });
    if (at < now - maxAge) return void rejected.push({ index, reason: `at: older than ${formatAge(maxAge)}` });
    if (!flagExists(item.flag)) return void rejected.push({ index, reason: `flag: no flag ${JSON.stringify(item.flag)} in this project` });
    if (item.kind === 'exposure') {
      checked.push({ index, kind: 'exposure', flag: item.flag, variant: item.variant, cohort: item.cohort, contextKey: item.contextKey, count: item.count ?? 1, at });
      return;
    }
    const metricKind = kindOf(item.metric);
    if (metricKind === 'ratio' && (item.value < 0 || item.value > 1)) {
      return void rejected.push({ index, reason: `value: ${item.metric} is a ratio metric: send 1 or 0 per request` });
    }
    if (metricKind === 'unique' && item.contextKey === undefined) {
      return void rejected.push({ index, reason: `contextKey: ${item.metric} counts distinct contexts: send the hashed context key` });
    }
    const c: Checked = { index, kind: 'metric', flag: item.flag, metric: item.metric, metricKind, value: item.value, at };
    if (item.cohort !== undefined) c.cohort = item.cohort;
    if (item.variant !== undefined) c.variant = item.variant;
    if (item.contextKey !== undefined) c.contextKey = item.contextKey;
    checked.push(c);
  });
  return { checked, rejected };
}

function formatAge(ms: number): string {
  return ms % DAY === 0 ? `${ms / DAY} day${ms === DAY ? '' : 's'}` : `${Math.round(ms / MINUTE)} minutes`;
}

/** The latest exposure per (flag, context) among `checked`'s exposures; a later item wins a tie. */
function batchAssignments(checked: readonly Checked[]): Map<string, Assignment> {
  const out = new Map<string, Assignment>();
  for (const c of checked) {
    if (c.kind !== 'exposure') continue;
    const id = contextId(c.flag, c.contextKey);
    const held = out.get(id);
    if (held === undefined || c.at >= held.at) out.set(id, { cohort: c.cohort, variant: c.variant, at: c.at });
  }
  return out;
}

/** The metric items that need attribution: no cohort given, a context key given. */
function unattributed(checked: readonly Checked[]): string[] {
  const ids = new Set<string>();
  for (const c of checked) if (c.kind === 'metric' && c.cohort === undefined && c.contextKey !== undefined) ids.add(contextId(c.flag, c.contextKey));
  return [...ids];
}

/** The stored latest exposures of the (flag, context) pairs `ids`. */
async function storedAssignments(sql: Sql, environmentId: string, ids: readonly string[]): Promise<Map<string, Assignment>> {
  const out = new Map<string, Assignment>();
  if (ids.length === 0) return out;
  const flags: string[] = [];
  const keys: string[] = [];
  for (const id of ids) {
    const [flag, key] = id.split('\u0000') as [string, string];
    flags.push(flag);
    keys.push(key);
  }
  const rows = await sql.query<{ flag_key: string; context_key: string; cohort: Cohort; variant: string; ms: number }>(
    `select c.flag_key, c.context_key, c.cohort, c.variant, (extract(epoch from c.last_seen) * 1000)::float8 as ms
       from metric_contexts c join unnest($2::text[], $3::text[]) as k(flag_key, context_key) on c.flag_key = k.flag_key and c.context_key = k.context_key
      where c.environment_id = $1`,
    [environmentId, flags, keys],
  );
  for (const r of rows) out.set(contextId(r.flag_key, r.context_key), { cohort: r.cohort, variant: r.variant, at: Number(r.ms) });
  return out;
}

/**
 * Gives every metric item without a cohort the cohort and variant of its
 * context's latest exposure (in the batch or stored), and rejects those whose
 * context has none. Returns the items kept.
 */
export function attribute(checked: readonly Checked[], stored: ReadonlyMap<string, Assignment>, rejected: Rejection[]): Checked[] {
  const inBatch = batchAssignments(checked);
  const kept: Checked[] = [];
  for (const c of checked) {
    if (c.kind === 'metric' && c.cohort === undefined) {
      const id = contextId(c.flag, c.contextKey as string);
      const a = inBatch.get(id);
      const s = stored.get(id);
      const latest = a === undefined ? s : s === undefined || a.at >= s.at ? a : s;
      if (latest === undefined) {
        rejected.push({ index: c.index, reason: `contextKey: no exposure of this context to ${JSON.stringify(c.flag)} is known, so its cohort is unknown: send the cohort, or the exposure first` });
        continue;
      }
      kept.push({ ...c, cohort: latest.cohort, variant: c.variant ?? latest.variant });
      continue;
    }
    kept.push(c);
  }
  return kept;
}

/** Sums attributed items per minute row, and collects the contexts exposures saw. */
export function aggregate(items: readonly Checked[]): { rows: MinuteRow[]; contexts: ContextRow[] } {
  const rows = new Map<string, MinuteRow>();
  const row = (flag: string, metric: string, at: number, cohort: Cohort, variant: string): MinuteRow => {
    const start = Math.floor(at / MINUTE) * MINUTE;
    const key = rowKey(flag, metric, start, cohort, variant);
    let r = rows.get(key);
    if (r === undefined) {
      r = { flag, metric, start, cohort, variant, count: 0, sum: 0, sumSq: 0, events: 0 };
      rows.set(key, r);
    }
    return r;
  };
  const contexts = new Map<string, ContextRow>();
  for (const c of items) {
    if (c.kind === 'exposure') {
      const r = row(c.flag, EXPOSURES, c.at, c.cohort, c.variant);
      r.sketched = true;
      // Each exposure is a value of 1.
      r.count += c.count;
      r.sum += c.count;
      r.sumSq += c.count;
      r.events += c.count;
      (r.hll ??= new HyperLogLog()).add(c.contextKey);
      const id = contextId(c.flag, c.contextKey);
      const held = contexts.get(id);
      if (held === undefined) {
        contexts.set(id, { flag: c.flag, contextKey: c.contextKey, cohort: c.cohort, variant: c.variant, firstSeen: c.at, lastSeen: c.at });
      } else if (held.cohort === c.cohort && held.variant === c.variant) {
        held.firstSeen = Math.min(held.firstSeen, c.at);
        held.lastSeen = Math.max(held.lastSeen, c.at);
      } else if (c.at >= held.lastSeen) {
        // Moved to another cohort or variant: its assignment starts again.
        contexts.set(id, { ...held, cohort: c.cohort, variant: c.variant, firstSeen: c.at, lastSeen: c.at });
      }
      continue;
    }
    const r = row(c.flag, c.metric, c.at, c.cohort as Cohort, c.variant ?? '');
    const v = c.value;
    r.count += 1;
    r.sum += v;
    r.sumSq += v * v;
    r.events += c.metricKind === 'ratio' ? v : v !== 0 ? 1 : 0;
    if (c.metricKind === 'quantile' || c.metricKind === 'unique') r.sketched = true;
    if (c.metricKind === 'quantile') (r.histogram ??= new LogHistogram()).add(v);
    if (c.metricKind === 'unique' && v !== 0 && c.contextKey !== undefined) (r.hll ??= new HyperLogLog()).add(c.contextKey);
  }
  return { rows: [...rows.values()], contexts: [...contexts.values()] };
}

const rowKey = (flag: string, metric: string, start: number, cohort: Cohort, variant: string) => `${flag}\u0000${metric}\u0000${start}\u0000${cohort}\u0000${variant}`;

/** The hour rows of the minute rows that carry a sketch: their sums added and sketches merged per hour. */
export function hourRowsOf(rows: readonly MinuteRow[]): MinuteRow[] {
  const hours = new Map<string, MinuteRow>();
  for (const r of rows) {
    if (r.sketched !== true) continue;
    const start = Math.floor(r.start / HOUR) * HOUR;
    const key = rowKey(r.flag, r.metric, start, r.cohort, r.variant);
    let h = hours.get(key);
    if (h === undefined) {
      h = { flag: r.flag, metric: r.metric, start, cohort: r.cohort, variant: r.variant, count: 0, sum: 0, sumSq: 0, events: 0, sketched: true };
      hours.set(key, h);
    }
    h.count += r.count;
    h.sum += r.sum;
    h.sumSq += r.sumSq;
    h.events += r.events;
    if (r.histogram !== undefined) (h.histogram ??= new LogHistogram()).merge(r.histogram);
    if (r.hll !== undefined) (h.hll ??= new HyperLogLog()).merge(r.hll);
  }
  return [...hours.values()];
}

/** Bytes for a bytea parameter (the pg driver wants a Buffer; PGlite takes any Uint8Array). */
function bytea(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The advisory lock keys of `flags` in `environmentId`, sorted so that every batch takes them in the same order. */
export function ingestLockKeys(environmentId: string, flags: Iterable<string>): number[] {
  const keys = new Set<number>();
  for (const f of flags) keys.add(murmur3(`${environmentId}\u0000${f}`) | 0);
  return [...keys].sort((a, b) => a - b);
}

/**
 * Merges the stored sketches of the minute and hour rows into them (under the
 * batch's locks), reading both tables in one statement.
 */
async function mergeStoredSketches(sql: Sql, environmentId: string, minutes: readonly MinuteRow[], hours: readonly MinuteRow[]): Promise<void> {
  const withSketch = [...minutes.map((r) => ({ r, hour: false })), ...hours.map((r) => ({ r, hour: true }))].filter((x) => x.r.histogram !== undefined || x.r.hll !== undefined);
  if (withSketch.length === 0) return;
  const byKey = new Map<string, MinuteRow>();
  for (const { r, hour } of withSketch) byKey.set(`${hour ? 'h' : 'm'}\u0000${rowKey(r.flag, r.metric, r.start, r.cohort, r.variant)}`, r);
  const params = [
    environmentId,
    withSketch.map((x) => x.r.flag),
    withSketch.map((x) => x.r.metric),
    withSketch.map((x) => new Date(x.r.start).toISOString()),
    withSketch.map((x) => x.r.cohort),
    withSketch.map((x) => x.r.variant),
    withSketch.map((x) => x.hour),
  ];
  const stored = await sql.query<{ hour: boolean; flag_key: string; metric: string; ms: number; cohort: Cohort; variant: string; histogram: Uint8Array | null; hll: Uint8Array | null }>(
    `with k as (select * from unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::boolean[]) as k(flag_key, metric, start, cohort, variant, hour))
     select false as hour, m.flag_key, m.metric, (extract(epoch from m.minute) * 1000)::float8 as ms, m.cohort, m.variant, m.histogram, m.hll
       from metric_minutes m join k on not k.hour and m.flag_key = k.flag_key and m.metric = k.metric and m.minute = k.start and m.cohort = k.cohort and m.variant = k.variant
      where m.environment_id = $1 and (m.histogram is not null or m.hll is not null)
     union all
     select true as hour, h.flag_key, h.metric, (extract(epoch from h.hour) * 1000)::float8 as ms, h.cohort, h.variant, h.histogram, h.hll
       from metric_hours h join k on k.hour and h.flag_key = k.flag_key and h.metric = k.metric and h.hour = k.start and h.cohort = k.cohort and h.variant = k.variant
      where h.environment_id = $1`,
    params,
  );
  for (const s of stored) {
    const r = byKey.get(`${s.hour ? 'h' : 'm'}\u0000${rowKey(s.flag_key, s.metric, Number(s.ms), s.cohort, s.variant)}`);
    if (r === undefined) continue;
    // A stored sketch that does not decode is replaced rather than failing every later batch.
    const histogram = s.histogram === null ? undefined : LogHistogram.fromBytes(s.histogram);
    if (r.histogram !== undefined && histogram !== undefined) r.histogram = histogram.merge(r.histogram);
    const hll = s.hll === null ? undefined : HyperLogLog.fromBytes(s.hll);
    if (r.hll !== undefined && hll !== undefined) r.hll = hll.merge(r.hll);
  }
}

async function upsertRows(sql: Sql, environmentId: string, rows: readonly MinuteRow[], table: 'metric_minutes' | 'metric_hours'): Promise<void> {
  if (rows.length === 0) return;
  const column = table === 'metric_hours' ? 'hour' : 'minute';
  const params: unknown[] = [environmentId];
  const values = rows.map((r) => {
    const at = params.length;
    params.push(
      r.flag,
      r.metric,
      new Date(r.start).toISOString(),
      r.cohort,
      r.variant,
      r.count,
      r.sum,
      r.sumSq,
      r.events,
      r.histogram === undefined || r.histogram.count === 0 ? null : bytea(r.histogram.toBytes()),
      r.hll === undefined ? null : bytea(r.hll.toBytes()),
    );
    const p = (n: number) => `$${at + n}`;
    return `($1, ${p(1)}, ${p(2)}, ${p(3)}::timestamptz, ${p(4)}, ${p(5)}, ${p(6)}::bigint, ${p(7)}::float8, ${p(8)}::float8, ${p(9)}::float8, ${p(10)}::bytea, ${p(11)}::bytea)`;
  });
  await sql.query(
    `insert into ${table} as t (environment_id, flag_key, metric, ${column}, cohort, variant, count, sum, sum_sq, events, histogram, hll) values ${values.join(', ')}
     on conflict (environment_id, flag_key, metric, ${column}, cohort, variant) do update set
       count = t.count + excluded.count, sum = t.sum + excluded.sum,
       sum_sq = t.sum_sq + excluded.sum_sq, events = t.events + excluded.events,
       histogram = coalesce(excluded.histogram, t.histogram),
       hll = coalesce(excluded.hll, t.hll)`,
    params,
  );
}

/**
 * The latest exposure decides a context's cohort and variant; `first_seen`
 * starts again when they change; `last_seen` only moves forward. An exposure
 * older than the stored last one (a late batch) only widens the times.
 */
async function upsertContexts(sql: Sql, environmentId: string, contexts: readonly ContextRow[]): Promise<void> {
  if (contexts.length === 0) return;
  // Sorted, so concurrent batches touching the same contexts lock them in the same order.
  const sorted = [...contexts].sort((a, b) => (a.flag < b.flag ? -1 : a.flag > b.flag ? 1 : a.contextKey < b.contextKey ? -1 : a.contextKey > b.contextKey ? 1 : 0));
  const params: unknown[] = [environmentId];
  const values = sorted.map((c) => {
    const at = params.length;
    params.push(c.flag, c.contextKey, c.cohort, c.variant, new Date(c.firstSeen).toISOString(), new Date(c.lastSeen).toISOString());
    const p = (n: number) => `$${at + n}`;
    return `($1, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}::timestamptz, ${p(6)}::timestamptz)`;
  });
  await sql.query(
    `insert into metric_contexts as c (environment_id, flag_key, context_key, cohort, variant, first_seen, last_seen) values ${values.join(', ')}
     on conflict (environment_id, flag_key, context_key) do update set
       cohort = case when excluded.last_seen >= c.last_seen then excluded.cohort else c.cohort end,
       variant = case when excluded.last_seen >= c.last_seen then excluded.variant else c.variant end,
       first_seen = case
         when excluded.cohort = c.cohort and excluded.variant = c.variant then least(c.first_seen, excluded.first_seen)
         when excluded.last_seen >= c.last_seen then excluded.first_seen
         else c.first_seen end,
       last_seen = greatest(c.last_seen, excluded.last_seen)`,
    params,
  );
}

/**
 * Stores one batch of `environmentId` received at `now`: at most once per
 * batch id, all of it in one transaction.
 */
export async function ingestBatch(db: Database, environmentId: string, batchId: string, items: readonly unknown[], now: number, options: IngestOptions = {}): Promise<MetricsIngestResponse> {
  const flagKeys = [...new Set(items.map((i) => (typeof i === 'object' && i !== null ? (i as { flag?: unknown }).flag : undefined)).filter((f): f is string => typeof f === 'string'))];
  const known = new Set<string>();
  if (flagKeys.length > 0) {
    const found = await db.query<{ key: string }>(
      `select f.key from flags f join environments e on e.project_id = f.project_id where e.id = $1 and f.key = any($2::text[])`,
      [environmentId, flagKeys],
    );
    for (const r of found) known.add(r.key);
  }
  const { checked, rejected } = checkItems(items, now, (key) => known.has(key), options);
  const need = unattributed(checked);
  const answer = (kept: readonly Checked[]) => ({ accepted: kept.length, rejected: [...rejected].sort((a, b) => a.index - b.index) });
  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      'insert into metric_batches (environment_id, batch_id, received_at) values ($1, $2, $3) on conflict (environment_id, batch_id) do nothing returning batch_id',
      [environmentId, batchId, new Date(now).toISOString()],
    );
    if (claimed.length === 0) {
      const kept = attribute(checked, await storedAssignments(tx, environmentId, need), rejected);
      return { ...answer(kept), duplicate: true };
    }
    const flags = new Set(checked.map((c) => c.flag));
    if (flags.size > 0) {
      await tx.query(`select pg_advisory_xact_lock(${INGEST_LOCK_SPACE}, k) from unnest($1::int[]) as k`, [ingestLockKeys(environmentId, flags)]);
    }
    const kept = attribute(checked, await storedAssignments(tx, environmentId, need), rejected);
    const { rows, contexts } = aggregate(kept);
    const hours = hourRowsOf(rows);
    await mergeStoredSketches(tx, environmentId, rows, hours);
    await upsertRows(tx, environmentId, rows, 'metric_minutes');
    await upsertRows(tx, environmentId, hours, 'metric_hours');
    await upsertContexts(tx, environmentId, contexts);
    return { ...answer(kept), duplicate: false };
  });
}

/** Rows deleted by {@link pruneMetrics}, per table. */
export interface PruneResult {
  minutes: number;
  hours: number;
  batches: number;
  contexts: number;
  /** False when it stopped at `maxChunks` with rows still to delete (the next run goes on). */
  complete: boolean;
}

/**
 * Deletes what is older than `before` (epoch ms): minute rows, hour rows that
 * ended by then, batch ids and contexts last seen before it, in chunks of `chunk` rows (each its own
 * statement, so no long lock), at most `maxChunks` chunks per table and run.
 *
 * @example
 * await pruneMetrics(db, Date.now() - 30 * 24 * 3600_000);
 */
export async function pruneMetrics(sql: Sql, before: number, options: { chunk?: number; maxChunks?: number } = {}): Promise<PruneResult> {
  const chunk = options.chunk ?? 5_000;
  const maxChunks = options.maxChunks ?? 100;
  let complete = true;
  const prune = async (table: string, column: string, until = before): Promise<number> => {
    const cutoff = new Date(until).toISOString();
    let deleted = 0;
    for (let i = 0; i < maxChunks; i++) {
      const rows = await sql.query<{ n: number }>(
        `with gone as (delete from ${table} where ctid = any(array(select ctid from ${table} where ${column} < $1::timestamptz limit $2)) returning 1)
         select count(*)::int as n from gone`,
        [cutoff, chunk],
      );
      const n = Number(rows[0]?.n ?? 0);
      deleted += n;
      if (n < chunk) return deleted;
    }
    complete = false;
    return deleted;
  };
  const minutes = await prune('metric_minutes', 'minute');
  const hours = await prune('metric_hours', 'hour', before - HOUR + 1);
  const batches = await prune('metric_batches', 'received_at');
  const contexts = await prune('metric_contexts', 'last_seen');
  return { minutes, hours, batches, contexts, complete };
}
