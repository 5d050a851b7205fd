import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorBodySchema, ERROR_CODES } from '@rollgate/contract';
import { authorize, type Access, type Principal } from './auth.js';
import { parseInput } from './errors.js';
import { bodyOrEmpty } from './json-body.js';
import type { WriteMeta } from '../features/audit/audit-store.js';

/** One documented route: what it takes, who may call it, what it returns. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  access: Access;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status and body schema (undefined body = no content). */
  response: { status: number; schema?: z.ZodType; description?: string };
  /** Per-route log level, e.g. 'warn' for SDK endpoints polled thousands of times a second. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Extra documented responses, e.g. 202 for a change request. */
  otherResponses?: Record<number, { schema?: z.ZodType; description: string }>;
}

/** What a handler receives: parsed input and the caller. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | undefined;
  /** Actor and request id for audited writes; only for user tokens. */
  meta: WriteMeta;
  request: FastifyRequest;
  reply: FastifyReply;
}

type AnySpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** The routes registered on each app, for its OpenAPI document. */
const registries = new WeakMap<FastifyInstance, AnySpec[]>();

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function metaOf(request: FastifyRequest): WriteMeta {
  const p = request.principal;
  const actor =
    p === undefined
      ? { kind: 'system' as const, id: 'anonymous', name: 'anonymous' }
      : p.kind === 'user'
        ? { kind: 'user' as const, id: p.userId, name: p.name }
        : { kind: 'token' as const, id: p.tokenId, name: p.name };
  return { actor, requestId: request.id };
}

/**
 * Registers a route whose input is parsed with zod (strict bodies: unknown
 * fields are refused) and whose caller is authorized before the handler runs.
 * A handler returns the body; `reply.code()` may change the status.
 *
 * @example
 * defineRoute(app, { method: 'GET', url: '/api/projects', access: 'viewer', summary: 'List projects', tag: 'projects',
 *   response: { status: 200, schema: pageSchema(projectSchema) } }, async () => service.list());
 */
export function defineRoute<P extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B>,
  handler: (input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<unknown>,
): void {
  let registry = registries.get(app);
  if (registry === undefined) {
    registry = [];
    registries.set(app, registry);
  }
  registry.push(spec as unknown as AnySpec);
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.logLevel === undefined ? {} : { logLevel: spec.logLevel }),
    handler: async (request, reply) => {
      const rawKey = (request.params as { projectKey?: unknown } | undefined)?.projectKey;
      const principal = authorize(request.principal, spec.access, spec.url.includes(':projectKey') ? String(rawKey) : undefined);
      const params = spec.params ? parseInput(spec.params, request.params, 'params') : (request.params as z.infer<P>);
      const query = spec.query ? parseInput(spec.query, request.query, 'query') : (request.query as z.infer<Q>);
      const body = spec.body ? parseInput(spec.body, bodyOrEmpty(spec.body, request.body), 'body') : (undefined as z.infer<B>);
      reply.code(spec.response.status);
      const result = await handler({ params, query, body, principal, meta: metaOf(request), request, reply });
      // A hijacked reply (a stream) has been answered by its handler already.
      if (reply.sent) return undefined;
      return result === undefined ? reply.send() : result;
    },
  });
}

/** The routes registered on `app` with {@link defineRoute}: its route table, for its OpenAPI document and the tests that walk every route. */
export function registeredRoutes(app: FastifyInstance): readonly RouteSpec<z.ZodType, z.ZodType, z.ZodType>[] {
  return registries.get(app) ?? [];
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any', reused: 'inline' });
}

/** The OpenAPI 3 document of every registered route. */
export function buildOpenApiDocument(app: FastifyInstance, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of registeredRoutes(app)) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', spec.params],
      ['query', spec.query],
    ] as const) {
      if (schema === undefined) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const responses: Record<string, unknown> = {
      [spec.response.status]: {
        description: spec.response.description ?? 'Success',
        ...(spec.response.schema ? { content: { 'application/json': { schema: jsonSchema(spec.response.schema, 'output') } } } : {}),
      },
    };
    for (const [status, r] of Object.entries(spec.otherResponses ?? {})) {
      responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } } } : {}) };
    }
    responses.default = { description: 'Error (see docs/errors.md)', content: { 'application/json': { schema: jsonSchema(errorBodySchema, 'output') } } };
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[spec.method.toLowerCase()] = {
      summary: spec.summary,
      tags: [spec.tag],
      ...(spec.access === 'public' ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
      responses,
      'x-rollgate-access': spec.access,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Rollgate API',
      version,
      description: `Errors: every error body is {code, message, details, requestId}. Codes: ${Object.keys(ERROR_CODES).join(', ')}.`,
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
