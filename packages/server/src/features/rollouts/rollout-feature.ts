import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { realIntervalMs } from '../../internal/time.js';
import { appMetricSources } from '../metric-definitions/composite-source.js';
import { projectMetricCatalogs } from '../metric-definitions/metric-definition-store.js';
import type { ObservationSource } from './observation-source.js';
import { RolloutController } from './rollout-controller.js';
import { registerRolloutRoutes } from './rollout-routes.js';
import { RolloutService } from './rollout-service.js';

/** What the rollouts feature exposes on an app, for tests and for the metrics feature to plug its source in. */
export interface RolloutFeature {
  controller: RolloutController;
  service: RolloutService;
  /** Replaces the observation source (default: each metric from its project source, pushed metrics otherwise: `appMetricSources`). */
  setObservationSource(source: ObservationSource): void;
}

const features = new WeakMap<FastifyInstance, RolloutFeature>();

/** The rollouts feature of `app`. */
export function rolloutFeatureOf(app: FastifyInstance): RolloutFeature {
  const feature = features.get(app);
  if (feature === undefined) throw new Error('the rollouts feature is not registered on this app');
  return feature;
}

/** Staged rollouts: the API, and the controller ticking every `rolloutTickMs` of the clock's time (stopped when the app closes). */
export function registerRolloutFeature(app: FastifyInstance, ctx: AppContext): void {
  let source: ObservationSource = appMetricSources(ctx).source;
  const controller = new RolloutController({
    db: ctx.db,
    clock: ctx.clock,
    logger: ctx.logger,
    source: () => source,
    catalogs: (projectIds) => projectMetricCatalogs(ctx.db, projectIds),
  });
  const service = new RolloutService(ctx.db, ctx.stores.projects, ctx.clock, controller);
  registerRolloutRoutes(app, service);
  features.set(app, {
    controller,
    service,
    setObservationSource: (next) => {
      source = next;
    },
  });
  // The tick interval is in the clock's time: an accelerated clock ticks as often per simulated minute.
  const tickMs = ctx.config.rolloutTickMs;
  app.addHook('onReady', async () => controller.start(tickMs > 0 ? realIntervalMs(ctx.clock, tickMs) : 0));
  ctx.onClose(() => controller.stop());
}
