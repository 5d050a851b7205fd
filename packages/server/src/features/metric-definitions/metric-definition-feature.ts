import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { sqlFlagStore } from '../flags/flag-store.js';
import { appMetricSources } from './composite-source.js';
import { registerMetricDefinitionRoutes } from './metric-definition-routes.js';
import { MetricDefinitionService } from './metric-definition-service.js';
import { sqlMetricDefinitionStore } from './metric-definition-store.js';

/** Metric definitions per project, the project's metric list, and test reads of a metric's source. */
export function registerMetricDefinitionFeature(app: FastifyInstance, ctx: AppContext): void {
  registerMetricDefinitionRoutes(
    app,
    new MetricDefinitionService(ctx.db, ctx.stores.projects, ctx.stores.environments, sqlFlagStore, sqlMetricDefinitionStore, appMetricSources(ctx), ctx.clock),
  );
}
