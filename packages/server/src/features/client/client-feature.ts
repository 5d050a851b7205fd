import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { registerClientRoutes } from './client-routes.js';
import { registerFrontendCors } from './frontend-cors.js';
import { SnapshotHub } from './snapshot-hub.js';

/**
 * The client API: snapshots and their change stream for server SDKs, flag
 * evaluation and a version stream for browsers, served from this replica's SnapshotHub, which
 * every replica keeps current through CHANGES_CHANNEL notifications.
 */
const hubs = new WeakMap<FastifyInstance, SnapshotHub>();

/** The SnapshotHub of an app (for operations endpoints and tests). */
export function snapshotHubOf(app: FastifyInstance): SnapshotHub | undefined {
  return hubs.get(app);
}

export async function registerClientFeature(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const hub = new SnapshotHub({ db: ctx.db, logger: ctx.logger, metrics: ctx.metrics, heartbeatMs: ctx.config.heartbeatMs });
  await hub.start();
  hubs.set(app, hub);
  // End the streams before the server waits for its connections to finish...
  app.addHook('preClose', async () => hub.endStreams());
  // ...and stop listening and the timers when the app closes.
  ctx.onClose(() => hub.close());
  // A revoked token's open streams end at once, on every replica.
  const unsubscribe = ctx.tokenAuth.onChange(() => {
    hub.endRevokedStreams().catch((error: unknown) => ctx.logger.warn({ err: error }, 'cannot check streams for revoked tokens'));
  });
  ctx.onClose(unsubscribe);
  registerFrontendCors(app, ctx.config.corsOrigins);
  registerClientRoutes(app, hub, ctx.db);
}
