/**
 * The API fuzzer: requests generated with fast-check from the server's own
 * /openapi.json (the zod schemas of @rollgate/contract, as JSON Schema),
 * mostly well-formed with hostile values mixed in (wrong types, sizes, NUL,
 * lone surrogates, deep nesting, injection strings, path traversal,
 * __proto__ keys), against every operation, as every kind of caller. Each
 * request must answer below 500, and a refused one (4xx) must leave every
 * table as it was. Used by api-fuzz.test.ts (a few thousand requests, CI's
 * seed) and bench/fuzz (100,000, a status table).
 */
import fc from 'fast-check';
import { SEED_000_GRADUAL_PRODUCTION_ROLLOUT } from '@rollgate/core';
import { changedTables, dumpTables, nextTransactionId, type TableDump } from '../db/table-dump.test-helpers.js';
import { addUser } from '../features/flags/flag-testing.test-helpers.js';
import { insertPlan } from '../features/rollouts/rollouts.test-helpers.js';
import { createTestApp, type BackendName, type TestApp } from '../testing.test-helpers.js';

type Schema = Record<string, any>;

/** One operation of the OpenAPI document. */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  access: string;
  params: { name: string; in: 'path' | 'query'; schema: Schema }[];
  body: Schema | undefined;
}

/** One generated request. */
export interface FuzzRequest {
  op: Operation;
  caller: string;
  path: Record<string, string>;
  query: [string, string][];
  body: { json: unknown } | { raw: string } | undefined;
}

/** What a run saw. */
export interface FuzzReport {
  requests: number;
  /** Per operation (`METHOD /path`), per status, the number of answers. */
  statuses: Map<string, Map<number, number>>;
  failures: { request: string; status: number; body: string; changed: string[] }[];
}

/** Operations left out: their 2xx answer is a stream that never ends. */
const STREAMS = /\/stream$/;

export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'key\u0000',
  '\ud800',
  'x\udc01y',
  '\udbff',
  '\ud83d\ude80',
  '\u202eevil',
  '\ufeff',
  'x'.repeat(300),
  'y'.repeat(20_000),
  "'; drop table flags; --",
  '" or 1=1 --',
  '$1',
  '../../../etc/passwd',
  '..%2f..%2f',
  '%00',
  '%',
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '{{cohort}}',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  '1e309',
  '-0',
  '9'.repeat(400),
  'rg_admin_not-a-token',
  '2026-02-30T25:61:00Z',
  '/',
  '*',
];

const deep = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

export const HOSTILE_VALUES: readonly unknown[] = [null, true, false, 0, -1, 1.5, -1e308, 1e308, 2 ** 53 + 1, Number.MIN_VALUE, [], {}, [null], deep(70), deep(20), Array.from({ length: 2000 }, (_, i) => i), { a: { b: { c: {} } } }];

/** Bodies that are not what JSON.stringify makes. */
const RAW_BODIES: readonly string[] = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"string"',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"key":"a\\u0000b","name":"n"}',
  '{"key":"\\udc01","name":"n"}',
  `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
  '\ufeff{}',
  '{"a":1,"a":2}',
  '1e999',
];

const hostileString = fc.constantFrom(...HOSTILE_STRINGS);
const hostileValue = fc.oneof(hostileString, fc.constantFrom(...HOSTILE_VALUES));

/** A JSON Schema with its `$ref` resolved against the document. */
function resolve(doc: Schema, schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const parts = (s.$ref as string).replace(/^#\//, '').split('/');
    s = parts.reduce<any>((node, part) => node?.[part], doc) ?? {};
  }
  return s;
}

/**
 * An arbitrary of values for `schema`, mostly valid, with hostile values in
 * about one leaf in ten; `known` gives real keys for fields of those names.
 */
function valueArb(doc: Schema, schemaIn: Schema | undefined, known: Record<string, string[]>, name: string, depth: number): fc.Arbitrary<unknown> {
  const valid = validArb(doc, resolve(doc, schemaIn), known, name, depth);
  return fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });
}

function stringArb(schema: Schema, known: Record<string, string[]>, name: string): fc.Arbitrary<string> {
  const max = Math.min(schema.maxLength ?? 40, 40);
  const min = Math.min(schema.minLength ?? 0, max);
  const options: fc.Arbitrary<string>[] = [fc.string({ minLength: min, maxLength: max })];
  if (schema.format === 'date-time') options.push(fc.integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') }).map((ms) => new Date(ms).toISOString()));
  if (typeof schema.pattern === 'string') {
    try {
      options.push(fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 200)));
      options.push(fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 200)));
    } catch {
      // a pattern fast-check cannot generate from
    }
  }
  const names = known[name];
  if (names !== undefined) options.push(fc.constantFrom(...names), fc.constantFrom(...names));
  return fc.oneof(...options);
}

function validArb(doc: Schema, schema: Schema, known: Record<string, string[]>, name: string, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constantFrom(null, 'x', 1);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map((s) => valueArb(doc, s, known, name, depth + 1)));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return validArb(doc, resolve(doc, schema.allOf[0] as Schema), known, name, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArb(schema, known, name);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e9), max: Math.min(schema.maximum ?? 100_000, 1e9) });
    case 'number':
      return fc.double({ min: Math.max(schema.minimum ?? -1e6, -1e12), max: Math.min(schema.maximum ?? 1e6, 1e12), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueArb(doc, schema.items as Schema, known, name, depth + 1), { minLength: Math.min(schema.minItems ?? 0, 3), maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const keys = Object.keys(properties);
      if (keys.length === 0) {
        if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          return fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), hostileString), valueArb(doc, schema.additionalProperties as Schema, known, name, depth + 1), { maxKeys: 3 });
        }
        return fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 }));
      }
      const record = fc.record(Object.fromEntries(keys.map((k) => [k, valueArb(doc, properties[k], known, k, depth + 1)])), { requiredKeys: (schema.required ?? []) as string[] });
      // Now and then an unknown field, or a __proto__ key, besides the fields.
      return fc.tuple(record, fc.constantFrom(undefined, undefined, undefined, undefined, 'unknownField', '__proto__', 'constructor')).map(([value, extra]) => {
        if (extra === undefined) return value;
        const out = { ...(value as object) };
        Object.defineProperty(out, extra, { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
        return out;
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** The operations of an OpenAPI document, streams left out. */
export function operationsOf(doc: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<Record<string, Schema>>(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (STREAMS.test(path)) continue;
      ops.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        access: String(op['x-rollgate-access']),
        params: ((op.parameters ?? []) as Schema[]).map((p) => ({ name: String(p.name), in: p.in, schema: resolve(doc, p.schema) })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

/** The arbitrary of requests against `ops`, by `callers`. */
export function requestArb(doc: Schema, ops: readonly Operation[], callers: readonly string[], known: Record<string, string[]>): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...ops).chain((op) => {
    const pathParams = op.params.filter((p) => p.in === 'path');
    const queryParams = op.params.filter((p) => p.in === 'query');
    const path = fc.record(
      Object.fromEntries(pathParams.map((p) => [p.name, fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...(known[p.name] ?? ['x'])) }, { weight: 2, arbitrary: hostileString }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) })])),
    ) as fc.Arbitrary<Record<string, string>>;
    const query = fc
      .tuple(
        ...queryParams.map((p) =>
          fc.option(
            valueArb(doc, p.schema, known, p.name, 5).map((v): [string, string] => [p.name, typeof v === 'string' ? v : JSON.stringify(v) ?? '']),
            { freq: 2 },
          ),
        ),
        fc.option(fc.tuple(hostileString, hostileString), { freq: 5 }),
      )
      .map((pairs) => pairs.filter((p): p is [string, string] => p !== null));
    const body: fc.Arbitrary<FuzzRequest['body']> =
      op.body === undefined
        ? fc.option(fc.constantFrom(...RAW_BODIES).map((raw) => ({ raw })), { freq: 8, nil: undefined })
        : fc.oneof(
            { weight: 12, arbitrary: valueArb(doc, op.body, known, 'body', 0).map((json) => ({ json })) },
            { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES).map((raw) => ({ raw })) },
            { weight: 1, arbitrary: fc.constant(undefined) },
          );
    return fc.record({ op: fc.constant(op), caller: fc.constantFrom(...callers), path, query, body });
  });
}

/** `encodeURIComponent`, also for lone surrogates (sent as the bytes of their CESU-8 form). */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) return `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

/** The request target of `r`. */
export function urlOf(r: FuzzRequest): string {
  const path = r.op.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(r.path[name] ?? 'x'));
  const query = r.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  return query === '' ? path : `${path}?${query}`;
}

/** A short description of a request, for failure reports. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : 'raw' in r.body ? ` raw ${JSON.stringify(r.body.raw.slice(0, 300))}` : ` ${JSON.stringify(r.body.json)?.slice(0, 600)}`;
  return `${r.op.method} ${urlOf(r).slice(0, 400)} as ${r.caller}${body}`;
}

/** A fuzzing target: an app with fixtures, its callers' tokens and the keys that exist. */
export interface FuzzTarget {
  t: TestApp;
  doc: Schema;
  ops: Operation[];
  tokens: Record<string, string | null>;
  known: Record<string, string[]>;
}

/**
 * An app on `backend` with a project of flags, segments, a plan, a running
 * rollout, a change request, users of every role and SDK tokens, and one
 * other project.
 */
export async function createFuzzTarget(backend: BackendName): Promise<FuzzTarget> {
  const t = await createTestApp(backend, { config: { rolloutTickMs: 0 } });
  const ok = async (method: 'POST' | 'PUT' | 'DELETE' | 'PATCH', url: string, body?: unknown) => {
    const res = await t.request(method, url, body);
    if (res.status >= 300) throw new Error(`fuzz fixture ${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  for (const key of ['shop', 'other']) {
    await ok('POST', '/api/projects', { key, name: key });
    await ok('POST', `/api/projects/${key}/environments`, { key: 'production', name: 'Production' });
    await ok('POST', `/api/projects/${key}/environments`, { key: 'staging', name: 'Staging' });
  }
  await ok('PATCH', '/api/projects/shop/environments/staging', { version: 1, requiresApproval: true });
  await ok('POST', '/api/projects/shop/flags', { key: 'checkout', name: 'Checkout' });
  await ok('POST', '/api/projects/shop/flags', { key: 'banner', name: 'Banner', type: 'string', variations: [{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }] });
  await ok('POST', '/api/projects/shop/segments', { key: 'beta', name: 'Beta', definition: { included: ['user-1'] } });
  await insertPlan(t.db, 'shop', 'gradual', SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
  const rollout = await ok('POST', '/api/projects/shop/rollouts', {
    flagKey: 'checkout',
    environmentKey: 'production',
    planKey: 'gradual',
    preStartChecklist: (SEED_000_GRADUAL_PRODUCTION_ROLLOUT.preStartChecklist ?? []).map((i) => i.id),
  });
  const env = (await t.request('GET', '/api/projects/shop/flags/banner/environments/staging')).body;
  const change = await t.request('PUT', '/api/projects/shop/flags/banner/environments/staging', { version: env.version, config: { ...env.config, enabled: true } });
  const token = async (kind: string, projectKey: string) => {
    const created = (await ok('POST', '/api/tokens', { kind, name: `${kind} ${projectKey}`, projectKey, environmentKey: 'production' })) as { token: { id: string }; secret: string };
    return { id: created.token.id, secret: created.secret };
  };
  const server = await token('server', 'shop');
  const browser = await token('browser', 'shop');
  const otherServer = await token('server', 'other');
  const revoked = await token('server', 'shop');
  await ok('DELETE', `/api/tokens/${revoked.id}`);
  const viewer = await addUser(t, 'viewer');
  const editor = await addUser(t, 'editor');
  const approver = await addUser(t, 'approver');
  const doc = (await t.request('GET', '/openapi.json')).body as Schema;
  const stage = SEED_000_GRADUAL_PRODUCTION_ROLLOUT.stages[0];
  return {
    t,
    doc,
    ops: operationsOf(doc),
    tokens: {
      admin: t.adminToken,
      viewer: viewer.token,
      editor: editor.token,
      approver: approver.token,
      server: server.secret,
      browser: browser.secret,
      'other project': otherServer.secret,
      revoked: revoked.secret,
      garbage: 'rg_admin_garbage-0123456789',
      none: null,
    },
    known: {
      projectKey: ['shop', 'other', 'default'],
      environmentKey: ['production', 'staging'],
      flagKey: ['checkout', 'banner'],
      segmentKey: ['beta'],
      planKey: ['gradual'],
      rolloutId: [rollout.id as string],
      userId: [viewer.id, editor.id, approver.id],
      tokenId: [server.id, browser.id],
      metricKey: ['error-rate', 'p95-latency'],
      id: change.status === 202 && typeof change.body?.id === 'string' ? [change.body.id as string] : ['cr_none'],
      itemId: [...(stage?.checklist ?? []).map((i) => i.id), 'nope'],
      version: ['1', '2'],
      key: ['checkout', 'beta', 'gradual', 'shop'],
      variation: ['on', 'off', 'a'],
      kind: ['server', 'browser', 'admin'],
    },
  };
}

/** Sends `r`; returns its status and body. */
async function send(target: FuzzTarget, r: FuzzRequest): Promise<{ status: number; body: string }> {
  const token = target.tokens[r.caller];
  const headers: Record<string, string> = token === null || token === undefined ? {} : { authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (r.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = 'raw' in r.body ? r.body.raw : (JSON.stringify(r.body.json) ?? 'null');
  }
  const res = await target.t.app.inject({ method: r.op.method, url: urlOf(r), headers, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, body: res.body };
}

/**
 * Runs `numRuns` generated requests against `target` (seed: fast-check's
 * global one unless given), in order, and reports every answer. With
 * `stopOnFailure` the property fails at the first 5xx or changed table.
 */
export async function fuzz(target: FuzzTarget, options: { numRuns: number; seed?: number; stopOnFailure?: boolean }): Promise<FuzzReport> {
  const report: FuzzReport = { requests: 0, statuses: new Map(), failures: [] };
  const db = target.t.db;
  // The full dump is taken again only when a transaction wrote since the last one.
  let baseline: { xid: string; dump: TableDump } | undefined;
  const property = fc.asyncProperty(requestArb(target.doc, target.ops, Object.keys(target.tokens), target.known), async (r) => {
    const xid = await nextTransactionId(db);
    if (baseline?.xid !== xid) baseline = { xid, dump: await dumpTables(db) };
    const { status, body } = await send(target, r);
    report.requests++;
    const name = `${r.op.method} ${r.op.path}`;
    const byStatus = report.statuses.get(name) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    report.statuses.set(name, byStatus);
    const changed = status >= 400 && (await nextTransactionId(db)) !== baseline.xid ? changedTables(baseline.dump, await dumpTables(db)) : [];
    if (status >= 500 || changed.length > 0) {
      report.failures.push({ request: describeRequest(r), status, body: body.slice(0, 500), changed });
      return options.stopOnFailure !== true;
    }
    return true;
  });
  await fc.assert(property, { numRuns: options.numRuns, endOnFailure: true, ...(options.seed === undefined ? {} : { seed: options.seed }) }).catch((error: unknown) => {
    if (options.stopOnFailure !== true) throw error;
    if (report.failures.length === 0) throw error;
  });
  return report;
}
