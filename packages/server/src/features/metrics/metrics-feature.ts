/**
 * Metrics ingestion: POST /api/client/metrics (server SDK tokens), which
 * writes the per-minute rows the rollout controller's default observation
 * source (`metricsObservationSource`) reads.
 */
import type { FastifyInstance } from 'fastify';
import { metricsBatchSchema, metricsIngestResponseSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { defineRoute } from '../../http/routes.js';
import { ingestBatch } from './metrics-store.js';

export function registerMetricsFeature(app: FastifyInstance, ctx: AppContext): void {
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
      return ingestBatch(ctx.db, principal.environmentId, body.batchId, body.items, ctx.clock().getTime());
    },
  );
}
