/**
 * Test support for the rollout suites: a project with the templates'
 * environments and segments, plans inserted with SQL (until the plans API
 * exists), a movable clock, and a fake observation source that is healthy
 * unless a test overrides a metric.
 */
import { metricsReadBy, type CohortAggregate, type MetricObservation, type Observations, type Plan, type SeriesInterval } from '@rollgate/core';
import { HEALTHY, HOUR, T0 } from '../../../../core/src/rollouts/rollouts.test-helpers.js';
import { newId } from '../../internal/ids.js';
import type { Database } from '../../db/database.js';
import type { ObservationSource } from './observation-source.js';

// The same time units and healthy values as the core's rollout tests.
export { DAY, HEALTHY, HOUR, MINUTE, T0 } from '../../../../core/src/rollouts/rollouts.test-helpers.js';

/** A clock tests move by hand. */
export class TestClock {
  constructor(public now = T0) {}
  readonly clock = (): Date => new Date(this.now);
  advance(ms: number): Date {
    this.now += ms;
    return new Date(this.now);
  }
}

const agg = (value: number, samples = 100_000): CohortAggregate => ({ value, samples });

/**
 * A metric that misbehaves: `value` in the treatment cohort from `since`
 * (epoch ms) on. The stage aggregate is `aggregate` when given, else the mean
 * of the series.
 */
export interface Override {
  value: number;
  since: number;
  aggregate?: number;
}

/**
 * A fake source: healthy values for every metric a stage reads, with series
 * in `step` intervals over the stage; `overrides` replace a metric's
 * treatment value from a time on (in the series, and in the aggregate once it
 * started); `silent` returns no data at all.
 */
export class FakeSource {
  overrides = new Map<string, Override>();
  silent = false;
  step = HOUR;
  calls = 0;
  /** Per-variant treatment aggregates per metric (an experiment stage's groups). */
  variants = new Map<string, Record<string, CohortAggregate>>();
  /** Distinct contexts per cohort the source reports (the SRM check's input); none when undefined. */
  assignments: Observations['assignments'] = undefined;
  readonly source: ObservationSource = async (rollout, _plan: Plan, stage, now) => {
    this.calls++;
    if (this.silent) return { metrics: {} };
    const from = rollout.state.stageStartedAt;
    const metrics: Record<string, MetricObservation> = {};
    for (const key of metricsReadBy(stage)) {
      const healthy = HEALTHY[key] ?? 0;
      const o = this.overrides.get(key);
      const valueAt = (t: number) => (o !== undefined && t > o.since ? o.value : healthy);
      const series: SeriesInterval[] = [];
      for (let start = from; start < now; start += this.step) {
        const end = Math.min(start + this.step, now);
        series.push({ start, end, treatment: agg(valueAt(end), 1000), control: agg(healthy, 1000) });
      }
      const mean = series.length === 0 ? healthy : series.reduce((sum, i) => sum + (i.treatment?.value ?? 0), 0) / series.length;
      metrics[key] = { treatment: agg(o?.aggregate ?? (o === undefined ? healthy : mean)), control: agg(healthy), series };
    }
    for (const [key, byVariant] of this.variants) metrics[key] = { ...(metrics[key] ?? {}), variants: byVariant };
    return (this.assignments === undefined ? { metrics } : { metrics, assignments: this.assignments }) satisfies Observations;
  };
}

/** Inserts a plan (a core Plan without its id and version) at version 1, as the plans API will. */
export async function insertPlan(db: Database, projectKey: string, key: string, plan: Plan, createdBy = 'test'): Promise<string> {
  const [project] = await db.query<{ id: string }>('select id from projects where key = $1', [projectKey]);
  const id = newId('pln');
  const { id: _id, version: _version, ...definition } = plan;
  await db.query('insert into plans (id, project_id, key, name, definition, version) values ($1, $2, $3, $4, $5, 1)', [id, project?.id, key, plan.name, JSON.stringify(definition)]);
  await db.query('insert into plan_versions (plan_id, version, definition, created_by) values ($1, 1, $2, $3)', [id, JSON.stringify(definition), createdBy]);
  return id;
}
