/**
 * The production observation source: rollouts' current stages, read from the
 * rows that POST /api/client/metrics writes.
 *
 * Reading is batched: `readObservations` answers any number of rollouts with
 * one statement (the minute and hour rows of every rollout's flag and
 * metrics since its stage started, and the counts of contexts assigned since
 * then), and builds each rollout's stage aggregates, per-minute series,
 * per-variant aggregates and assignment counts in memory. The source the
 * controller calls per rollout serves from a `prefetch` of the whole tick
 * when there was one, and reads the one rollout otherwise.
 *
 * Metrics with sketches (quantile, unique, and the exposures they divide by)
 * read whole hours from metric_hours and only the partial hours at the ends
 * of the stage from metric_minutes, and their per-minute series covers the
 * longest sustained window of the stage's gates on them (an hour without
 * one): merging a 48-hour stage takes about 150 sketches per cohort, not
 * 2,880. Metrics read from sums read every minute row and have a full series.
 *
 * Values per metric kind (docs/server.md, "Metrics ingestion"):
 * - ratio: events / count * 100; mean: sum / count, with the sample variance;
 *   gauge: mean; count: sum;
 * - quantile: the metric's quantile of the merged histograms, with
 *   `exceeding` counts at the bounds the stage's gates and matrices compare
 *   against (for comparative gates, bounds from the control's quantile);
 * - unique: distinct contexts with a non-zero value / distinct exposed
 *   contexts of the same cohort (or minute, or variant), in percent, from
 *   merged HyperLogLogs; samples = the distinct exposed contexts.
 */
import {
  HyperLogLog,
  LogHistogram,
  METRIC_CATALOG,
  metricDefinition,
  metricsObservedBy,
  quantileLevelOf,
  type CohortAggregate,
  type DroppedReport,
  type Exceedance,
  type MetricDefinition,
  type MetricKind,
  type MetricObservation,
  type Observations,
  type Plan,
  type SeriesInterval,
  type Stage,
} from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import type { CatalogLoader, ObservationRequest, ObservationSource } from '../rollouts/observation-source.js';
import type { RolloutRecord } from '../rollouts/rollout-store.js';
import { DROPPED_EXPOSURES, DROPPED_METRICS, EXPOSURES } from './metrics-store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The level read from a quantile metric that names none (no `quantile`, no `pNN` in its key or name): the median. */
export const DEFAULT_QUANTILE = 0.5;

type Cohort = 'treatment' | 'control';

/** One rollout to read: the rollout, its plan and its current stage. */
export type { ObservationRequest } from '../rollouts/observation-source.js';

export interface MetricsSourceOptions {
  /** Metric definitions (kind, quantile level) of each project; default the built-in catalog. Unknown metrics read as means. */
  catalogs?: CatalogLoader;
}

/** Sums of rows, and their merged sketches. */
interface Totals {
  count: number;
  sum: number;
  sumSq: number;
  events: number;
  histogram?: LogHistogram;
  hll?: HyperLogLog;
  /** False while `histogram` (`hll`) is a row's own sketch, shared; it is copied before the first merge. */
  ownsHistogram?: boolean;
  ownsHll?: boolean;
}

const emptyTotals = (): Totals => ({ count: 0, sum: 0, sumSq: 0, events: 0 });

/**
 * A count metric's aggregate: the events reported, over the cohort's
 * exposures as samples (the contexts' evaluations the events happened
 * among), or over the reports when the cohort has no exposures.
 */
export function countAggregate(t: Pick<Totals, 'count' | 'sum' | 'sumSq' | 'events'>, exposed: Pick<Totals, 'count'> | undefined): CohortAggregate | undefined {
  const agg = aggregateOf('count', t);
  if (agg !== undefined && exposed !== undefined && exposed.count > 0) agg.samples = exposed.count;
  return agg;
}

/** The aggregate of sums in the metric's unit (ratio, mean, gauge and count metrics); undefined without samples. */
export function aggregateOf(kind: 'ratio' | 'mean' | 'gauge' | 'count', t: Pick<Totals, 'count' | 'sum' | 'sumSq' | 'events'>): CohortAggregate | undefined {
  if (t.count <= 0) return undefined;
  switch (kind) {
    case 'ratio':
      return { value: (t.events / t.count) * 100, samples: t.count };
    case 'count':
      return { value: t.sum, samples: t.count };
    case 'gauge':
      return { value: t.sum / t.count, samples: t.count };
    case 'mean': {
      const mean = t.sum / t.count;
      const agg: CohortAggregate = { value: mean, samples: t.count };
      // Sample variance from the sums; clamped because rounding can make it slightly negative.
      if (t.count >= 2) agg.variance = Math.max(0, (t.sumSq - t.count * mean * mean) / (t.count - 1));
      return agg;
    }
  }
}

/**
 * A quantile aggregate: the q-quantile of `histogram` with counts above
 * `bounds` (each as the exact counts at the edges of the bucket holding it).
 */
export function quantileAggregate(histogram: LogHistogram | undefined, q: number, bounds: readonly number[]): CohortAggregate | undefined {
  if (histogram === undefined || histogram.count === 0) return undefined;
  const agg: CohortAggregate = { value: histogram.quantile(q) as number, samples: histogram.count };
  if (bounds.length > 0) {
    const byBound = new Map<number, number>();
    for (const b of bounds) for (const e of histogram.exceedingAround(b)) byBound.set(e.bound, e.count);
    agg.exceeding = [...byBound].sort((a, b) => a[0] - b[0]).map(([bound, count]): Exceedance => ({ bound, count }));
  }
  return agg;
}

/**
 * A unique aggregate: distinct contexts counted by `metric` over distinct
 * contexts exposed, in percent (at most 100), with the exposed contexts as
 * samples; undefined without the metric's rows or without exposures.
 */
export function uniqueAggregate(metric: Totals | undefined, exposures: Totals | undefined): CohortAggregate | undefined {
  if (metric === undefined || metric.count <= 0) return undefined;
  const exposed = exposures?.hll?.estimate() ?? 0;
  if (!(exposed >= 0.5)) return undefined;
  const used = metric.hll?.estimate() ?? 0;
  return { value: Math.min(100, (used / exposed) * 100), samples: Math.round(exposed) };
}

/**
 * The bounds the stage's gates and matrices compare `metric`'s treatment
 * quantile against: absolute thresholds, matrix band limits, and for
 * comparative gates the control's quantile plus the difference, or times 1 +
 * the relative difference (as the sequential assessor computes them).
 */
export function quantileBounds(stage: Stage, metric: string, controlValue: number | undefined): number[] {
  const bounds = new Set<number>();
  for (const g of stage.gates ?? []) {
    if (g.metric !== metric) continue;
    const { type, value } = g.condition;
    if (type === 'absolute') bounds.add(value);
    else if (controlValue !== undefined && type === 'difference') bounds.add(controlValue + value);
    else if (controlValue !== undefined && type === 'relative' && controlValue > 0) bounds.add(controlValue * (1 + value / 100));
  }
  for (const m of stage.matrices ?? []) {
    if (m.metric !== metric) continue;
    for (const band of m.bands) if (band.below !== undefined) bounds.add(band.below);
  }
  return [...bounds].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
}

/**
 * Adds a row to `t`. Sketches are shared until a second one arrives (copy on
 * write): a decoded row sketch often ends up alone in its minute, and the
 * stage, minute and variant totals may all point at it.
 */
function addTo(t: Totals, row: Pick<MetricRow, 'count' | 'sum' | 'sum_sq' | 'events'>, histogram: LogHistogram | undefined, hll: HyperLogLog | undefined): void {
  t.count += Number(row.count);
  t.sum += Number(row.sum);
  t.sumSq += Number(row.sum_sq);
  t.events += Number(row.events);
  if (histogram !== undefined) {
    if (t.histogram === undefined) t.histogram = histogram;
    else {
      if (t.ownsHistogram !== true) {
        t.histogram = t.histogram.clone();
        t.ownsHistogram = true;
      }
      t.histogram.merge(histogram);
    }
  }
  if (hll !== undefined) {
    if (t.hll === undefined) t.hll = hll;
    else {
      if (t.ownsHll !== true) {
        t.hll = t.hll.clone();
        t.ownsHll = true;
      }
      t.hll.merge(hll);
    }
  }
}

/** Rows of one metric of one rollout, summed per cohort over the stage, per minute (of the series) and per treatment variant. */
class MetricTotals {
  readonly stage: Partial<Record<Cohort, Totals>> = {};
  readonly minutes = new Map<number, Partial<Record<Cohort, Totals>>>();
  readonly variants = new Map<string, Totals>();

  constructor(private readonly window: MetricWindow) {}

  add(row: MetricRow, withHistogram: boolean, withHll: boolean): void {
    const histogram = withHistogram && row.histogram !== null ? LogHistogram.fromBytes(row.histogram) : undefined;
    const hll = withHll && row.hll !== null ? HyperLogLog.fromBytes(row.hll) : undefined;
    const ms = Number(row.ms);
    const cohort = row.cohort;
    const w = this.window;
    // Hour rows count for the stage; minute rows for the stage unless an hour row covers them, and for the series when recent enough.
    const hour = row.source === 'h';
    if (hour || !(ms >= w.hoursFrom && ms < w.hoursTo)) {
      addTo((this.stage[cohort] ??= emptyTotals()), row, histogram, hll);
      if (cohort === 'treatment' && row.variant !== '') {
        let v = this.variants.get(row.variant);
        if (v === undefined) {
          v = emptyTotals();
          this.variants.set(row.variant, v);
        }
        addTo(v, row, histogram, hll);
      }
    }
    if (!hour && ms >= w.seriesFrom) {
      let minute = this.minutes.get(ms);
      if (minute === undefined) {
        minute = {};
        this.minutes.set(ms, minute);
      }
      addTo((minute[cohort] ??= emptyTotals()), row, histogram, hll);
    }
  }
}

interface MetricRow {
  /** 'm': a minute row, 'h': an hour row, 'a': a count of assigned contexts (in `count`). */
  source: 'm' | 'h' | 'a';
  i: number;
  metric: string;
  cohort: Cohort;
  variant: string;
  ms: number;
  count: number;
  sum: number;
  sum_sq: number;
  events: number;
  histogram: Uint8Array | null;
  hll: Uint8Array | null;
}

/** How one metric is read. */
interface Reading {
  kind: MetricKind;
  q: number;
}

function readingOf(metric: string, definitionOf: (metric: string) => MetricDefinition | undefined): Reading {
  const definition = definitionOf(metric);
  const kind = definition?.kind ?? 'mean';
  return { kind, q: kind === 'quantile' ? (quantileLevelOf(definition) ?? DEFAULT_QUANTILE) : DEFAULT_QUANTILE };
}

/**
 * Which rows of one metric a stage reads (epoch ms). Metrics with sketches
 * take whole hours in [hoursFrom, hoursTo) from the hour rows and the other
 * minutes from the minute rows, and their series covers the minutes from
 * `seriesFrom` on; other metrics read every minute and have a full series.
 */
interface MetricWindow {
  from: number;
  hoursFrom: number;
  hoursTo: number;
  /** Minute rows in [hoursFrom, skipTo) are not read at all. */
  skipTo: number;
  seriesFrom: number;
}

/** How far back the series of a sketch metric goes when no sustained gate reads it. */
export const SKETCH_SERIES_MS = HOUR;

/**
 * The rows `metric` is read from: see {@link MetricWindow}. A sketch
 * metric's series covers the longest `sustainedFor` of the stage's gates on
 * it (`SKETCH_SERIES_MS` without one) plus a minute, which is what sustained
 * gates need ("covering at least the longest sustained window").
 */
export function metricWindow(stage: Stage, metric: string, sketched: boolean, from: number, now: number, seriesMetrics: readonly string[] = [metric]): MetricWindow {
  if (!sketched) return { from, hoursFrom: from, hoursTo: from, skipTo: from, seriesFrom: from };
  const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  let span = 0;
  for (const g of stage.gates ?? []) if (seriesMetrics.includes(g.metric) && typeof g.sustainedFor === 'number' && g.sustainedFor > span) span = g.sustainedFor;
  if (span === 0) span = SKETCH_SERIES_MS;
  const seriesFrom = Math.max(from, end - Math.ceil(span / MINUTE) * MINUTE - MINUTE);
  const hoursFrom = Math.ceil(from / HOUR) * HOUR;
  const hoursTo = Math.floor(end / HOUR) * HOUR;
  if (hoursTo <= hoursFrom) return { from, hoursFrom: from, hoursTo: from, skipTo: from, seriesFrom };
  return { from, hoursFrom, hoursTo, skipTo: Math.min(hoursTo, Math.max(seriesFrom, hoursFrom)), seriesFrom };
}

/** Whether to split the treatment by variant: an experiment stage, or data that shows several variants. */
function splitsVariants(stage: Stage, variants: Iterable<string>): boolean {
  if (stage.experiment !== undefined) return true;
  let n = 0;
  for (const v of variants) if (v !== '' && ++n >= 2) return true;
  return false;
}

/**
 * The start of the minute holding the stage's start: rows are per minute, so
 * the stage's first partial minute counts whole (data pushed in it is not
 * lost), and the observations state the overlap with the previous stage
 * (`window.overlapMs`, under a minute).
 */
export function windowStart(rollout: RolloutRecord): number {
  return Math.floor(rollout.state.stageStartedAt / MINUTE) * MINUTE;
}

/** A count metric's value over `exposed`'s exposures when no event was reported: zero observed, not no data. */
function zeroCount(exposed: Totals | undefined): CohortAggregate | undefined {
  return exposed !== undefined && exposed.count > 0 ? { value: 0, samples: exposed.count, observedZero: true } : undefined;
}

function observationOf(stage: Stage, metric: string, reading: Reading, totals: MetricTotals, exposures: MetricTotals | undefined): MetricObservation {
  const { kind, q } = reading;
  let bounds: number[] = [];
  const one = (t: Totals | undefined, exposed: Totals | undefined, withBounds: boolean): CohortAggregate | undefined => {
    // A count metric counts events among the cohort's exposures: none reported over exposures is an observed 0.
    if (kind === 'count') return t === undefined || t.count <= 0 ? zeroCount(exposed) : countAggregate(t, exposed);
    if (t === undefined) return undefined;
    switch (kind) {
      case 'quantile':
        return quantileAggregate(t.histogram, q, withBounds ? bounds : []);
      case 'unique':
        return uniqueAggregate(t, exposed);
      default:
        return aggregateOf(kind, t);
    }
  };
  const control = one(totals.stage.control, exposures?.stage.control, false);
  if (kind === 'quantile') bounds = quantileBounds(stage, metric, control?.value);
  const observation: MetricObservation = {};
  const treatment = one(totals.stage.treatment, exposures?.stage.treatment, true);
  if (treatment !== undefined) observation.treatment = treatment;
  if (control !== undefined) observation.control = control;
  const series: SeriesInterval[] = [];
  const minutes = new Map(totals.minutes);
  // A count metric's series has the minutes with exposures too (zero events in them).
  if (kind === 'count') for (const start of exposures?.minutes.keys() ?? []) if (!minutes.has(start)) minutes.set(start, {});
  for (const [start, cohorts] of [...minutes].sort((a, b) => a[0] - b[0])) {
    const interval: SeriesInterval = { start, end: start + MINUTE };
    const exposed = exposures?.minutes.get(start);
    const t = one(cohorts.treatment, exposed?.treatment, true);
    const c = one(cohorts.control, exposed?.control, false);
    if (t !== undefined) interval.treatment = t;
    if (c !== undefined) interval.control = c;
    series.push(interval);
  }
  observation.series = series;
  if (splitsVariants(stage, totals.variants.keys())) {
    const variants: Record<string, CohortAggregate> = {};
    for (const [variant, t] of [...totals.variants].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const agg = one(t, exposures?.variants.get(variant), true);
      if (agg !== undefined) variants[variant] = agg;
    }
    if (Object.keys(variants).length > 0) observation.variants = variants;
  }
  return observation;
}

const isSketched = (kind: MetricKind | undefined) => kind === 'quantile' || kind === 'unique';

/** The drops SDKs reported per cohort, from the rows of both kinds; undefined without any. */
function droppedOf(exposures: MetricTotals | undefined, metrics: MetricTotals | undefined): Observations['dropped'] {
  const out: Partial<Record<Cohort, DroppedReport>> = {};
  for (const cohort of ['treatment', 'control'] as const) {
    const e = exposures?.stage[cohort]?.count ?? 0;
    const m = metrics?.stage[cohort]?.count ?? 0;
    if (e + m <= 0) continue;
    let lastAt = -Infinity;
    for (const t of [exposures, metrics]) for (const [start, cohorts] of t?.minutes ?? []) if ((cohorts[cohort]?.count ?? 0) > 0 && start > lastAt) lastAt = start;
    out[cohort] = { exposures: e, metrics: m, lastAt };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The observations of every request's current stage at `now` (epoch ms), in
 * the order of `requests`, read with one statement whatever their number.
 * The window of a rollout starts with the minute holding its stage's start
 * (`window` states the overlap) and ends with the minute holding `now`. A
 * metric without rows is absent (no data, never zero), except a count
 * metric whose cohort had exposures: it observed zero events
 * (`observedZero`), with the exposures as samples. `dropped` sums the drops
 * SDKs reported per cohort. `assignments` counts the distinct
 * contexts whose latest exposure was in that window, by cohort (and by
 * variant in the treatment, when it splits).
 *
 * @example
 * const observations = await readObservations(db, rollouts.map((rollout) => ({ rollout, plan, stage })), Date.now());
 */
export async function readObservations(db: Sql, requests: readonly ObservationRequest[], now: number, options: MetricsSourceOptions = {}): Promise<Observations[]> {
  if (requests.length === 0) return [];
  const catalogs = options.catalogs === undefined ? undefined : await options.catalogs(requests.map((r) => r.rollout.projectId));
  const iso = (ms: number) => new Date(ms).toISOString();
  const plans = requests.map((r) => {
    const catalog = catalogs?.get(r.rollout.projectId);
    const definitionOf = (metric: string): MetricDefinition | undefined => metricDefinition(metric, catalog ?? METRIC_CATALOG);
    const keys = metricsObservedBy(r.stage);
    const readings = new Map(keys.map((k) => [k, readingOf(k, definitionOf)] as const));
    const from = windowStart(r.rollout);
    const windows = new Map<string, MetricWindow>();
    for (const [k, reading] of readings) windows.set(k, metricWindow(r.stage, k, isSketched(reading.kind), from, now));
    const perExposure = keys.filter((k) => readings.get(k)?.kind === 'unique' || readings.get(k)?.kind === 'count');
    // Exposures are the unique metrics' denominators and the count metrics' samples: read over the same windows.
    if (perExposure.length > 0) windows.set(EXPOSURES, metricWindow(r.stage, EXPOSURES, true, from, now, perExposure));
    // What SDKs reported dropped: read like sums.
    for (const k of [DROPPED_EXPOSURES, DROPPED_METRICS]) windows.set(k, metricWindow(r.stage, k, false, from, now));
    // One window for the request: the sketch metrics share their hours; minutes are read from the earliest series start.
    const sketched = [...windows].filter(([k]) => k === EXPOSURES || isSketched(readings.get(k)?.kind));
    const sums = [...windows.keys()].filter((k) => !sketched.some(([s]) => s === k));
    const first = sketched[0]?.[1];
    return {
      keys,
      readings,
      windows,
      environmentKey: r.stage.environment ?? r.rollout.environmentKey,
      fromMs: from,
      metrics: [...windows.keys()].join(','),
      sums: sums.join(','),
      from: iso(from),
      hoursFrom: iso(first?.hoursFrom ?? from),
      hoursTo: iso(first?.hoursTo ?? from),
      skipTo: iso(sketched.reduce((t, [, win]) => Math.min(t, win.skipTo), first?.skipTo ?? from)),
    };
  });
  const columns = `m.metric, m.cohort, m.variant, m.count::float8 as count, m.sum, m.sum_sq, m.events, m.histogram, m.hll`;
  // Metric keys cannot hold a comma, so each request's metrics travel as one comma-separated text.
  const rows = await db.query<MetricRow>(
    `with r as (
       select r.i, e.id as environment_id, r.flag_key, r.metrics, r.sums, r.from_minute, r.hours_from, r.hours_to, r.skip_to
         from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
              as r(i, project_id, environment_key, flag_key, metrics, sums, from_minute, hours_from, hours_to, skip_to)
         join environments e on e.project_id = r.project_id and e.key = r.environment_key
     )
     select 'm' as source, r.i, (extract(epoch from m.minute) * 1000)::float8 as ms, ${columns}
       from r join metric_minutes m on m.environment_id = r.environment_id and m.flag_key = r.flag_key and m.metric = any(string_to_array(r.metrics, ','))
      where m.minute >= r.from_minute and m.minute <= $11::timestamptz
        and (m.metric = any(string_to_array(r.sums, ',')) or m.minute < r.hours_from or m.minute >= r.skip_to)
     union all
     select 'h', r.i, (extract(epoch from m.hour) * 1000)::float8, ${columns}
       from r join metric_hours m on m.environment_id = r.environment_id and m.flag_key = r.flag_key and m.metric = any(string_to_array(r.metrics, ','))
      where m.hour >= r.hours_from and m.hour < r.hours_to and not (m.metric = any(string_to_array(r.sums, ',')))
     union all
     select 'a', r.i, 0, '', c.cohort, c.variant, count(*)::float8, 0, 0, 0, null, null
       from r join metric_contexts c on c.environment_id = r.environment_id and c.flag_key = r.flag_key and c.last_seen >= r.from_minute
      group by r.i, c.cohort, c.variant`,
    [
      requests.map((_, i) => i),
      requests.map((r) => r.rollout.projectId),
      plans.map((p) => p.environmentKey),
      requests.map((r) => r.rollout.flagKey),
      plans.map((p) => p.metrics),
      plans.map((p) => p.sums),
      plans.map((p) => p.from),
      plans.map((p) => p.hoursFrom),
      plans.map((p) => p.hoursTo),
      plans.map((p) => p.skipTo),
      iso(now),
    ],
  );

  const byRequest: Map<string, MetricTotals>[] = requests.map(() => new Map());
  const assignmentRows: { cohort: Cohort; variant: string; n: number }[][] = requests.map(() => []);
  for (const row of rows) {
    const i = Number(row.i);
    const p = plans[i];
    if (p === undefined) continue;
    if (row.source === 'a') {
      assignmentRows[i]?.push({ cohort: row.cohort, variant: row.variant, n: Number(row.count) });
      continue;
    }
    const window = p.windows.get(row.metric);
    if (window === undefined) continue;
    const kind = p.readings.get(row.metric)?.kind;
    let totals = byRequest[i]?.get(row.metric);
    if (totals === undefined) {
      totals = new MetricTotals(window);
      byRequest[i]?.set(row.metric, totals);
    }
    totals.add(row, kind === 'quantile', kind === 'unique' || row.metric === EXPOSURES);
  }

  return requests.map((r, i): Observations => {
    const p = plans[i] as (typeof plans)[number];
    const totals = byRequest[i] as Map<string, MetricTotals>;
    const exposures = totals.get(EXPOSURES);
    const metrics: Record<string, MetricObservation> = {};
    for (const key of p.keys) {
      const reading = p.readings.get(key) as Reading;
      const t = totals.get(key);
      if (t !== undefined) metrics[key] = observationOf(r.stage, key, reading, t, exposures);
      // A count metric without rows has observed zero events over the exposures, if there were any.
      else if (reading.kind === 'count' && exposures !== undefined) metrics[key] = observationOf(r.stage, key, reading, new MetricTotals(p.windows.get(key) as MetricWindow), exposures);
    }
    const counts = assignmentRows[i] ?? [];
    const treatmentRows = counts.filter((c) => c.cohort === 'treatment');
    const observations: Observations = {
      metrics,
      window: { from: p.fromMs, overlapMs: r.rollout.state.stageStartedAt - p.fromMs },
      assignments: {
        treatment: treatmentRows.reduce((n, c) => n + c.n, 0),
        control: counts.filter((c) => c.cohort === 'control').reduce((n, c) => n + c.n, 0),
      },
    };
    if (splitsVariants(r.stage, treatmentRows.map((c) => c.variant))) {
      const variants: Record<string, number> = {};
      for (const c of treatmentRows) if (c.variant !== '') variants[c.variant] = (variants[c.variant] ?? 0) + c.n;
      if (Object.keys(variants).length > 0 && observations.assignments !== undefined) observations.assignments.variants = variants;
    }
    const dropped = droppedOf(totals.get(DROPPED_EXPOSURES), totals.get(DROPPED_METRICS));
    if (dropped !== undefined) observations.dropped = dropped;
    return observations;
  });
}

/**
 * The controller's source, with a batched read for a whole tick.
 * `prefetch(requests, now)` reads every request at once; a later call for one
 * of them with the same `now` (and the same stage) is answered from it, once.
 * Any other call reads that rollout alone.
 */
export interface MetricsObservationSource extends ObservationSource {
  prefetch(requests: readonly ObservationRequest[], now: number): Promise<void>;
}

const requestKey = (rollout: RolloutRecord, stage: Stage, now: number) => `${rollout.id}\u0000${stage.id}\u0000${rollout.state.stageStartedAt}\u0000${now}`;

/**
 * Reads observations from `db`.
 *
 * @example
 * const source = metricsObservationSource(db);
 * await source.prefetch(rollouts.map((rollout) => ({ rollout, plan: plans.get(rollout.planId), stage })), now); // two queries
 * const observations = await source(rollout, plan, stage, now); // no query
 */
export function metricsObservationSource(db: Sql, options: MetricsSourceOptions = {}): MetricsObservationSource {
  let prefetched = new Map<string, Observations>();
  const source = (async (rollout: RolloutRecord, plan: Plan, stage: Stage, now: number): Promise<Observations> => {
    const key = requestKey(rollout, stage, now);
    const ready = prefetched.get(key);
    if (ready !== undefined) {
      prefetched.delete(key);
      return ready;
    }
    const [observations] = await readObservations(db, [{ rollout, plan, stage }], now, options);
    return observations as Observations;
  }) as MetricsObservationSource;
  source.prefetch = async (requests, now) => {
    // A new tick: what the previous one did not use is dropped.
    prefetched = new Map();
    if (requests.length === 0) return;
    const all = await readObservations(db, requests, now, options);
    const next = new Map<string, Observations>();
    requests.forEach((r, i) => next.set(requestKey(r.rollout, r.stage, now), all[i] as Observations));
    prefetched = next;
  };
  return source;
}
