import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { AppContext } from './app-context.js';
import type { ServerConfig } from './config.js';
import type { Database } from './db/database.js';
import { bearerToken } from './http/auth.js';
import { installErrorHandling } from './http/error-handler.js';
import { clockFor, type Clock } from './internal/time.js';
import { registerAuditRoutes } from './features/audit/audit-routes.js';
import { registerClientFeature } from './features/client/client-feature.js';
import { sqlEnvironmentStore } from './features/environments/environment-store.js';
import { EnvironmentService } from './features/environments/environment-service.js';
import { registerEnvironmentRoutes } from './features/environments/environment-routes.js';
import { registerFlagFeature } from './features/flags/flag-feature.js';
import { registerMetricDefinitionFeature } from './features/metric-definitions/metric-definition-feature.js';
import { registerMetricsFeature } from './features/metrics/metrics-feature.js';
import { registerOpsFeature } from './features/ops/ops-feature.js';
import { registerPlanFeature } from './features/plans/plan-feature.js';
import { sqlProjectStore } from './features/projects/project-store.js';
import { ProjectService } from './features/projects/project-service.js';
import { registerProjectRoutes } from './features/projects/project-routes.js';
import { registerRolloutFeature } from './features/rollouts/rollout-feature.js';
import { registerSegmentFeature } from './features/segments/segment-feature.js';
import { TokenAuthenticator } from './features/tokens/token-auth.js';
import { sqlTokenStore } from './features/tokens/token-store.js';
import { registerTokenFeature } from './features/tokens/token-feature.js';
import { registerUserFeature } from './features/users/user-feature.js';

/** The package version, reported by /healthz and the OpenAPI document. */
export const SERVER_VERSION = '0.1.0';

export interface BuildAppOptions {
  config: ServerConfig;
  /** An open, migrated database. The app does not own it: close it after the app. */
  db: Database;
  clock?: Clock;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Builds the Rollgate HTTP app without listening, so tests can `inject`.
 *
 * @example
 * const app = await buildApp({ config: defaultConfig(), db });
 * const res = await app.inject({ method: 'GET', url: '/healthz' });
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, db } = options;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.secret', '*.adminToken', '*.databaseUrl', 'secret'],
        censor: '[redacted]',
      },
    },
    bodyLimit: config.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  const closers: (() => Promise<void> | void)[] = [];
  const tokenAuth = new TokenAuthenticator(db, sqlTokenStore, app.log);
  const ctx: AppContext = {
    config,
    db,
    logger: app.log,
    clock: options.clock ?? clockFor(config),
    version: SERVER_VERSION,
    stores: { projects: sqlProjectStore, environments: sqlEnvironmentStore, tokens: sqlTokenStore },
    tokenAuth,
    metrics: new Registry(),
    onClose: (fn) => closers.push(fn),
  };
  closers.push(await tokenAuth.start());
  app.addHook('onClose', async () => {
    for (const fn of closers.reverse()) await fn();
  });

  // JSON only: any other body is a 415, not a string for the schema to trip on.
  app.removeContentTypeParser(['text/plain']);
  installErrorHandling(app, config.bodyLimit);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const secret = bearerToken(request.headers.authorization);
    if (secret !== undefined) request.principal = await tokenAuth.authenticate(secret);
  });

  // Until the dashboard is built, the root page says so and links to what exists.
  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rollgate</title></head><body style="font-family:system-ui;max-width:40rem;margin:3rem auto">` +
          `<h1>Rollgate ${SERVER_VERSION}</h1><p>The server is running. The dashboard is not built yet.</p>` +
          `<ul><li><a href="/docs">API documentation</a> (<a href="/openapi.json">OpenAPI</a>)</li><li><a href="/healthz">Health</a> and <a href="/readyz">readiness</a></li><li><a href="/metrics">Prometheus metrics</a></li></ul>` +
          `<p>Call the API with the admin token printed on the first start: <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>`,
      ),
  );

  const projects = new ProjectService(db, sqlProjectStore);
  const environments = new EnvironmentService(db, sqlProjectStore, sqlEnvironmentStore);
  registerProjectRoutes(app, projects);
  registerEnvironmentRoutes(app, environments);
  registerAuditRoutes(app, ctx);
  registerUserFeature(app, ctx);
  registerTokenFeature(app, ctx);
  registerSegmentFeature(app, ctx);
  registerPlanFeature(app, ctx);
  registerMetricDefinitionFeature(app, ctx);
  registerFlagFeature(app, ctx);
  registerRolloutFeature(app, ctx);
  registerMetricsFeature(app, ctx);
  await registerClientFeature(app, ctx);
  await registerOpsFeature(app, ctx);
  return app;
}
