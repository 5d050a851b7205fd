/**
 * Metrics ingestion: POST /api/client/metrics (server SDK tokens), which
 * writes the per-minute rows the rollout controller's default observation
 * source (`metricsObservationSource`) reads, and the retention that deletes
 * them after ROLLGATE_METRICS_RETENTION_DAYS.
 */
import type { FastifyInstance } from 'fastify';
import { metricsBatchSchema, metricsIngestResponseSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { defineRoute } from '../../http/routes.js';
import { timeScaleOf } from '../../internal/time.js';
import { metricDefinition } from '@rollgate/core';
import { projectMetricCatalog } from '../metric-definitions/metric-definition-store.js';
import { ingestBatch, MAX_AGE_MS, pruneMetrics, type IngestOptions } from './metrics-store.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const DAY = 24 * 3600_000;
/** How often each replica deletes expired metrics. */
export const RETENTION_INTERVAL_MS = 3600_000;
/** The first run after start, so a restart loop does not skip retention forever. */
const RETENTION_FIRST_RUN_MS = 60_000;

export function registerMetricsFeature(app: FastifyInstance, ctx: AppContext): void {
  const retentionMs = ctx.config.metricsRetentionDays * DAY;
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/client/metrics',
      logLevel: 'warn',
      access: 'server',
      summary: "Records exposures and metric observations for the token's environment (idempotent per batchId)",
      tag: 'client',
      body: metricsBatchSchema,
      response: {
        status: 200,
        schema: metricsIngestResponseSchema,
        description: 'Good items stored, bad items listed by index; `duplicate: true` when the batchId was already received (nothing written again)',
      },
    },
    async ({ principal, body }) => {
      if (principal?.kind !== 'sdk') throw new Error('SDK route reached without an SDK principal');
      const options: IngestOptions = { maxAgeMs: Math.min(MAX_AGE_MS, retentionMs), atArrival: timeScaleOf(ctx.clock) !== 1 };
      // A project's own metrics have the kind their definition gives (a ratio is checked and read as one).
      const own = body.items.some((i) => isRecord(i) && typeof i.metric === 'string' && metricDefinition(i.metric) === undefined);
      if (own) {
        const catalog = await projectMetricCatalog(ctx.db, principal.projectId);
        options.kindOf = (metric) => metricDefinition(metric, catalog)?.kind;
      }
      return ingestBatch(ctx.db, principal.environmentId, body.batchId, body.items, ctx.clock().getTime(), options);
    },
  );

  // Every replica prunes: deleting the same old rows twice is harmless, and no replica depends on another.
  let running = false;
  const prune = async () => {
    if (running) return;
    running = true;
    try {
      const result = await pruneMetrics(ctx.db, ctx.clock().getTime() - retentionMs);
      if (result.minutes + result.batches + result.contexts > 0) ctx.logger.info({ ...result, retentionDays: ctx.config.metricsRetentionDays }, 'deleted expired metrics');
    } catch (error) {
      ctx.logger.warn({ err: error }, 'deleting expired metrics failed; trying again at the next interval');
    } finally {
      running = false;
    }
  };
  let first: NodeJS.Timeout | undefined;
  let every: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    first = setTimeout(() => void prune(), RETENTION_FIRST_RUN_MS);
    first.unref();
    every = setInterval(() => void prune(), RETENTION_INTERVAL_MS);
    every.unref();
  });
  ctx.onClose(() => {
    clearTimeout(first);
    clearInterval(every);
  });
}
