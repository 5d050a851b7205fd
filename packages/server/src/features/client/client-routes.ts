import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { evaluate, type EvaluationResult, type FlagType } from '@rollgate/core';
import { frontendEvaluateRequestSchema, frontendEvaluateResponseSchema, snapshotSchema } from '@rollgate/contract';
import type { Database } from '../../db/database.js';
import type { Principal } from '../../http/auth.js';
import { defineRoute } from '../../http/routes.js';
import type { CachedSnapshot, SnapshotHub } from './snapshot-hub.js';
import { loadChangesBetween } from './snapshot-store.js';
import { resolveChanges, sseEvent } from './sse.js';

const TAG = 'client';

/** The environment an SDK token is scoped to (the route's access check has run). */
function environmentOf(principal: Principal | undefined): string {
  if (principal?.kind !== 'sdk') throw new Error('SDK route reached without an SDK principal');
  return principal.environmentId;
}

/** The cached snapshot, without a promise when it is warm. */
function snapshotOf(hub: SnapshotHub, environmentId: string): CachedSnapshot | Promise<CachedSnapshot> {
  return hub.peek(environmentId) ?? hub.get(environmentId);
}

const streamQuerySchema = z.strictObject({
  /** For clients that cannot send the Last-Event-ID header; the header wins. */
  lastEventId: z.string().max(20).optional(),
});

/** A Last-Event-ID that is a snapshot version, or undefined. */
function parseLastEventId(request: FastifyRequest, fromQuery: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  const raw = (typeof header === 'string' && header !== '' ? header : fromQuery)?.trim();
  if (raw === undefined || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}

type FrontendResult = z.infer<typeof frontendEvaluateResponseSchema>['flags'][string];

function frontendResult(r: EvaluationResult<unknown>, type: FlagType | undefined): FrontendResult {
  const out: FrontendResult = { value: r.value === undefined ? null : r.value, reason: r.reason };
  if (r.variant !== undefined) out.variant = r.variant;
  if (r.ruleId !== undefined) out.ruleId = r.ruleId;
  if (r.errorCode !== undefined) out.errorCode = r.errorCode;
  if (type !== undefined) out.type = type;
  return out;
}

/**
 * Starts a Server-Sent Events response on a hijacked reply: the headers set
 * so far (request id, CORS) and the event-stream headers, then `initial`.
 * No await may come between this and hub.addClient (see the stream routes).
 */
export function startEventStream(reply: FastifyReply, initial: Buffer | undefined): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.socket?.setNoDelay?.(true);
  if (initial !== undefined) res.write(initial);
  else res.flushHeaders();
  return res;
}

/**
 * GET /api/client/snapshot, GET /api/client/stream (server SDK tokens),
 * POST /api/frontend/evaluate and GET /api/frontend/stream (browser tokens),
 * all served from the hub's in-memory snapshots: no database query on a warm cache.
 */
export function registerClientRoutes(app: FastifyInstance, hub: SnapshotHub, db: Database): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/client/snapshot',
      logLevel: 'warn',
      access: 'server',
      summary: "The token's environment snapshot (send If-None-Match with the ETag you hold)",
      tag: TAG,
      response: { status: 200, schema: snapshotSchema, description: 'The snapshot, with a strong ETag and Cache-Control: no-cache' },
      otherResponses: { 304: { description: 'Not modified: If-None-Match holds the current ETag' } },
    },
    async ({ principal, request, reply }) => {
      const entry = await snapshotOf(hub, environmentOf(principal));
      reply.header('etag', entry.etag).header('cache-control', 'no-cache');
      if (entry.matches(request.headers['if-none-match'])) {
        reply.code(304);
        return undefined;
      }
      reply.header('content-type', 'application/json; charset=utf-8');
      return entry.body;
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/client/stream',
      logLevel: 'warn',
      access: 'server',
      summary: "Server-Sent Events: the token's environment snapshot, then every change (resume with Last-Event-ID)",
      tag: TAG,
      query: streamQuerySchema,
      response: {
        status: 200,
        description:
          'text/event-stream. `event: snapshot` (data: the snapshot) on connect; `event: change` (data: {version, changes:[{type, key, removed, flag?, segment?}]}) after each change; the event id is the snapshot version; `: heartbeat` comments keep the connection alive.',
      },
    },
    async ({ principal, query, request, reply }) => {
      const environmentId = environmentOf(principal);
      const entry = await snapshotOf(hub, environmentId);
      const lastEventId = parseLastEventId(request, query.lastEventId);
      // What to send first, and the version the client holds after it.
      let initial: Buffer | undefined = entry.snapshotEvent;
      let version = entry.version;
      if (lastEventId !== undefined && lastEventId <= entry.version) {
        if (lastEventId === entry.version) {
          initial = undefined;
        } else if (hub.canReplay(environmentId, lastEventId)) {
          // The hub still holds every change since then: addClient sends them, one event each.
          initial = undefined;
          version = lastEventId;
        } else {
          // Missed changes, from the database; a gap it no longer holds gets a snapshot.
          const rows = await loadChangesBetween(db, environmentId, lastEventId, entry.version).catch((error: unknown) => {
            request.log.warn({ err: error }, 'cannot read missed changes; sending a snapshot');
            return undefined;
          });
          const changes = rows === undefined ? undefined : resolveChanges(rows.map((r) => r.change), entry);
          if (changes !== undefined) initial = sseEvent('change', entry.version, JSON.stringify({ version: entry.version, changes }));
        }
      }
      // From here on, no await: the hub cannot publish between these writes and addClient.
      const res = startEventStream(reply, initial);
      hub.addClient(environmentId, res, version, principal?.tokenId);
      // The handler is done: the hub owns the stream (defineRoute sends nothing on a hijacked reply).
      return undefined;
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/frontend/evaluate',
      logLevel: 'warn',
      access: 'browser',
      summary: "Evaluates the token's environment's flags (all, or those listed) for one context",
      tag: TAG,
      body: frontendEvaluateRequestSchema,
      response: { status: 200, schema: frontendEvaluateResponseSchema },
    },
    async ({ principal, body, reply }) => {
      const entry = await snapshotOf(hub, environmentOf(principal));
      const compiled = entry.compiled;
      const keys = body.flags === undefined ? entry.snapshot.flags.map((f) => f.key) : [...new Set(body.flags)];
      const flags: Record<string, FrontendResult> = Object.create(null) as Record<string, FrontendResult>;
      // Rollouts sticky on `random` draw here, as they would in a browser SDK.
      const options = { random: Math.random };
      for (const key of keys) flags[key] = frontendResult(evaluate<unknown>(compiled, key, body.context, undefined, options), entry.flags.get(key)?.type);
      reply.header('cache-control', 'no-store');
      return { version: entry.version, flags };
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/frontend/stream',
      logLevel: 'warn',
      access: 'browser',
      summary: "Server-Sent Events: the token's environment's snapshot version, on connect and after each change (no configuration)",
      tag: TAG,
      response: {
        status: 200,
        description:
          'text/event-stream. `event: version` (data: {version}, the FrontendVersionEvent schema; the event id is the version) on connect and after each change to the environment; `: heartbeat` comments keep the connection alive. A browser holding an older version calls POST /api/frontend/evaluate again. Send the token in the Authorization header (read the stream with fetch: EventSource cannot send it).',
      },
    },
    async ({ principal, reply }) => {
      const environmentId = environmentOf(principal);
      const entry = await snapshotOf(hub, environmentId);
      // From here on, no await: the hub cannot publish between this write and addClient.
      const res = startEventStream(reply, entry.versionEvent);
      hub.addClient(environmentId, res, entry.version, principal?.tokenId, 'version');
      return undefined;
    },
  );
}
