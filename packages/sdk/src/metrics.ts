/**
 * Rollout metrics of the server SDK: cohort attribution of evaluations, the
 * bounded in-memory aggregation of exposures and `track` observations, and
 * its cutting into batches for POST /api/client/metrics.
 *
 * Memory and traffic grow with distinct series, not with calls: exposures
 * are summed per minute, flag, variant, cohort and context; observations
 * per minute, flag, metric, cohort and variant, into the aggregates the
 * server stores (count, sum, sum of squares, and the sketch the metric's kind
 * needs: a histogram for quantiles, a HyperLogLog of contexts for unique
 * metrics). What does not fit is dropped, counted per flag and cohort, and
 * reported with the next batch, so the server knows that cohort is incomplete.
 */
import { randomUUID } from 'node:crypto';
import { HyperLogLog, LogHistogram, metricDefinition, murmur3, type EvaluationContext, type MetricKind } from '@rollgate/core';

export type Cohort = 'treatment' | 'control';

export interface MetricsOptions {
  /** Count exposures and send them with `track`'s metrics. Default true (false when `offline`). */
  enabled?: boolean;
  /** How often the queue is sent, in ms. Default 10,000. */
  flushIntervalMs?: number;
  /**
   * Most series held in memory: exposure aggregates and metric aggregates,
   * waiting and undelivered together. Beyond, new series are dropped (a
   * series already held keeps counting) and reported. Default 100,000.
   */
  maxQueue?: number;
  /**
   * A flush starts as soon as this many series wait, before the interval.
   * Default 50,000: exposures are summed per context within a flush, so
   * flushing much more often than the interval would send each context again.
   */
  flushAt?: number;
}

/** Options of `track`. */
export interface TrackOptions {
  /** The flag, or flags, the event belongs to; default every flag in a rollout. */
  flags?: string | readonly string[];
}

/** Most items of one POST (the server's limit). */
export const MAX_BATCH_ITEMS = 1000;
/** Most exposures one exposure item may stand for (the server's limit); more are sent as several items. */
export const MAX_EXPOSURE_COUNT = 1_000_000;
export const OWNED_PREFIX = 'rollout:';

/** The outcome of sending one batch. */
export interface FlushResult {
  batchId: string;
  /** Items in the batch. */
  items: number;
  /** The server's answer, when it answered 2xx. */
  accepted?: number;
  rejected?: { index: number; reason: string }[];
  duplicate?: boolean;
  /** Why it was not delivered. */
  error?: Error;
  /** Kept for the next flush (network failure or 5xx), to be sent again with the same batchId. */
  retained?: boolean;
}

/** The exposures of one flag, variant, cohort and context within one minute (`at` is the minute). */
export interface ExposureItem {
  kind: 'exposure';
  flag: string;
  variant: string;
  cohort: Cohort;
  contextKey: string;
  /** Evaluations this item stands for; omitted when 1. */
  count?: number;
  at: string;
}

/** The observations of one metric for one flag, cohort and variant within one minute (`at` is the minute). */
export interface AggregateItem {
  kind: 'aggregate';
  metric: string;
  flag: string;
  cohort: Cohort;
  /** The variant served, for the treatment cohort (experiment groups split by it). */
  variant?: string;
  at: string;
  count: number;
  sum: number;
  sumSq: number;
  /** Observations with a non-zero value. */
  nonZero: number;
  /** Quantile metrics (and metrics the catalog does not know): base64 of the values' LogHistogram. */
  histogram?: string;
  /** Unique metrics (and metrics the catalog does not know): base64 of the HyperLogLog of the hashed keys of contexts with a non-zero value. */
  contexts?: string;
}

/** What was dropped for one flag and cohort since the previous report. */
export interface DroppedItem {
  kind: 'dropped';
  flag: string;
  cohort: Cohort;
  exposures: number;
  metrics: number;
  at: string;
}

export type QueueItem = ExposureItem | AggregateItem | DroppedItem;

export interface Batch {
  batchId: string;
  items: QueueItem[];
}

/**
 * For each flag with rollout-owned rules: owned rule id → the variation the
 * rollout serves, or the variations of its weighted split (an experiment
 * stage), or undefined when none.
 */
export type OwnedRules = Map<string, Map<string, OwnedServe>>;
export type OwnedServe = string | readonly string[] | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rollout-owned rules (`rollout:...` ids) of every flag of a snapshot. */
export function ownedRulesOf(snapshot: unknown): OwnedRules {
  const out: OwnedRules = new Map();
  if (!isRecord(snapshot) || !Array.isArray(snapshot.flags)) return out;
  for (const f of snapshot.flags as unknown[]) {
    if (!isRecord(f) || typeof f.key !== 'string' || !Array.isArray(f.rules)) continue;
    let owned: Map<string, OwnedServe> | undefined;
    for (const r of f.rules as unknown[]) {
      if (!isRecord(r) || typeof r.id !== 'string' || !r.id.startsWith(OWNED_PREFIX)) continue;
      const serve = isRecord(r.serve) ? r.serve : {};
      const rollout = isRecord(serve.rollout) ? serve.rollout : {};
      let variation: OwnedServe = typeof serve.variation === 'string' ? serve.variation : typeof rollout.variation === 'string' ? rollout.variation : undefined;
      if (variation === undefined && Array.isArray(rollout.variants)) {
        // A weighted split: the split's variations are the treatment, except one also served outside the rollout, which cannot tell.
        const otherwise = typeof rollout.otherwise === 'string' ? rollout.otherwise : typeof f.offVariation === 'string' ? f.offVariation : undefined;
        const split = (rollout.variants as unknown[]).map((v) => (isRecord(v) && typeof v.variation === 'string' ? v.variation : undefined)).filter((v): v is string => v !== undefined && v !== otherwise);
        if (split.length > 0) variation = split;
      }
      (owned ??= new Map()).set(r.id, variation);
    }
    if (owned !== undefined) out.set(f.key, owned);
  }
  return out;
}

/** Treatment when an owned rule decided and served the rollout's variation (or one of its split's); control otherwise. */
export function cohortOf(owned: ReadonlyMap<string, OwnedServe>, ruleId: string | undefined, variant: string | undefined): Cohort {
  if (ruleId === undefined || variant === undefined || !ruleId.startsWith(OWNED_PREFIX)) return 'control';
  const served = owned.get(ruleId);
  return served === variant || (Array.isArray(served) && served.includes(variant)) ? 'treatment' : 'control';
}

/** The hashed key of a context without userId or sessionId. */
export const ANONYMOUS = 'anonymous';

/** The context's key (userId, else sessionId) hashed with murmur3, as 8 hex digits; `anonymous` without one. */
export function hashedContextKey(context: EvaluationContext | null | undefined): string {
  if (context === null || context === undefined) return 'anonymous';
  for (const name of ['userId', 'sessionId'] as const) {
    const v: unknown = context[name];
    if (typeof v === 'string' && v !== '') return murmur3(v).toString(16).padStart(8, '0');
    if (typeof v === 'number' && Number.isFinite(v)) return murmur3(String(v)).toString(16).padStart(8, '0');
  }
  return 'anonymous';
}

interface Exposure {
  flag: string;
  variant: string;
  cohort: Cohort;
  contextKey: string;
  at: string;
  count: number;
}

interface Aggregate {
  metric: string;
  flag: string;
  cohort: Cohort;
  variant: string | undefined;
  at: string;
  count: number;
  sum: number;
  sumSq: number;
  nonZero: number;
  histogram: LogHistogram | undefined;
  contexts: HyperLogLog | undefined;
}

/** Which sketches a metric's aggregate carries: per its catalog kind, or both when the catalog does not know it (a project's own metric). */
function sketchesOf(metric: string): { histogram: boolean; contexts: boolean } {
  const kind: MetricKind | undefined = metricDefinition(metric)?.kind;
  return { histogram: kind === undefined || kind === 'quantile', contexts: kind === undefined || kind === 'unique' };
}

const MINUTE = 60_000;
/** Most hashed context keys remembered (about 100 bytes each). */
const MAX_REMEMBERED_KEYS = 50_000;
const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * The bounded aggregation. Series (exposure and metric aggregates) waiting
 * plus items cut into undelivered batches never exceed `maxQueue`: a new
 * series beyond it is dropped and counted per flag, cohort and kind, and the
 * counts go out with the next batch. `pendingItems` counts the series a
 * flush would send.
 */
export class MetricsQueue {
  private exposures = new Map<string, Exposure>();
  private aggregates = new Map<string, Aggregate>();
  private drops = new Map<string, DroppedItem>();
  /** Batches cut and not delivered yet (sent again with the same batchId). */
  private retained: Batch[] = [];
  private retainedItems = 0;
  private sketches = new Map<string, { histogram: boolean; contexts: boolean }>();
  private hashed = new Map<string, string>();
  private minute = -1;
  private minuteIso = '';
  /** Series waiting to be cut into batches. */
  pendingItems = 0;
  droppedExposures = 0;
  droppedMetrics = 0;

  constructor(private readonly maxQueue: number) {}

  /** Series and undelivered items held, against `maxQueue`. */
  get held(): number {
    return this.pendingItems + this.retainedItems;
  }

  private at(now: number): string {
    const minute = now - (now % MINUTE);
    if (minute !== this.minute) {
      this.minute = minute;
      this.minuteIso = new Date(minute).toISOString();
    }
    return this.minuteIso;
  }

  private drop(flag: string, cohort: Cohort, kind: 'exposures' | 'metrics', n: number, now: number): false {
    if (kind === 'exposures') this.droppedExposures += n;
    else this.droppedMetrics += n;
    const key = `${flag}\u0000${cohort}`;
    let d = this.drops.get(key);
    if (d === undefined) {
      d = { kind: 'dropped', flag, cohort, exposures: 0, metrics: 0, at: this.at(now) };
      this.drops.set(key, d);
    }
    d[kind] += n;
    return false;
  }

  /** Counts one exposure; false when it was dropped (memory full). */
  exposure(flag: string, variant: string, cohort: Cohort, contextKey: string, now: number): boolean {
    const at = this.at(now);
    const key = `${at}\u0000${flag}\u0000${variant}\u0000${cohort}\u0000${contextKey}`;
    const held = this.exposures.get(key);
    if (held !== undefined) {
      held.count++;
      return true;
    }
    if (this.held >= this.maxQueue) return this.drop(flag, cohort, 'exposures', 1, now);
    this.exposures.set(key, { flag, variant, cohort, contextKey, at, count: 1 });
    this.pendingItems++;
    return true;
  }

  /**
   * The hashed key of `context` (see {@link hashedContextKey}), remembered
   * for the most recent keys: hashing is most of the cost of a call.
   */
  contextKeyOf(context: EvaluationContext | null | undefined): string {
    const id: unknown = context?.userId ?? context?.sessionId;
    if (typeof id !== 'string' || id === '') return hashedContextKey(context);
    let hashed = this.hashed.get(id);
    if (hashed === undefined) {
      hashed = hashedContextKey(context);
      if (this.hashed.size >= MAX_REMEMBERED_KEYS) this.hashed.clear();
      this.hashed.set(id, hashed);
    }
    return hashed;
  }

  /**
   * Adds one observation of `metric` to its series; false when it was
   * dropped (memory full). The context's hashed key feeds the
   * distinct-contexts sketch of unique metrics (a context without a key adds
   * nothing to it).
   */
  metric(metric: string, flag: string, cohort: Cohort, variant: string | undefined, context: EvaluationContext | null | undefined, value: number, now: number): boolean {
    const at = this.at(now);
    const key = `${at}\u0000${flag}\u0000${metric}\u0000${cohort}\u0000${variant ?? ''}`;
    let a = this.aggregates.get(key);
    if (a === undefined) {
      if (this.held >= this.maxQueue) return this.drop(flag, cohort, 'metrics', 1, now);
      let sketches = this.sketches.get(metric);
      if (sketches === undefined) {
        sketches = sketchesOf(metric);
        // Bounded like the series: a process tracks a few metric keys.
        if (this.sketches.size < 10_000) this.sketches.set(metric, sketches);
      }
      a = { metric, flag, cohort, variant, at, count: 0, sum: 0, sumSq: 0, nonZero: 0, histogram: sketches.histogram ? new LogHistogram() : undefined, contexts: sketches.contexts ? new HyperLogLog() : undefined };
      this.aggregates.set(key, a);
      this.pendingItems++;
    }
    a.count++;
    a.sum += value;
    a.sumSq += value * value;
    if (value !== 0) {
      a.nonZero++;
      if (a.contexts !== undefined) {
        const key = this.contextKeyOf(context);
        if (key !== ANONYMOUS) a.contexts.add(key);
      }
    }
    a.histogram?.add(value);
    return true;
  }

  /** Cuts everything waiting into batches (appended to the retained ones; drop reports first) and returns all undelivered batches. */
  batches(): Batch[] {
    if (this.pendingItems > 0 || this.drops.size > 0) {
      let items: QueueItem[] = [];
      const cut = () => {
        if (items.length === 0) return;
        this.retained.push({ batchId: randomUUID(), items });
        this.retainedItems += items.length;
        items = [];
      };
      const push = (item: QueueItem) => {
        items.push(item);
        if (items.length === MAX_BATCH_ITEMS) cut();
      };
      for (const d of this.drops.values()) push(d);
      for (const e of this.exposures.values()) {
        for (let left = e.count; left > 0; left -= MAX_EXPOSURE_COUNT) {
          const item: ExposureItem = { kind: 'exposure', flag: e.flag, variant: e.variant, cohort: e.cohort, contextKey: e.contextKey, at: e.at };
          const count = Math.min(left, MAX_EXPOSURE_COUNT);
          // Without `count` when 1, which servers that predate it accept too.
          if (count > 1) item.count = count;
          push(item);
        }
      }
      for (const a of this.aggregates.values()) {
        const item: AggregateItem = { kind: 'aggregate', metric: a.metric, flag: a.flag, cohort: a.cohort, at: a.at, count: a.count, sum: a.sum, sumSq: a.sumSq, nonZero: a.nonZero };
        if (a.variant !== undefined) item.variant = a.variant;
        if (a.histogram !== undefined) item.histogram = base64(a.histogram.toBytes());
        // Only with keys in it: an empty sketch says nothing (and a unique metric without one is refused, as without keys).
        if (a.contexts !== undefined && a.contexts.estimate() > 0) item.contexts = base64(a.contexts.toBytes());
        push(item);
      }
      cut();
      this.exposures = new Map();
      this.aggregates = new Map();
      this.drops = new Map();
      this.pendingItems = 0;
    }
    return [...this.retained];
  }

  /** A batch was answered (delivered, or refused for good): it is not sent again. */
  settle(batch: Batch): void {
    const before = this.retained.length;
    this.retained = this.retained.filter((b) => b !== batch);
    if (this.retained.length < before) this.retainedItems -= batch.items.length;
  }
}
