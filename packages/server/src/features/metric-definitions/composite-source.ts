/**
 * The app's observation source: for a rollout's current stage, each metric
 * the stage reads comes from where the project says. Metrics whose project
 * definition has a Prometheus or HTTP source are read from there (all of
 * them at once, each request with its timeout, each reading kept for the
 * minute); everything else (push definitions, built-in metrics without a
 * project source) comes from the push source, the metrics that SDKs and
 * `POST /api/client/metrics` send, whose result is merged in as it is.
 *
 * A source that fails, times out or returns nothing leaves its metric out of
 * the observations: the rollout holds with "no data for <metric>", never
 * passes on silence. Why is logged (warn, once per reading) and answered by
 * the test read (`POST /api/projects/:projectKey/metrics/:metricKey/read`).
 */
import { metricsObservedBy, type Cohort, type MetricObservation, type Observations, type Plan, type Stage } from '@rollgate/core';
import type { AppContext } from '../../app-context.js';
import type { Sql } from '../../db/database.js';
import type { Logger } from '../../internal/logger.js';
import { metricsObservationSource } from '../metrics/metrics-source.js';
import type { ObservationRequest, ObservationSource } from '../rollouts/observation-source.js';
import type { RolloutRecord } from '../rollouts/rollout-store.js';
import { externalSources, externalSourcesOfProjects, projectMetricCatalogs, type MetricSourceRecord } from './metric-definition-store.js';
import { addressPolicy } from './sources/address-policy.js';
import { guardedFetch } from './sources/guarded-fetch.js';
import { readHttpJson } from './sources/http-json-source.js';
import { jsonClient, type JsonClient } from './sources/json-client.js';
import { readPrometheus } from './sources/prometheus-source.js';
import { ReadingCache } from './sources/reading-cache.js';
import { messageOf, type MetricReading, type ReadRequest } from './sources/reading.js';

/** Why a metric (or one cohort of it) has no data this time. */
export interface MetricProblem {
  metric: string;
  source: 'push' | 'prometheus' | 'http';
  cohort: Cohort | null;
  message: string;
}

/** One rollout of a tick: the rollout, its plan and its current stage. */
export type SourceRequest = ObservationRequest;

/**
 * The controller's source, with a batched read for a whole tick: `prefetch`
 * loads every rollout's definitions in one query and passes the requests on
 * to the push source when it can prefetch too.
 */
export interface CompositeObservationSource extends ObservationSource {
  prefetch(requests: readonly SourceRequest[], now: number): Promise<void>;
}

/** A push source that reads a whole tick at once (`metricsObservationSource` does). */
type Prefetching = { prefetch?: (requests: readonly SourceRequest[], now: number) => Promise<void> };

export interface MetricSourcesOptions {
  db: Sql;
  /** The push source (`metricsObservationSource`), asked for everything not read elsewhere. */
  push: ObservationSource;
  logger: Logger;
  /** ROLLGATE_PROMETHEUS_URL. */
  prometheusUrl?: string;
  client?: JsonClient;
  /**
   * Host names, addresses and CIDR ranges HTTP JSON sources may reach
   * besides public addresses (ROLLGATE_METRIC_SOURCE_ALLOW); ignored when
   * `client` is given.
   */
  allow?: readonly string[];
  /** Interval of Prometheus series (default one minute; tests shorten it). */
  seriesStepMs?: number;
}

/**
 * The composite source. `source` is the `ObservationSource` the rollout
 * controller calls (with `prefetch` for a whole tick); `observe` also
 * returns the problems.
 *
 * @example
 * const sources = new MetricSources({ db, push: metricsObservationSource(db), logger, prometheusUrl: config.prometheusUrl });
 * rolloutFeatureOf(app).setObservationSource(sources.source);
 */
export class MetricSources {
  private readonly client: JsonClient;
  /** HTTP JSON sources' client: their URLs are an editor's, so it connects only where the address policy allows. */
  private readonly httpClient: JsonClient;
  private readonly cache = new ReadingCache();

  constructor(private readonly options: MetricSourcesOptions) {
    this.client = options.client ?? jsonClient();
    this.httpClient = options.client ?? jsonClient({ fetch: guardedFetch(addressPolicy(options.allow)) });
  }

  /** Definitions loaded by the last prefetch, for the `now` it was for. */
  private prefetched: { now: number; byProject: Map<string, MetricSourceRecord[]> } | undefined;

  readonly source: CompositeObservationSource = Object.assign(
    async (rollout: RolloutRecord, plan: Plan, stage: Stage, now: number) => (await this.observe(rollout, plan, stage, now)).observations,
    { prefetch: (requests: readonly SourceRequest[], now: number) => this.prefetch(requests, now) },
  );

  /** Reads what a tick's rollouts need in a few queries; later calls of the tick (same `now`) use it. */
  async prefetch(requests: readonly SourceRequest[], now: number): Promise<void> {
    this.prefetched = undefined;
    const [, byProject] = await Promise.all([
      (this.options.push as Prefetching).prefetch?.(requests, now),
      externalSourcesOfProjects(
        this.options.db,
        requests.map((r) => r.rollout.projectId),
      ),
    ]);
    this.prefetched = { now, byProject };
  }

  private async externalSources(projectId: string, keys: readonly string[], now: number): Promise<MetricSourceRecord[]> {
    const ready = this.prefetched?.now === now ? this.prefetched.byProject.get(projectId) : undefined;
    if (ready !== undefined) return ready.filter((d) => keys.includes(d.key));
    return externalSources(this.options.db, projectId, keys);
  }

  /** The observations of `rollout`'s current `stage` at `now`, and why any metric has no data. */
  async observe(rollout: RolloutRecord, plan: Plan, stage: Stage, now: number): Promise<{ observations: Observations; problems: MetricProblem[] }> {
    const keys = metricsObservedBy(stage);
    const external = keys.length === 0 ? [] : await this.externalSources(rollout.projectId, keys, now);
    const pushed = this.options
      .push(rollout, plan, stage, now)
      .then((observations) => ({ observations, error: undefined }))
      .catch((error: unknown) => ({ observations: { metrics: {} } as Observations, error }));
    const environmentKey = stage.environment ?? rollout.environmentKey;
    const readings = Promise.all(
      external.map(async (definition) => ({
        definition,
        reading: await this.read(definition, {
          metric: definition.key,
          kind: definition.kind,
          projectKey: rollout.projectKey,
          flagKey: rollout.flagKey,
          environmentKey,
          stageStartedAt: rollout.state.stageStartedAt,
          now,
        }),
      })),
    );
    const [push, read] = await Promise.all([pushed, readings]);

    const problems: MetricProblem[] = [];
    if (push.error !== undefined) {
      this.options.logger.warn({ err: push.error, rolloutId: rollout.id }, 'the push metrics source failed; its metrics have no data this tick');
      for (const key of keys) {
        if (!external.some((d) => d.key === key)) problems.push({ metric: key, source: 'push', cohort: null, message: `the push metrics source failed: ${messageOf(push.error)}` });
      }
    }
    const metrics: Record<string, MetricObservation | undefined> = { ...push.observations.metrics };
    for (const { definition, reading } of read) {
      // Read elsewhere: whatever the push source found under this key does not count.
      delete metrics[definition.key];
      if (reading.observation !== undefined) metrics[definition.key] = reading.observation;
      for (const p of reading.problems) problems.push({ metric: definition.key, source: definition.source.type as 'prometheus' | 'http', ...p });
    }
    return { observations: { ...push.observations, metrics }, problems };
  }

  /** One metric's reading, from the cache when it was read in this minute already. */
  private async read(definition: MetricSourceRecord, req: ReadRequest): Promise<MetricReading> {
    const key = JSON.stringify([definition.id, definition.version, req.projectKey, req.flagKey, req.environmentKey, req.stageStartedAt]);
    const { reading, fresh } = this.cache.get(key, req.now, () => this.readNow(definition, req));
    const result = await reading.catch((error: unknown): MetricReading => ({ observation: undefined, problems: [{ cohort: null, message: messageOf(error) }] }));
    if (fresh && result.problems.length > 0) {
      this.options.logger.warn(
        { metric: definition.key, source: definition.source.type, projectKey: req.projectKey, flagKey: req.flagKey, environmentKey: req.environmentKey, problems: result.problems },
        `metric ${definition.key}: ${result.observation === undefined ? 'no data' : 'partly no data'} from its ${definition.source.type} source`,
      );
    }
    return result;
  }

  private async readNow(definition: MetricSourceRecord, req: ReadRequest): Promise<MetricReading> {
    const source = definition.source;
    switch (source.type) {
      case 'prometheus':
        return readPrometheus(source, req, { client: this.client, defaultBaseUrl: this.options.prometheusUrl, stepMs: this.options.seriesStepMs });
      case 'http':
        return readHttpJson(source, req, this.httpClient);
      default:
        return { observation: undefined, problems: [{ cohort: null, message: `unknown source type ${JSON.stringify((source as { type?: unknown }).type)}` }] };
    }
  }
}

/**
 * The composite source of an app: pushed metrics from the metrics feature,
 * Prometheus at the configured ROLLGATE_PROMETHEUS_URL by default.
 */
export function appMetricSources(ctx: Pick<AppContext, 'db' | 'logger' | 'config'>): MetricSources {
  const push = metricsObservationSource(ctx.db, { catalogs: (ids) => projectMetricCatalogs(ctx.db, ids) });
  return new MetricSources({ db: ctx.db, push, logger: ctx.logger, prometheusUrl: ctx.config.prometheusUrl, allow: ctx.config.metricSourceAllow });
}
