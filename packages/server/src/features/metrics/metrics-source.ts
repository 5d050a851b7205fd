/**
 * The production observation source: a rollout's current stage, read from the
 * per-minute rows that POST /api/client/metrics writes.
 *
 * One query per rollout and tick: every row of the rollout's flag in the
 * stage's environment, for the metrics the stage's gates and matrices read,
 * from the stage's start to now; the stage aggregates and the per-minute
 * series are summed from those rows in memory. A 48-hour stage is at most
 * 2,880 rows per metric and cohort.
 */
import { metricDefinition, metricsReadBy, type CohortAggregate, type MetricObservation, type SeriesInterval } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import type { ObservationSource } from '../rollouts/observation-source.js';

const MINUTE = 60_000;

/**
 * How a metric's rows become a value, or undefined when sums cannot say:
 * quantiles need histograms and unique counts need sketches (both later), so
 * those metrics stay without data rather than showing a wrong number.
 */
type Reader = 'ratio' | 'mean' | 'gauge' | 'count';
function readerOf(metric: string): Reader | undefined {
  const kind = metricDefinition(metric)?.kind;
  if (kind === undefined) return 'mean'; // a project's own metric
  if (kind === 'quantile' || kind === 'unique') return undefined;
  return kind;
}

interface Totals {
  count: number;
  sum: number;
  sumSq: number;
  events: number;
}

/** The aggregate of `t` in the metric's unit; undefined without samples. */
export function aggregateOf(reader: Reader, t: Totals): CohortAggregate | undefined {
  if (t.count <= 0) return undefined;
  switch (reader) {
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

const add = (a: Totals | undefined, b: Totals): Totals =>
  a === undefined ? { ...b } : { count: a.count + b.count, sum: a.sum + b.sum, sumSq: a.sumSq + b.sumSq, events: a.events + b.events };

interface Row {
  cohort: 'treatment' | 'control';
  metric: string;
  ms: number;
  count: number;
  sum: number;
  sum_sq: number;
  events: number;
}

/**
 * Reads observations from `db`. The window starts at the first whole minute
 * at or after `state.stageStartedAt` (so the previous stage's audience never
 * counts) and ends with the minute holding `now`. A metric without rows is
 * absent: no data, never zero.
 */
export function metricsObservationSource(db: Sql): ObservationSource {
  return async (rollout, _plan, stage, now) => {
    const keys = metricsReadBy(stage).filter((k) => readerOf(k) !== undefined);
    if (keys.length === 0) return { metrics: {} };
    const from = Math.ceil(rollout.state.stageStartedAt / MINUTE) * MINUTE;
    const environmentKey = stage.environment ?? rollout.environmentKey;
    const rows = await db.query<Row>(
      `select m.cohort, m.metric, (extract(epoch from m.minute) * 1000)::float8 as ms,
              m.count::float8 as count, m.sum, m.sum_sq, m.events
         from metric_minutes m join environments e on e.id = m.environment_id
        where e.project_id = $1 and e.key = $2 and m.flag_key = $3 and m.metric = any($4::text[])
          and m.minute >= $5::timestamptz and m.minute <= $6::timestamptz
        order by m.metric, m.minute`,
      [rollout.projectId, environmentKey, rollout.flagKey, keys, new Date(from).toISOString(), new Date(now).toISOString()],
    );
    const byMetric = new Map<string, { stage: Partial<Record<Row['cohort'], Totals>>; minutes: Map<number, Partial<Record<Row['cohort'], Totals>>> }>();
    for (const r of rows) {
      let m = byMetric.get(r.metric);
      if (m === undefined) {
        m = { stage: {}, minutes: new Map() };
        byMetric.set(r.metric, m);
      }
      const t: Totals = { count: Number(r.count), sum: Number(r.sum), sumSq: Number(r.sum_sq), events: Number(r.events) };
      m.stage[r.cohort] = add(m.stage[r.cohort], t);
      const ms = Number(r.ms);
      const minute = m.minutes.get(ms) ?? {};
      minute[r.cohort] = add(minute[r.cohort], t);
      m.minutes.set(ms, minute);
    }
    const metrics: Record<string, MetricObservation> = {};
    for (const [metric, m] of byMetric) {
      const reader = readerOf(metric);
      if (reader === undefined) continue;
      const series: SeriesInterval[] = [];
      for (const [start, cohorts] of [...m.minutes].sort((a, b) => a[0] - b[0])) {
        const interval: SeriesInterval = { start, end: start + MINUTE };
        const treatment = cohorts.treatment && aggregateOf(reader, cohorts.treatment);
        const control = cohorts.control && aggregateOf(reader, cohorts.control);
        if (treatment !== undefined) interval.treatment = treatment;
        if (control !== undefined) interval.control = control;
        series.push(interval);
      }
      const observation: MetricObservation = { series };
      const treatment = m.stage.treatment && aggregateOf(reader, m.stage.treatment);
      const control = m.stage.control && aggregateOf(reader, m.stage.control);
      if (treatment !== undefined) observation.treatment = treatment;
      if (control !== undefined) observation.control = control;
      metrics[metric] = observation;
    }
    return { metrics };
  };
}
