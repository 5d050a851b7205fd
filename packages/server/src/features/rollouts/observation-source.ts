/**
 * Where the controller gets a rollout's observations from. The production
 * default is the composite source (features/metric-definitions/composite-source.ts):
 * each metric from the Prometheus or HTTP source its project definition
 * names, the rest from what POST /api/client/metrics stored
 * (features/metrics/metrics-source.ts); a metric without data is absent, so
 * a gated stage holds with "no data" (never advancing on silence).
 */
import type { MetricDefinition, Observations, Plan, Stage } from '@rollgate/core';
import type { RolloutRecord } from './rollout-store.js';

/**
 * The observations of `rollout`'s current `stage` at `now` (epoch ms): per
 * metric, the treatment and control aggregates over the stage and their
 * series. A metric with no entry has no data. A source that throws counts as
 * "no data" for that tick.
 */
export type ObservationSource = ((rollout: RolloutRecord, plan: Plan, stage: Stage, now: number) => Promise<Observations>) & {
  /**
   * Optional batched read of a whole tick: the controller calls it with every
   * rollout it is about to decide, then the source per rollout with the same
   * `now`, which a prefetching source answers without a query.
   */
  prefetch?: (requests: readonly ObservationRequest[], now: number) => Promise<void>;
};

/** One rollout of a tick: the rollout, its plan version and its current stage. */
export interface ObservationRequest {
  rollout: RolloutRecord;
  plan: Plan;
  stage: Stage;
}

/**
 * The metric catalogs (built-ins and each project's own definitions) of the
 * given projects, in one read; every project asked for has an entry.
 */
export type CatalogLoader = (projectIds: readonly string[]) => Promise<ReadonlyMap<string, readonly MetricDefinition[]>>;

/** A source that knows nothing: every metric has no data (benchmarks and tests). */
export const noDataSource: ObservationSource = async () => ({ metrics: {} });
