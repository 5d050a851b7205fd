import { projectRole, type Principal } from '../../http/auth.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { keySchema, metricSeriesSchema, overviewQuerySchema, overviewSchema, type OverviewRow } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { startEventStream } from '../client/client-routes.js';
import { rolloutFeatureOf } from '../rollouts/rollout-feature.js';
import { DASHBOARD_CSP, DEFAULT_DASHBOARD_DIR, loadDashboardAssets, type DashboardAsset } from './dashboard-assets.js';
import { DashboardStreamHub } from './dashboard-stream.js';
import { metricSeries } from './metric-series.js';

/** The dashboard's client-side routes: a deep link or a reload there gets index.html. */
/**
 * Whether `principal` may see a project's rollouts and changes on the
 * dashboard: instance admins see everything, others the projects they have a
 * role in (events of no project, such as users and tokens, are for admins).
 */
function canSee(principal: Principal | undefined, projectKey: string | null): boolean {
  if (principal?.kind !== 'user') return false;
  if (principal.role === 'admin') return true;
  return projectKey !== null && projectRole(principal, projectKey) !== undefined;
}

export const DASHBOARD_ROUTES = ['rollouts', 'flags', 'plans', 'segments', 'environments', 'catalog', 'tokens', 'users', 'audit', 'sign-in'] as const;

export interface DashboardOptions {
  /** The built dashboard (default packages/web/dist). */
  dir?: string;
}

const NOT_BUILT =
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rollgate</title></head><body>` +
  `<h1>Rollgate</h1><p>The server is running, but the dashboard has not been built: run <code>npm run build</code> (or <code>npm install</code>) and restart.</p>` +
  `<ul><li><a href="/docs">API documentation</a> (<a href="/openapi.json">OpenAPI</a>)</li><li><a href="/healthz">Health</a></li></ul></body></html>`;

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', DASHBOARD_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: DashboardAsset): FastifyReply {
  securityHeaders(reply);
  reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('etag', asset.etag);
  reply.header('vary', 'accept-encoding');
  reply.type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const accepts = String(request.headers['accept-encoding'] ?? '');
  if (asset.gzip !== undefined && /\bgzip\b/.test(accepts)) {
    reply.header('content-encoding', 'gzip');
    return reply.send(asset.gzip);
  }
  return reply.send(asset.body);
}

/**
 * The dashboard: the built web app at `/` (hashed assets cached for a year,
 * index.html revalidated every time, a strict Content-Security-Policy), the
 * overview of rollouts across projects, and the live stream of changes.
 */
export async function registerDashboardFeature(app: FastifyInstance, ctx: AppContext, options: DashboardOptions = {}): Promise<void> {
  const feature = rolloutFeatureOf(app);
  const rollouts = feature.service;
  const hub = new DashboardStreamHub(ctx.db, ctx.logger, ctx.config.heartbeatMs);
  ctx.onClose(await hub.start());

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/dashboard/overview',
      access: 'viewer',
      summary:
        "Every project's active and draft rollouts (and those finished in the last `finishedDays` days) with the seed 000 status: light and its reason, phase, percentage, start date, days in phase, what each waits for",
      tag: 'dashboard',
      query: overviewQuerySchema,
      response: { status: 200, schema: overviewSchema },
    },
    async ({ query, principal }) => {
      const now = ctx.clock();
      const since = new Date(now.getTime() - query.finishedDays * 86_400_000).toISOString();
      const rows = await ctx.db.query<{ id: string; project_key: string; project_name: string }>(
        `select r.id, p.key as project_key, p.name as project_name
           from rollouts r join projects p on p.id = r.project_id
          where r.status in ('draft', 'running', 'held', 'awaiting_approval') or r.updated_at >= $1
          order by r.id desc
          limit 2000`,
        [since],
      );
      const items: OverviewRow[] = [];
      for (const row of rows) {
        if (!canSee(principal, row.project_key)) continue;
        const r = await rollouts.get(row.project_key, row.id);
        items.push({
          id: r.id,
          projectKey: r.projectKey,
          projectName: row.project_name,
          flagKey: r.flagKey,
          environmentKey: r.environmentKey,
          planKey: r.planKey,
          status: r.status,
          stageIndex: r.stageIndex,
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
          statusSummary: r.statusSummary,
        });
      }
      return { items, generatedAt: now.toISOString() };
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/rollouts/:rolloutId/metric-series',
      access: 'viewer',
      summary:
        "The current stage's metric tiles: per gate the guard's estimate (treatment minus control, or relative, as the gate is written) with its always-valid interval and verdict over the stage, and each metric's raw treatment and control values over time",
      tag: 'dashboard',
      params: z.strictObject({ projectKey: keySchema, rolloutId: z.string().min(1).max(100) }),
      response: { status: 200, schema: metricSeriesSchema },
    },
    ({ params }) => metricSeries(ctx.db, feature.controller, params.projectKey, params.rolloutId, ctx.clock().getTime()),
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/dashboard/stream',
      access: 'viewer',
      logLevel: 'warn',
      summary: 'Server-Sent Events for open dashboard pages: `event: change` (data: the audit event: action, resource, project, environment, actor) for every change; resume with Last-Event-ID',
      tag: 'dashboard',
      response: { status: 200, description: 'text/event-stream: `event: ready` on connect, then `event: change` per audit event; the id is the audit sequence; `: heartbeat` comments keep it alive.' },
    },
    async ({ request, reply, principal }) => {
      const given = request.headers['last-event-id'];
      const afterSeq = typeof given === 'string' && /^\d{1,15}$/.test(given) ? Number(given) : undefined;
      if (given !== undefined && afterSeq === undefined) {
        throw new ApiError('VALIDATION_FAILED', 'Last-Event-ID must be the id of an event of this stream', { where: 'headers', issues: [{ path: 'last-event-id', message: 'not an event id' }] });
      }
      const res = startEventStream(reply, undefined);
      await hub.addClient(res, afterSeq, (projectKey) => canSee(principal, projectKey));
      return undefined;
    },
  );

  const assets = await loadDashboardAssets(options.dir ?? DEFAULT_DASHBOARD_DIR);
  const index = assets?.get('/index.html');
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (index === undefined) {
      securityHeaders(reply);
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    return sendAsset(request, reply, index);
  };
  app.get('/', page);
  for (const route of DASHBOARD_ROUTES) {
    app.get(`/${route}`, page);
    app.get(`/${route}/*`, page);
  }
  for (const [path, asset] of assets ?? []) {
    if (path === '/index.html' || path.startsWith('/assets/')) continue;
    app.get(path, async (request, reply) => sendAsset(request, reply, asset));
  }
  app.get('/assets/*', async (request, reply) => {
    const asset = assets?.get(request.url.split('?')[0] ?? '');
    if (asset === undefined) throw new ApiError('ROUTE_NOT_FOUND', `No dashboard file ${request.url}`, { path: request.url });
    return sendAsset(request, reply, asset);
  });
}
