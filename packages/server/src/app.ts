import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import type { AppContext } from './app-context.js';
import type { ServerConfig } from './config.js';
import type { Database } from './db/database.js';
import { bearerToken } from './http/auth.js';
import { AuthThrottle } from './http/auth-throttle.js';
import { installErrorHandling } from './http/error-handler.js';
import { ApiError } from './http/errors.js';
import { installInputGuard } from './http/input-guard.js';
import { logRequest } from './http/log-redaction.js';
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
import { registerSessionFeature } from './features/sessions/session-feature.js';
import { registerDashboardFeature, type DashboardOptions } from './features/dashboard/dashboard-feature.js';

/** The package version, reported by /healthz and the OpenAPI document. */
export const SERVER_VERSION = '0.1.0';

export interface BuildAppOptions {
  config: ServerConfig;
  /** An open, migrated database. The app does not own it: close it after the app. */
  db: Database;
  clock?: Clock;
  /** Where the request log goes (default stdout), e.g. for tests that read it. */
  logStream?: { write(line: string): void };
  /** Where the built dashboard is (default packages/web/dist). */
  dashboard?: DashboardOptions;
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
      serializers: { req: logRequest },
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    },
    bodyLimit: config.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: true,
    // A named option type: a union here would confuse Fastify's server-type overloads.
    trustProxy: config.trustProxy as FastifyServerOptions['trustProxy'],
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
  const throttle = new AuthThrottle({ perToken: config.authFailuresPerToken, perAddress: config.authFailuresPerAddress, windowMs: config.authFailureWindowMs });
  app.addHook('onClose', async () => {
    for (const fn of closers.reverse()) await fn();
  });

  // JSON only: any other body is a 415, not a string for the schema to trip on.
  app.removeContentTypeParser(['text/plain']);
  installErrorHandling(app, config.bodyLimit);
  installInputGuard(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const secret = bearerToken(request.headers.authorization);
    if (secret === undefined) return;
    const waitMs = throttle.retryAfterMs(request.ip, secret);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      reply.header('retry-after', String(seconds));
      throw new ApiError('TOO_MANY_AUTH_FAILURES', `Too many failed authentications from this client; try again in ${seconds} s with a valid token`, { retryAfterSeconds: seconds });
    }
    request.principal = await tokenAuth.authenticate(secret);
    if (request.principal === undefined) throttle.failed(request.ip, secret);
  });

  registerSessionFeature(app, ctx);

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
  await registerDashboardFeature(app, ctx, options.dashboard);
  return app;
}
