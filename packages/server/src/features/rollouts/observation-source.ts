/**
 * Where the controller gets a rollout's observations from. The production
 * default is the composite source (features/metric-definitions/composite-source.ts):
 * each metric from the Prometheus or HTTP source its project definition
 * names, the rest from what POST /api/client/metrics stored
 * (features/metrics/metrics-source.ts); a metric without data is absent, so
 * a gated stage holds with "no data" (never advancing on silence).
 */
import type { Observations, Plan, Stage } from '@rollgate/core';
import type { RolloutRecord } from './rollout-store.js';

/**
 * The observations of `rollout`'s current `stage` at `now` (epoch ms): per
 * metric, the treatment and control aggregates over the stage and their
 * series. A metric with no entry has no data. A source that throws counts as
 * "no data" for that tick.
 */
export type ObservationSource = (rollout: RolloutRecord, plan: Plan, stage: Stage, now: number) => Promise<Observations>;

/** A source that knows nothing: every metric has no data (benchmarks and tests). */
export const noDataSource: ObservationSource = async () => ({ metrics: {} });
