/**
 * Rollout metrics of the server SDK: cohort attribution of evaluations, the
 * bounded in-memory queue of exposures (aggregated) and metric observations,
 * and its cutting into batches for POST /api/client/metrics.
 */
import { randomUUID } from 'node:crypto';
import { murmur3, type EvaluationContext } from '@rollgate/core';

export type Cohort = 'treatment' | 'control';

export interface MetricsOptions {
  /** Count exposures and send them with `track`'s metrics. Default true (false when `offline`). */
  enabled?: boolean;
  /** How often the queue is sent, in ms. Default 10,000. */
  flushIntervalMs?: number;
  /** Most exposure aggregates, and most metric observations, held in memory. Default 10,000. */
  maxQueue?: number;
}

/** Most items of one POST (the server's limit). */
export const MAX_BATCH_ITEMS = 1000;
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

export interface MetricItem {
  kind: 'metric';
  metric: string;
  flag: string;
  cohort: Cohort;
  /** The variant served, for the treatment cohort (experiment groups split by it). */
  variant?: string;
  /** The hashed context key, when the context has one (unique metrics count distinct contexts by it). */
  contextKey?: string;
  value: number;
  at: string;
}

export interface Batch {
  batchId: string;
  items: (ExposureItem | MetricItem)[];
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

/**
 * The bounded queue: exposures aggregated per minute, flag, variant, cohort
 * and hashed context key (sent as one item with a `count`); metric items as
 * they come. `pendingItems` counts the items a flush would send.
 */
export class MetricsQueue {
  private exposures = new Map<string, Exposure>();
  private metrics: MetricItem[] = [];
  /** Batches cut and not delivered yet (sent again with the same batchId). */
  private retained: Batch[] = [];
  /** Items waiting to be cut into batches. */
  pendingItems = 0;
  droppedExposures = 0;
  droppedMetrics = 0;

  constructor(private readonly maxQueue: number) {}

  /** Counts one exposure; false when it was dropped (queue full). */
  exposure(flag: string, variant: string, cohort: Cohort, contextKey: string, now: number): boolean {
    const minute = now - (now % 60_000);
    const key = `${minute}\u0000${flag}\u0000${variant}\u0000${cohort}\u0000${contextKey}`;
    const held = this.exposures.get(key);
    if (held !== undefined) {
      held.count++;
      return true;
    }
    if (this.exposures.size >= this.maxQueue) {
      this.droppedExposures++;
      return false;
    }
    this.exposures.set(key, { flag, variant, cohort, contextKey, at: new Date(minute).toISOString(), count: 1 });
    this.pendingItems++;
    return true;
  }

  /** Queues one metric observation; false when it was dropped (queue full). */
  metric(item: MetricItem): boolean {
    if (this.metrics.length >= this.maxQueue) {
      this.droppedMetrics++;
      return false;
    }
    this.metrics.push(item);
    this.pendingItems++;
    return true;
  }

  /** Cuts everything pending into batches (appended to the retained ones) and returns all undelivered batches. */
  batches(): Batch[] {
    if (this.pendingItems > 0) {
      let items: (ExposureItem | MetricItem)[] = [];
      const cut = () => {
        if (items.length === 0) return;
        this.retained.push({ batchId: randomUUID(), items });
        items = [];
      };
      for (const e of this.exposures.values()) {
        const item: ExposureItem = { kind: 'exposure', flag: e.flag, variant: e.variant, cohort: e.cohort, contextKey: e.contextKey, at: e.at };
        // Without `count` when 1, which servers that predate it accept too.
        if (e.count > 1) item.count = e.count;
        items.push(item);
        if (items.length === MAX_BATCH_ITEMS) cut();
      }
      for (const m of this.metrics) {
        items.push(m);
        if (items.length === MAX_BATCH_ITEMS) cut();
      }
      cut();
      this.exposures = new Map();
      this.metrics = [];
      this.pendingItems = 0;
    }
    // Bounded: keep at most maxQueue undelivered items in all (the newest), counting the rest as dropped.
    let total = this.retained.reduce((n, b) => n + b.items.length, 0);
    while (total > Math.max(this.maxQueue, MAX_BATCH_ITEMS) && this.retained.length > 1) {
      const old = this.retained.shift() as Batch;
      total -= old.items.length;
      for (const it of old.items) if (it.kind === 'exposure') this.droppedExposures += it.count ?? 1;
      else this.droppedMetrics++;
    }
    return [...this.retained];
  }

  /** A batch was answered (delivered, or refused for good): it is not sent again. */
  settle(batch: Batch): void {
    this.retained = this.retained.filter((b) => b !== batch);
  }
}
