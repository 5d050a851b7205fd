import type { MetricSeries } from '@rollgate/contract';
import { metricDefinition, metricsReadBy, type CohortAggregate, type Decision, type MetricObservation, type Observations, type SeriesInterval } from '@rollgate/core';
import type { Database } from '../../db/database.js';
import { notFound } from '../../http/errors.js';
import type { RolloutController } from '../rollouts/rollout-controller.js';
import { getRollout, loadPlanVersions } from '../rollouts/rollout-store.js';

/** Points of the difference-over-time line per gate (the guard is run once per point). */
export const SERIES_POINTS = 96;
/** Raw treatment/control values per metric, at most (longer series are merged into this many buckets). */
export const RAW_POINTS = 2_000;

/**
 * Two aggregates of one cohort as one: values weighted by samples, variances
 * pooled (within and between), exceedance counts summed. What a store's
 * merge of two intervals of minute rows gives for ratio, mean and count-like
 * metrics; for quantiles the merged value is the sample-weighted mean of the
 * intervals' quantiles (the exceedance counts, which the sequential test of a
 * quantile gate reads, are exact).
 */
export function mergeAggregates(a: CohortAggregate | undefined, b: CohortAggregate | undefined): CohortAggregate | undefined {
  if (a === undefined || a.samples <= 0) return b;
  if (b === undefined || b.samples <= 0) return a;
  const n = a.samples + b.samples;
  const value = (a.value * a.samples + b.value * b.samples) / n;
  const out: CohortAggregate = { value, samples: n };
  if (a.variance !== undefined && b.variance !== undefined && n > 1) {
    const within = (a.samples - 1) * a.variance + (b.samples - 1) * b.variance;
    const between = a.samples * (a.value - value) ** 2 + b.samples * (b.value - value) ** 2;
    out.variance = (within + between) / (n - 1);
  }
  if (a.exceeding !== undefined && b.exceeding !== undefined) {
    const counts = new Map<number, number>();
    for (const e of [...a.exceeding, ...b.exceeding]) counts.set(e.bound, (counts.get(e.bound) ?? 0) + e.count);
    out.exceeding = [...counts].map(([bound, count]) => ({ bound, count })).sort((x, y) => x.bound - y.bound);
  }
  return out;
}

/** `series` merged into at most `buckets` consecutive intervals. */
export function downsample(series: readonly SeriesInterval[], buckets: number): SeriesInterval[] {
  if (series.length <= buckets) return [...series];
  const per = Math.ceil(series.length / buckets);
  const out: SeriesInterval[] = [];
  for (let i = 0; i < series.length; i += per) {
    const chunk = series.slice(i, i + per);
    let treatment: CohortAggregate | undefined;
    let control: CohortAggregate | undefined;
    for (const c of chunk) {
      treatment = mergeAggregates(treatment, c.treatment);
      control = mergeAggregates(control, c.control);
    }
    const first = chunk[0] as SeriesInterval;
    const last = chunk[chunk.length - 1] as SeriesInterval;
    out.push({ start: first.start, end: last.end, ...(treatment ? { treatment } : {}), ...(control ? { control } : {}) });
  }
  return out;
}

/**
 * The data of a rollout's metric tiles for its current stage. Every point of
 * a gate's line is the guard itself (the controller's `decide`, with the
 * project's catalog) run on the stage's data up to that time, so the tile
 * shows exactly the estimate, interval and verdict the controller had; the
 * last point is the decision now, on the stage aggregates the source gives.
 */
export async function metricSeries(db: Database, controller: RolloutController, projectKey: string, rolloutId: string, requestedAt: number): Promise<MetricSeries> {
  let now = requestedAt;
  const r = await getRollout(db, rolloutId);
  if (r === undefined || r.projectKey !== projectKey) throw notFound('rollout', `${projectKey}/${rolloutId}`);
  const plan = (await loadPlanVersions(db, [{ planId: r.planId, version: r.planVersion }])).get(`${r.planId}:${r.planVersion}`);
  if (plan === undefined) throw notFound('plan version', `${r.planKey}@${r.planVersion}`);
  const stageIndex = r.state.stageIndex;
  const stage = plan.stages[stageIndex];
  const stageStartedAt = r.state.stageStartedAt;
  if (stage === undefined) return { rolloutId: r.id, stageIndex, stageName: '', stageStartedAt, now, metrics: [] };
  const active = r.status === 'running' || r.status === 'held' || r.status === 'awaiting_approval';
  // A finished rollout shows its last stage as the controller last judged it (what led to a rollback).
  const stoppedAt = r.state.lastDecisionAt ?? Date.parse(r.updatedAt);
  if (!active) now = Math.max(stageStartedAt, Math.min(now, stoppedAt));
  const observations: Observations = r.status === 'draft' ? { metrics: {} } : await controller.observe(r, plan, now);
  const catalog = await controller.catalogOf(r.projectId);
  // A finished rollout is judged as it was while its last stage ran, so its tiles show why it stopped.
  const judged = active ? r.state : { ...r.state, status: 'running' as const };
  const final = controller.decide(plan, judged, observations, now, catalog);
  const base = { rolloutId: r.id, stageIndex, stageName: stage.name, stageStartedAt, now };

  // The guard at earlier times of the stage: each metric's series up to t, merged.
  const keys = metricsReadBy(stage);
  const times: number[] = [];
  const span = Math.max(0, now - stageStartedAt);
  for (let i = 1; i < SERIES_POINTS; i++) times.push(stageStartedAt + (span * i) / SERIES_POINTS);
  const sorted = new Map(keys.map((k) => [k, [...(observations.metrics[k]?.series ?? [])].sort((a, b) => a.end - b.end)]));
  const cursor = new Map(keys.map((k) => [k, { i: 0, treatment: undefined as CohortAggregate | undefined, control: undefined as CohortAggregate | undefined }]));
  const past: { t: number; decision: Decision }[] = [];
  for (const t of times) {
    const metrics: Record<string, MetricObservation | undefined> = {};
    for (const key of keys) {
      const series = sorted.get(key) ?? [];
      const c = cursor.get(key) as { i: number; treatment: CohortAggregate | undefined; control: CohortAggregate | undefined };
      while (c.i < series.length && (series[c.i] as SeriesInterval).end <= t) {
        const s = series[c.i] as SeriesInterval;
        c.treatment = mergeAggregates(c.treatment, s.treatment);
        c.control = mergeAggregates(c.control, s.control);
        c.i++;
      }
      if (c.treatment === undefined && c.control === undefined) continue;
      metrics[key] = { ...(c.treatment ? { treatment: c.treatment } : {}), ...(c.control ? { control: c.control } : {}), series: series.slice(0, c.i) };
    }
    past.push({ t, decision: controller.decide(plan, judged, { metrics }, t, catalog) });
  }
  past.push({ t: now, decision: final });

  return {
    ...base,
    metrics: keys.map((metric) => {
      const definition = metricDefinition(metric, catalog);
      const o = observations.metrics[metric];
      const gates = (stage.gates ?? []).filter((g) => g.metric === metric);
      return {
        metric,
        ...(definition ? { name: definition.name, unit: definition.unit, direction: definition.direction } : {}),
        ...(o?.treatment ? { treatment: { value: o.treatment.value, samples: o.treatment.samples } } : {}),
        ...(o?.control ? { control: { value: o.control.value, samples: o.control.samples } } : {}),
        gates: gates.map((gate) => {
          const now = final.evidence.gates.find((g) => g.gateId === gate.id);
          return {
            gateId: gate.id,
            role: gate.role,
            condition: { ...gate.condition },
            ...(gate.description ? { description: gate.description } : {}),
            verdict: now?.verdict ?? 'no_data',
            ...(now?.estimate !== undefined ? { estimate: now.estimate } : {}),
            ...(now?.interval ? { interval: { ...now.interval } } : {}),
            summary: now?.summary ?? 'No data yet',
            method: now?.method ?? 'none',
            points: past.map(({ t, decision }) => {
              const g = decision.evidence.gates.find((x) => x.gateId === gate.id);
              return { t, estimate: g?.estimate ?? null, lower: g?.interval?.lower ?? null, upper: g?.interval?.upper ?? null, verdict: g?.verdict ?? 'no_data' };
            }),
          };
        }),
        matrices: final.evidence.matrices.filter((m) => m.metric === metric).map((m) => ({ matrixId: m.matrixId, action: m.action, verdict: m.verdict, summary: m.summary })),
        raw: downsample(sorted.get(metric) ?? [], RAW_POINTS).map((s) => ({
          t: s.end,
          treatment: s.treatment?.value ?? null,
          control: s.control?.value ?? null,
          treatmentSamples: s.treatment?.samples ?? 0,
          controlSamples: s.control?.samples ?? 0,
        })),
      };
    }),
  };
}
