import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../testing.test-helpers.js';
import { changedTables, dumpTables } from '../db/table-dump.test-helpers.js';
import { checkInputValue, MAX_JSON_DEPTH, parseJsonBody } from './input-guard.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('checkInputValue and parseJsonBody', () => {
  it('names the first bad string by its path, for values and keys', () => {
    expect(() => checkInputValue({ a: [{ b: 'x\u0000y' }] }, 'body')).toThrow(expect.objectContaining({ code: 'INVALID_CHARACTER', details: { where: 'body', path: 'a[0].b', character: 'NUL' } }));
    expect(() => checkInputValue({ 'we ird\udc01': 1 }, 'body')).toThrow(expect.objectContaining({ details: expect.objectContaining({ path: '["we ird\\udc01"]', character: 'lone surrogate' }) }));
    for (const lone of ['\ud800', 'a\udbffb', '\udc00', 'x\udfff', '\udc00\ud800']) expect(() => checkInputValue(lone, 'query')).toThrow(expect.objectContaining({ code: 'INVALID_CHARACTER' }));
    // Pairs are characters outside the Basic Multilingual Plane, and fine.
    expect(() => checkInputValue({ name: 'rocket \ud83d\ude80 \u{10ffff}', list: ['é', '中文'] }, 'body')).not.toThrow();
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more without recursion`, () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeInstanceOf(Array);
    expect(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1))).toThrow(expect.objectContaining({ code: 'JSON_TOO_DEEP' }));
    expect(() => parseJsonBody(nested(200_000))).toThrow(expect.objectContaining({ code: 'JSON_TOO_DEEP', details: expect.objectContaining({ maxDepth: MAX_JSON_DEPTH }) }));
  });

  it('keeps a __proto__ key as an own property without changing any prototype', () => {
    const value = parseJsonBody('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => parseJsonBody('\ufeff{"a":1}')).not.toThrow();
    // An empty body is no body: routes whose fields are all optional take it, the others name what they need.
    expect(parseJsonBody('   ')).toBeUndefined();
    expect(() => parseJsonBody('{"a":')).toThrow(expect.objectContaining({ code: 'INVALID_JSON' }));
  });
});

describe.each(testBackends())('hostile encodings over HTTP (%s)', (backend) => {
  let t: TestApp;
  let server: string;
  const flag = 'checkout';

  beforeAll(async () => {
    t = await createTestApp(backend);
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    expect((await t.request('POST', '/api/projects/shop/environments', { key: 'production', name: 'Production' })).status).toBe(201);
    expect((await t.request('POST', '/api/projects/shop/flags', { key: flag, name: flag })).status).toBe(201);
    const token = await t.request('POST', '/api/tokens', { kind: 'server', name: 'server', projectKey: 'shop', environmentKey: 'production' });
    server = token.body.secret;
  });
  afterAll(() => t.close());

  const raw = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: string, token = t.adminToken) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });

  /** Sends a request that must be refused with `code`, and proves no table changed. */
  async function refused(code: string, send: () => Promise<{ statusCode: number; body: string }>): Promise<Record<string, unknown>> {
    const before = await dumpTables(t.db);
    const res = await send();
    expect(res.statusCode, res.body).toBe(400);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ code, requestId: expect.any(String) });
    expect(changedTables(before, await dumpTables(t.db))).toEqual([]);
    return body.details;
  }

  it('refuses NUL in a query cursor, a path id and a body string', async () => {
    expect(await refused('INVALID_CHARACTER', () => raw('GET', '/api/projects?cursor=ab%00cd'))).toMatchObject({ where: 'query', path: 'cursor', character: 'NUL' });
    expect(await refused('INVALID_CHARACTER', () => raw('GET', '/api/audit?projectKey=shop&cursor=%00'))).toMatchObject({ where: 'query' });
    expect(await refused('INVALID_CHARACTER', () => raw('GET', '/api/projects/sh%00op/flags'))).toMatchObject({ where: 'params', path: 'projectKey' });
    expect(await refused('INVALID_CHARACTER', () => raw('GET', `/api/projects/shop/rollouts/rlo%00x`))).toMatchObject({ where: 'params' });
    expect(await refused('INVALID_CHARACTER', () => raw('POST', '/api/projects', JSON.stringify({ key: 'nul', name: 'a\u0000b' })))).toMatchObject({ where: 'body', path: 'name' });
    expect(await refused('INVALID_CHARACTER', () => raw('POST', '/api/projects/shop/segments', JSON.stringify({ key: 'seg', name: 's', definition: { included: ['u\u0000'] } })))).toMatchObject({
      path: 'definition.included[0]',
    });
  });

  it('refuses lone surrogates in JSON-stored and text fields, and keeps real pairs', async () => {
    const json = { key: 'cfg', name: 'cfg', type: 'json', variations: [{ key: 'on', value: { label: 'x\udc01' } }, { key: 'off', value: {} }] };
    expect(await refused('INVALID_CHARACTER', () => raw('POST', '/api/projects/shop/flags', JSON.stringify(json)))).toMatchObject({ path: 'variations[0].value.label', character: 'lone surrogate' });
    expect(await refused('INVALID_CHARACTER', () => raw('POST', '/api/projects', '{"key":"surr","name":"\\ud800 name"}'))).toMatchObject({ path: 'name' });
    const created = await t.request('POST', '/api/projects', { key: 'emoji', name: 'Launch \ud83d\ude80', description: '中文 é' });
    expect(created.status).toBe(201);
    expect((await t.request('GET', '/api/projects/emoji')).body).toMatchObject({ name: 'Launch 🚀', description: '中文 é' });
  });

  it('refuses JSON nested 10,000 deep with a code, as a body of any endpoint', async () => {
    const deep = '{"key":"deep","name":"d","description":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}';
    expect(await refused('JSON_TOO_DEEP', () => raw('POST', '/api/projects', deep))).toMatchObject({ where: 'body', maxDepth: MAX_JSON_DEPTH });
    expect(await refused('JSON_TOO_DEEP', () => raw('POST', '/api/client/metrics', `{"batchId":"b","items":${nested(10_000)}}`, server))).toBeDefined();
    // 1,000 deep is refused the same way, before validation; shallow bad input is the schema's.
    expect(await refused('JSON_TOO_DEEP', () => raw('PUT', `/api/projects/shop/flags/${flag}/environments/production`, nested(1_000)))).toBeDefined();
    expect(await refused('VALIDATION_FAILED', () => raw('POST', '/api/projects', JSON.stringify({ key: 'x', name: JSON.parse(nested(3)) })))).toBeDefined();
  });

  describe('metric batches', () => {
    const at = () => new Date(Date.now() - 30_000).toISOString();
    const item = () => ({ kind: 'metric', metric: 'error-rate', flag, cohort: 'treatment', value: 1, at: at() });

    it('never lets two distinct batch ids collapse into one', async () => {
      for (const id of ['surr-\udc01', 'surr-\udbff']) {
        expect(await refused('INVALID_CHARACTER', () => raw('POST', '/api/client/metrics', JSON.stringify({ batchId: id, items: [item()] }), server))).toMatchObject({ path: 'batchId' });
      }
      // Ids that differ only outside the Basic Multilingual Plane stay two batches.
      for (const id of ['surr-\ud83d\ude00', 'surr-\ud83d\ude01']) {
        const res = await t.request('POST', '/api/client/metrics', { batchId: id, items: [item()] }, server);
        expect(res.body).toEqual({ accepted: 1, rejected: [], duplicate: false });
      }
    });

    it('rejects only the item with a __proto__ key, by index', async () => {
      const good = JSON.stringify(item());
      const poisoned = good.replace(/^\{/, '{"__proto__":{"value":5},');
      const res = await raw('POST', '/api/client/metrics', `{"batchId":"proto-1","items":[${good},${poisoned},${good}]}`, server);
      expect(res.statusCode, res.body).toBe(200);
      const body = JSON.parse(res.body);
      expect(body).toMatchObject({ accepted: 2, duplicate: false });
      expect(body.rejected).toEqual([{ index: 1, reason: expect.stringContaining('__proto__') }]);
    });
  });
});
