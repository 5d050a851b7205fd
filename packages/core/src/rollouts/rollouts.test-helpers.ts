/**
 * Builders shared by the rollout tests: healthy observations for every metric
 * a stage reads, series over the stage, and states ready to advance.
 */
import type { CohortAggregate, MetricObservation, Observations, Plan, RolloutState, SeriesInterval, Stage } from './types.js';
import { metricsReadBy } from './validate-plan.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** 2025-03-01T00:00:00Z; tests pass time explicitly, as decide requires. */
export const T0 = 1_740_787_200_000;
export const SAMPLES = 100_000;

/** A value of each catalog metric that every template's gates and matrices accept. */
export const HEALTHY: Readonly<Record<string, number>> = {
  'error-rate': 0.05,
  'response-time-avg': 150,
  'response-time-p95': 800,
  'page-load-lcp': 1500,
  'cache-hit-rate': 97,
  'db-query-time': 100,
  uptime: 99.99,
  'cpu-usage': 30,
  'memory-usage': 40,
  adoption: 85,
  'satisfaction-score': 4.5,
  nps: 60,
  'support-ticket-rate': 1,
  'support-tickets': 0,
  'forecast-accuracy': 90,
  'unhandled-exceptions': 0,
  'data-loss-events': 0,
  'user-complaints': 0,
};

const agg = (value: number, samples = SAMPLES): CohortAggregate => ({ value, samples });

/** Constant series from `from` to `to` in steps of `step`. */
export function series(from: number, to: number, step: number, treatment: number, control = treatment, samples = 1000): SeriesInterval[] {
  const out: SeriesInterval[] = [];
  for (let start = from; start < to; start += step) {
    out.push({ start, end: Math.min(start + step, to), treatment: agg(treatment, samples), control: agg(control, samples) });
  }
  return out;
}

/** Healthy observations for every metric of `stage`, with hourly series over the stage. */
export function healthy(stage: Stage, stageStartedAt: number, now: number): Observations {
  const metrics: Record<string, MetricObservation> = {};
  for (const key of metricsReadBy(stage)) {
    const v = HEALTHY[key] ?? 0;
    metrics[key] = { treatment: agg(v), control: agg(v), series: series(stageStartedAt, now, HOUR, v) };
  }
  return { metrics };
}

/** Replaces one metric's stage aggregates (leaving its series healthy). */
export function withAggregate(o: Observations, metric: string, treatment: number | undefined, control?: number, samples = SAMPLES): Observations {
  const prev = o.metrics[metric] ?? {};
  const next: MetricObservation = { ...prev };
  if (treatment === undefined) delete next.treatment;
  else next.treatment = agg(treatment, samples);
  if (control !== undefined) next.control = agg(control, samples);
  return { metrics: { ...o.metrics, [metric]: next } };
}

/** Replaces one metric's series. */
export function withSeries(o: Observations, metric: string, intervals: SeriesInterval[]): Observations {
  return { metrics: { ...o.metrics, [metric]: { ...(o.metrics[metric] ?? {}), series: intervals } } };
}

/** A running rollout at `stageIndex`, started by alice, with nothing ticked or approved. */
export function running(stageIndex: number, stageStartedAt: number, extra: Partial<RolloutState> = {}): RolloutState {
  return { status: 'running', stageIndex, stageStartedAt, startedAt: T0, startedBy: 'alice', ...extra };
}

/** A running rollout whose checklist is ticked and whose approvals are given (by bob and carol, approvers). */
export function ready(plan: Plan, stageIndex: number, stageStartedAt: number, extra: Partial<RolloutState> = {}): RolloutState {
  const stage = plan.stages[stageIndex];
  const at = stageStartedAt + MINUTE;
  return running(stageIndex, stageStartedAt, {
    checklist: (stage?.checklist ?? []).map((i) => ({ itemId: i.id, by: 'bob', at })),
    approvals: [
      { by: 'bob', role: 'approver', at, verdict: 'approve' },
      { by: 'carol', role: 'approver', at, verdict: 'approve' },
    ],
    ...extra,
  });
}
