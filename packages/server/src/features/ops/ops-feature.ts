import { fastifySwagger } from '@fastify/swagger';
import { fastifySwaggerUi } from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import { errorBodySchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { migrationsPending } from '../../db/migrate.js';
import { ApiError } from '../../http/errors.js';
import { timeScaleOf } from '../../internal/time.js';
import { buildOpenApiDocument, defineRoute } from '../../http/routes.js';
import { hoistSchemaDefinitions } from './openapi-components.js';

/** How long /readyz waits for the database before it answers 503. */
export const READY_TIMEOUT_MS = 3_000;

const healthSchema = z
  .object({
    status: z.literal('ok'),
    version: z.string(),
    mode: z.enum(['production', 'development', 'demo']).meta({ description: 'ROLLGATE_MODE' }),
    timeScale: z.number().meta({ description: 'How many times faster than real time the server clock runs (ROLLGATE_TIME_SCALE); 1 is real time' }),
    time: z.string().meta({ description: "The server clock's current time (ISO 8601); ahead of real time on an accelerated clock" }),
  })
  .meta({ id: 'Health' });
const readySchema = z.object({ status: z.literal('ready') }).meta({ id: 'Ready' });

/** Rejects when `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** HTTP and database-pool metrics on ctx.metrics, plus Node's default process metrics. */
function installMetrics(app: FastifyInstance, ctx: AppContext): void {
  collectDefaultMetrics({ register: ctx.metrics });
  const requests = new Counter({
    name: 'rollgate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [ctx.metrics],
  });
  const duration = new Histogram({
    name: 'rollgate_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    registers: [ctx.metrics],
  });
  new Gauge({
    name: 'rollgate_db_pool_connections',
    help: 'Database connections: total, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers: [ctx.metrics],
    collect() {
      const stats = ctx.db.stats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  const embeddedMemory = ctx.db.embeddedMemoryBytes?.bind(ctx.db);
  if (embeddedMemory !== undefined) {
    new Gauge({
      name: 'rollgate_embedded_database_memory_bytes',
      help: 'The embedded database (PGlite): size of its WASM heap, which holds shared_buffers and grows but never shrinks',
      registers: [ctx.metrics],
      collect() {
        this.set(embeddedMemory());
      },
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: label values stay few.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

/**
 * Operations: /healthz, /readyz, /metrics, /openapi.json and the browsable
 * API docs at /docs. Registered last, so every other route is known; the
 * OpenAPI document is still built on first use, after plugins have loaded.
 */
export async function registerOpsFeature(app: FastifyInstance, ctx: AppContext): Promise<void> {
  installMetrics(app, ctx);

  // @fastify/swagger (static mode) serves this object; it is filled on first use.
  const document: Record<string, unknown> = {};
  let built = false;
  const openApiDocument = (): Record<string, unknown> => {
    if (!built) {
      Object.assign(document, hoistSchemaDefinitions(buildOpenApiDocument(app, ctx.version)));
      built = true;
    }
    return document;
  };

  defineRoute(
    app,
    { method: 'GET', url: '/healthz', access: 'public', summary: 'Liveness: 200 while the process runs', tag: 'operations', response: { status: 200, schema: healthSchema } },
    async () => ({ status: 'ok', version: ctx.version, mode: ctx.config.mode, timeScale: timeScaleOf(ctx.clock), time: ctx.clock().toISOString() }),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/readyz',
      access: 'public',
      summary: 'Readiness: 200 when the database answers and no migration is pending, else 503 DATABASE_UNAVAILABLE',
      tag: 'operations',
      response: { status: 200, schema: readySchema },
      otherResponses: { 503: { schema: errorBodySchema, description: 'Not ready: details.reason is "database" or "migrations"' } },
    },
    async ({ request }) => {
      try {
        await within(ctx.db.query('select 1'), READY_TIMEOUT_MS, 'the database');
      } catch (error) {
        request.log.warn({ err: error }, 'not ready: the database does not answer');
        throw new ApiError('DATABASE_UNAVAILABLE', 'Not ready: the database does not answer', { reason: 'database' });
      }
      let pending: number[];
      try {
        pending = await within(migrationsPending(ctx.db), READY_TIMEOUT_MS, 'the database');
      } catch (error) {
        request.log.warn({ err: error }, 'not ready: cannot read the applied migrations');
        throw new ApiError('DATABASE_UNAVAILABLE', 'Not ready: cannot read the applied migrations', { reason: 'database' });
      }
      if (pending.length > 0) {
        throw new ApiError('DATABASE_UNAVAILABLE', `Not ready: ${pending.length} database migration(s) pending; restart the server to apply them`, {
          reason: 'migrations',
          pending,
        });
      }
      return { status: 'ready' };
    },
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/metrics',
      access: 'public',
      summary: 'Prometheus metrics (text exposition format)',
      tag: 'operations',
      response: { status: 200, description: 'Prometheus text format (text/plain; version=0.0.4)' },
    },
    async ({ reply }) => {
      const text = await ctx.metrics.metrics();
      reply.type(ctx.metrics.contentType);
      return text;
    },
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/openapi.json',
      access: 'public',
      summary: 'This API as an OpenAPI 3.0 document',
      tag: 'operations',
      response: { status: 200, description: 'The OpenAPI 3.0 document' },
    },
    async () => openApiDocument(),
  );

  // Browsable docs at /docs; Swagger UI's assets are served from the package, no CDN.
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    transformSpecification: () => openApiDocument(),
    transformSpecificationClone: false,
    uiConfig: { docExpansion: 'list', deepLinking: true, persistAuthorization: false },
  });
}
