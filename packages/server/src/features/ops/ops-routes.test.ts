import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@rollgate/contract';
import { buildApp, SERVER_VERSION } from '../../app.js';
import { defaultConfig } from '../../config.js';
import type { Database } from '../../db/database.js';
import { migrate } from '../../db/migrate.js';
import { openPglite } from '../../db/pglite.js';
import { openPostgres } from '../../db/postgres.js';
import { createPostgresDatabase, createTestApp, testBackends, type BackendName, type TestApp } from '../../testing.test-helpers.js';

/** A database this test may close itself (createTestApp's would be closed twice). */
async function closableDatabase(backend: BackendName): Promise<{ db: Database; cleanup(): Promise<void> }> {
  if (backend === 'pglite') {
    const db = await openPglite(undefined);
    await migrate(db);
    return { db, cleanup: async () => undefined };
  }
  const created = await createPostgresDatabase();
  const db = await openPostgres(created.url, pino({ level: 'silent' }), 2);
  await migrate(db);
  return { db, cleanup: () => created.drop() };
}

/** Every (method, path) the app routes, from Fastify's route tree; HEAD (added for each GET) left out. */
function appRoutes(t: TestApp): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    stack.push(m[2] as string);
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '' && x !== 'HEAD')) routes.push({ method, path: stack.join('') });
  }
  return routes;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const SCHEMA_KEYWORDS = new Set([
  'title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems',
  'uniqueItems', 'maxProperties', 'minProperties', 'required', 'enum', 'type', 'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties',
  'additionalProperties', 'description', 'format', 'default', 'nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs', 'example', 'deprecated', '$ref',
]);
const TYPES = new Set(['array', 'boolean', 'integer', 'number', 'object', 'string']);

/**
 * The rules of OpenAPI 3.0.3 a generator can break: structure, path
 * parameters, and Schema Objects (the JSON Schema subset 3.0 allows, with
 * every $ref resolving). Returns the problems found.
 */
function openApi30Problems(doc: any): string[] {
  const problems: string[] = [];
  const bad = (where: string, what: string): void => {
    problems.push(`${where}: ${what}`);
  };
  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi)) bad('openapi', `not 3.0.x: ${doc.openapi}`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') bad('info', 'needs title and version');
  const components = doc.components?.schemas ?? {};
  const schemes = doc.components?.securitySchemes ?? {};
  const checkSecurity = (where: string, security: unknown) => {
    if (security === undefined) return;
    if (!Array.isArray(security)) return bad(where, 'security is not an array');
    for (const req of security) for (const name of Object.keys(req)) if (!(name in schemes)) bad(where, `unknown security scheme ${name}`);
  };
  checkSecurity('security', doc.security);
  const checkSchema = (where: string, s: any): void => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return bad(where, 'schema is not an object');
    for (const [key, value] of Object.entries<any>(s)) {
      if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) bad(where, `keyword ${key} is not allowed in OpenAPI 3.0`);
      if (key === '$ref') {
        const m = /^#\/components\/schemas\/(.+)$/.exec(value);
        if (m === null || !((m[1] as string) in components)) bad(where, `$ref ${value} does not resolve`);
      }
    }
    if (s.type !== undefined && !(typeof s.type === 'string' && TYPES.has(s.type))) bad(where, `type ${JSON.stringify(s.type)}`);
    if (s.type === 'array' && s.items === undefined) bad(where, 'an array schema needs items');
    if (s.required !== undefined && (!Array.isArray(s.required) || s.required.length === 0)) bad(where, 'required must be a non-empty array');
    if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0)) bad(where, 'enum must be a non-empty array');
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum', 'nullable', 'uniqueItems', 'readOnly', 'writeOnly', 'deprecated']) {
      if (s[k] !== undefined && typeof s[k] !== 'boolean') bad(where, `${k} must be a boolean`);
    }
    for (const k of ['allOf', 'oneOf', 'anyOf']) if (s[k] !== undefined) (s[k] as unknown[]).forEach((x, i) => checkSchema(`${where}.${k}[${i}]`, x));
    for (const k of ['not', 'items']) if (s[k] !== undefined) checkSchema(`${where}.${k}`, s[k]);
    if (typeof s.additionalProperties === 'object') checkSchema(`${where}.additionalProperties`, s.additionalProperties);
    for (const [name, p] of Object.entries(s.properties ?? {})) checkSchema(`${where}.properties.${name}`, p);
  };
  for (const [name, s] of Object.entries(components)) checkSchema(`components.schemas.${name}`, s);
  const checkContent = (where: string, holder: any) => {
    for (const [type, media] of Object.entries<any>(holder?.content ?? {})) if (media.schema !== undefined) checkSchema(`${where} ${type}`, media.schema);
  };
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    if (!path.startsWith('/')) bad(path, 'a path must start with /');
    const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries<any>(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!HTTP_METHODS.has(method)) {
        if (!['summary', 'description', 'servers', 'parameters'].includes(method) && !method.startsWith('x-')) bad(where, 'not an HTTP method');
        continue;
      }
      if (op.operationId !== undefined) {
        if (operationIds.has(op.operationId)) bad(where, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      checkSecurity(where, op.security);
      const params: any[] = op.parameters ?? [];
      const seen = new Set<string>();
      for (const p of params) {
        if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in)) bad(where, `bad parameter ${JSON.stringify(p)}`);
        if (seen.has(`${p.in}:${p.name}`)) bad(where, `duplicate parameter ${p.name}`);
        seen.add(`${p.in}:${p.name}`);
        if (p.in === 'path' && (p.required !== true || !template.includes(p.name))) bad(where, `path parameter ${p.name} must be required and in the path`);
        if (p.schema === undefined) bad(where, `parameter ${p.name} has no schema`);
        else checkSchema(`${where} parameter ${p.name}`, p.schema);
      }
      for (const name of template) if (!params.some((p) => p.in === 'path' && p.name === name)) bad(where, `path parameter ${name} is not declared`);
      if (op.requestBody !== undefined) {
        if (typeof op.requestBody.content !== 'object') bad(where, 'requestBody needs content');
        checkContent(`${where} requestBody`, op.requestBody);
      }
      const responses = Object.entries<any>(op.responses ?? {});
      if (responses.length === 0) bad(where, 'no responses');
      for (const [status, r] of responses) {
        if (status !== 'default' && !/^[1-5](\d\d|XX)$/.test(status)) bad(where, `bad response key ${status}`);
        if (typeof r.description !== 'string') bad(where, `response ${status} needs a description`);
        checkContent(`${where} ${status}`, r);
      }
    }
  }
  return problems;
}

describe.each(testBackends())('operations (%s)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('/healthz answers 200 with the version, to anyone', async () => {
    const res = await t.request('GET', '/healthz', undefined, null);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', version: SERVER_VERSION, mode: 'production', timeScale: 1, time: expect.any(String) });
    expect(Math.abs(Date.parse(res.body.time) - Date.now())).toBeLessThan(60_000);
    expect((await t.request('GET', '/healthz', undefined, 'rg_admin_not-a-real-token')).status).toBe(200);
  });

  it('/readyz answers 200 when the database answers and is migrated', async () => {
    const res = await t.request('GET', '/readyz', undefined, null);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 DATABASE_UNAVAILABLE when a migration is pending or the database is gone', async () => {
    const { db, cleanup } = await closableDatabase(backend);
    const app = await buildApp({ config: defaultConfig(), db });
    try {
      expect((await app.inject('/readyz')).statusCode).toBe(200);
      await db.query('delete from schema_migrations where version = 1');
      const pending = await app.inject('/readyz');
      expect(pending.statusCode).toBe(503);
      expect(pending.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', details: { reason: 'migrations', pending: [1] } });
      await db.query("insert into schema_migrations (version, name) values (1, 'initial')");
      expect((await app.inject('/readyz')).statusCode).toBe(200);

      await db.close();
      const gone = await app.inject('/readyz');
      expect(gone.statusCode).toBe(503);
      const body = gone.json();
      expect(body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', details: { reason: 'database' } });
      expect(body.requestId).toBe(gone.headers['x-request-id']);
      expect(ERROR_CODES.DATABASE_UNAVAILABLE.status).toBe(503);
      // Liveness does not depend on the database.
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    } finally {
      // Shutdown after the database is gone is not what this test is about (the snapshot hub's unlisten fails on a closed PGlite).
      await app.close().catch(() => undefined);
      await cleanup();
    }
  });

  it('/metrics exposes HTTP, pool and process metrics in the Prometheus text format', async () => {
    await t.request('GET', '/api/projects');
    await t.request('GET', '/api/projects/default');
    await t.request('GET', '/api/projects', undefined, null);
    await t.request('GET', '/no/such/route', undefined, null);
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const lines = res.body.split('\n');
    const sample = (name: string, labels: Record<string, string>) =>
      lines.find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    const value = (line: string | undefined) => Number(line?.split(' ').pop());
    expect(res.body).toContain('# TYPE rollgate_http_requests_total counter');
    expect(res.body).toContain('# TYPE rollgate_http_request_duration_seconds histogram');
    expect(res.body).toContain('# TYPE rollgate_db_pool_connections gauge');
    expect(value(sample('rollgate_http_requests_total', { method: 'GET', route: '/api/projects', status: '200' }))).toBeGreaterThanOrEqual(1);
    expect(value(sample('rollgate_http_requests_total', { method: 'GET', route: '/api/projects', status: '401' }))).toBeGreaterThanOrEqual(1);
    // Route patterns, not URLs: label values stay few.
    expect(sample('rollgate_http_requests_total', { route: '/api/projects/:projectKey', status: '200' })).toBeDefined();
    expect(res.body).not.toContain('route="/api/projects/default"');
    expect(value(sample('rollgate_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }))).toBeGreaterThanOrEqual(1);
    expect(value(sample('rollgate_http_request_duration_seconds_count', { method: 'GET', route: '/api/projects' }))).toBeGreaterThanOrEqual(2);
    expect(sample('rollgate_http_request_duration_seconds_bucket', { route: '/api/projects', le: '+Inf' })).toBeDefined();
    for (const state of ['total', 'idle', 'waiting']) expect(value(sample('rollgate_db_pool_connections', { state }))).toBeGreaterThanOrEqual(0);
    expect(value(sample('rollgate_db_pool_connections', { state: 'total' }))).toBeGreaterThanOrEqual(1);
    expect(res.body).toMatch(/^process_cpu_user_seconds_total /m);
    expect(res.body).toMatch(/^nodejs_heap_size_used_bytes /m);
    // The embedded database's WASM heap, where its memory goes; PostgreSQL's is in its own processes.
    const embedded = lines.find((l) => l.startsWith('rollgate_embedded_database_memory_bytes '));
    if (t.db.kind === 'pglite') expect(value(embedded)).toBeGreaterThan(16 * 1024 * 1024);
    else expect(embedded).toBeUndefined();
    // The scrape itself is counted on the next one.
    const next = (await t.app.inject('/metrics')).body;
    expect(next).toMatch(/rollgate_http_requests_total\{[^}]*route="\/metrics"/);
  });

  it('/openapi.json is a valid OpenAPI 3.0 document of every route the app serves', async () => {
    const res = await t.app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const doc = JSON.parse(res.body);
    expect(openApi30Problems(doc)).toEqual([]);
    expect(doc.info.version).toBe(SERVER_VERSION);
    for (const path of ['/api/projects', '/api/projects/{projectKey}', '/api/users', '/api/users/{userId}', '/api/me', '/api/tokens', '/api/tokens/{tokenId}', '/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/api/users'].post['x-rollgate-access']).toBe('admin');

    // Every route the app serves is documented (but the HTML pages: / and the docs UI)...
    const routes = appRoutes(t);
    expect(routes.length).toBeGreaterThan(20);
    // OPTIONS routes are CORS preflight answers, not operations.
    // The dashboard's pages and files (index.html for its client-side routes, /assets/*) are HTML too.
    const served = routes.filter((r) => r.method !== 'OPTIONS' && r.path !== '/' && r.path !== '/docs' && !r.path.startsWith('/docs/') && !r.path.endsWith('*') && !/\.(svg|png|ico|txt)$/.test(r.path) && !/^\/[a-z-]+$/.test(r.path.replace(/^\/(healthz|readyz|metrics)$/, '/api')));
    for (const { method, path } of served) {
      const documented = path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[documented]?.[method.toLowerCase()], `${method} ${path} is not in /openapi.json`).toBeDefined();
    }
    // ...and every documented operation is served.
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item)) {
        const url = path.replace(/\{([^}]+)\}/g, ':$1');
        expect(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path} is documented but not served`).toBe(true);
      }
    }
    // The same document every time.
    expect((await t.app.inject('/openapi.json')).body).toBe(res.body);
  });

  it('/docs serves Swagger UI and its assets from this server (no CDN)', async () => {
    const page = await t.app.inject('/docs');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.some((a) => a.endsWith('swagger-ui-bundle.js'))).toBe(true);
    for (const asset of assets) {
      expect(asset, 'assets are local').not.toMatch(/^(https?:)?\/\//);
      const res = await t.app.inject(new URL(asset, 'http://localhost/docs').pathname);
      expect(res.statusCode, asset).toBe(200);
      if (asset.endsWith('.js')) {
        expect(res.headers['content-type']).toMatch(/javascript/);
        expect(res.body.length).toBeGreaterThan(100);
      }
    }
    // The UI loads the same document as /openapi.json.
    const spec = await t.app.inject('/docs/json');
    expect(spec.statusCode).toBe(200);
    expect(spec.json()).toEqual((await t.app.inject('/openapi.json')).json());
    const yaml = await t.app.inject('/docs/yaml');
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toMatch(/^openapi: 3\.0\.3$/m);
  });
});
