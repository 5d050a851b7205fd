import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_CATALOG } from '@rollgate/core';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, auditActions, type TestUser } from '../flags/flag-testing.test-helpers.js';
import { planValidationContext } from '../plans/plan-store.js';

const P = '/api/projects/metrics';
const D = `${P}/metric-definitions`;
const SECRET = 'Bearer s3cret-token-do-not-echo';

const CHECKOUT_ERRORS = {
  key: 'checkout-errors',
  name: 'Checkout errors',
  description: 'Failed checkouts / checkouts',
  kind: 'ratio',
  unit: 'percent',
  direction: 'lower',
  source: {
    type: 'prometheus',
    query: 'sum(rate(checkout_errors_total{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}])) / sum(rate(checkout_total{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}])) * 100',
    samplesQuery: 'sum(increase(checkout_total{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}]))',
    baseUrl: 'http://prometheus.internal:9090',
    headers: { Authorization: SECRET },
  },
};

/** A plan of one stage gated on `metric`. */
const planOn = (metric: string) => ({
  stages: [
    {
      id: 'canary',
      name: 'Canary',
      audience: { percentage: 5 },
      minDuration: 0,
      gates: [{ id: 'g', metric, role: 'success', condition: { type: 'absolute', op: '<', value: 1 } }],
    },
  ],
});

/** Everything a refused write must leave as it was. */
async function stateOf(t: TestApp): Promise<unknown> {
  const rows = await t.db.query('select key, built_in, name, kind, source, archived_at, version from metric_definitions order by key');
  const [audit] = await t.db.query<{ n: number }>('select count(*)::int as n from audit_events');
  return { rows, audit: audit?.n };
}

describe.each(testBackends())('metric definitions (%s)', (backend) => {
  let t: TestApp;
  let viewer: TestUser;
  let editor: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend, { config: { rolloutTickMs: 0 } });
    expect((await t.request('POST', '/api/projects', { key: 'metrics', name: 'Metrics' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'Production' })).status).toBe(201);
    viewer = await addUser(t, 'viewer');
    editor = await addUser(t, 'editor');
  });
  afterAll(() => t.close());

  it('creates a project metric with a Prometheus source, showing header values redacted in the answer, GET and the audit log, and storing them', async () => {
    const res = await t.request('POST', D, CHECKOUT_ERRORS, editor.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const redacted = { ...CHECKOUT_ERRORS.source, headers: { Authorization: '[redacted]' } };
    expect(res.body).toMatchObject({ projectKey: 'metrics', key: 'checkout-errors', name: 'Checkout errors', kind: 'ratio', unit: 'percent', direction: 'lower', builtIn: false, version: 1 });
    expect(res.body.source).toEqual(redacted);
    expect(JSON.stringify(res.body)).not.toContain('s3cret');
    const got = await t.request('GET', `${D}/checkout-errors`, undefined, viewer.token);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    expect((await auditActions(t, 'metrics', 1))[0]).toBe('metric_definition.created');
    const audit = (await t.request('GET', '/api/audit?projectKey=metrics&limit=1')).body.items[0];
    expect(audit).toMatchObject({ resourceType: 'metric_definition', resourceKey: 'checkout-errors', actor: { id: editor.id }, after: { key: 'checkout-errors', source: redacted } });
    const [row] = await t.db.query<{ body: string }>('select after::text as body from audit_events order by seq desc limit 1');
    expect(row?.body).not.toContain('s3cret');
    // Stored as given: the source needs it.
    const [stored] = await t.db.query<{ source: { headers: Record<string, string> } }>("select source from metric_definitions where key = 'checkout-errors'");
    expect(stored?.source.headers).toEqual({ Authorization: SECRET });
  });

  it('defaults the source to push, and lists definitions by key with cursor paging', async () => {
    for (const key of ['a-score', 'b-latency']) {
      const res = await t.request('POST', D, { key, name: key, kind: 'mean', unit: 'ms', direction: 'lower' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ key, description: '', source: { type: 'push' }, builtIn: false });
    }
    const page1 = await t.request('GET', `${D}?limit=2`, undefined, viewer.token);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((d: { key: string }) => d.key)).toEqual(['a-score', 'b-latency']);
    expect(page1.body.nextCursor).toBe('b-latency');
    const page2 = await t.request('GET', `${D}?limit=2&cursor=b-latency`);
    expect(page2.body).toMatchObject({ items: [{ key: 'checkout-errors', source: { headers: { Authorization: '[redacted]' } } }], nextCursor: null });
  });

  it('gives a built-in metric a source: only the source, the rest from the catalog', async () => {
    const source = { type: 'prometheus', query: 'avg(rate(process_cpu_seconds_total{env="{{environment}}"}[{{window}}])) * 100' };
    const res = await t.request('POST', D, { key: 'cpu-usage', source }, editor.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const cpu = METRIC_CATALOG.find((m) => m.key === 'cpu-usage');
    expect(res.body).toMatchObject({ key: 'cpu-usage', builtIn: true, name: cpu?.name, kind: 'gauge', unit: 'percent', direction: 'lower', source, version: 1 });

    // Describing fields belong to the catalog, on create and on update.
    const before = await stateOf(t);
    const renamed = await t.request('POST', D, { key: 'error-rate', name: 'Errors', source: { type: 'push' } });
    expect(renamed.status).toBe(400);
    expect(renamed.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'name' }] } });
    expect(renamed.body.details.issues[0].message).toContain('built-in metric');
    const patched = await t.request('PATCH', `${D}/cpu-usage`, { version: 1, kind: 'mean' });
    expect(patched.status).toBe(400);
    expect(patched.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'kind' }] } });
    expect(await stateOf(t)).toEqual(before);

    const again = await t.request('POST', D, { key: 'cpu-usage', source });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ALREADY_EXISTS');
    expect(again.body.message).toContain('PATCH');
  });

  it('lists built-in and project metrics together, with their sources', async () => {
    const res = await t.request('GET', `${P}/metrics`, undefined, viewer.token);
    expect(res.status).toBe(200);
    const items = res.body.items as { key: string; builtIn: boolean; source: { type: string; headers?: unknown }; version: number | null; kind: string }[];
    expect(items.map((m) => m.key)).toEqual([...METRIC_CATALOG.map((m) => m.key), 'a-score', 'b-latency', 'checkout-errors']);
    expect(items.find((m) => m.key === 'error-rate')).toMatchObject({ builtIn: true, source: { type: 'push' }, version: null, kind: 'ratio' });
    expect(items.find((m) => m.key === 'cpu-usage')).toMatchObject({ builtIn: true, source: { type: 'prometheus' }, version: 1 });
    expect(items.find((m) => m.key === 'checkout-errors')).toMatchObject({ builtIn: false, source: { type: 'prometheus', headers: { Authorization: '[redacted]' } }, version: 1 });
    expect(JSON.stringify(res.body)).not.toContain('s3cret');
    expect((await t.request('GET', '/api/projects/ghost/metrics')).status).toBe(404);
  });

  it('updates with optimistic concurrency; a header sent back as [redacted] keeps its stored value', async () => {
    const current = (await t.request('GET', `${D}/checkout-errors`)).body;
    const res = await t.request('PATCH', `${D}/checkout-errors`, { version: 1, name: 'Checkout failures', source: { ...current.source, headers: { Authorization: '[redacted]', 'X-Scope-OrgID': 'shop' }, timeoutMs: 2000 } }, editor.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ version: 2, name: 'Checkout failures', kind: 'ratio', source: { timeoutMs: 2000, headers: { Authorization: '[redacted]', 'X-Scope-OrgID': '[redacted]' } } });
    const [stored] = await t.db.query<{ source: { headers: Record<string, string> } }>("select source from metric_definitions where key = 'checkout-errors'");
    expect(stored?.source.headers).toEqual({ Authorization: SECRET, 'X-Scope-OrgID': 'shop' });
    const audit = (await t.request('GET', '/api/audit?projectKey=metrics&limit=1')).body.items[0];
    expect(audit).toMatchObject({ action: 'metric_definition.updated', before: { version: 1, name: 'Checkout errors' }, after: { version: 2 } });
    expect(JSON.stringify(audit)).not.toContain('s3cret');

    const before = await stateOf(t);
    const stale = await t.request('PATCH', `${D}/checkout-errors`, { version: 1, name: 'Lost' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
    expect(JSON.stringify(stale.body)).not.toContain('s3cret');
    expect(await stateOf(t)).toEqual(before);

    // A new header value replaces the stored one.
    const rotated = await t.request('PATCH', `${D}/checkout-errors`, { version: 2, source: { ...current.source, headers: { Authorization: 'Bearer rotated' } } });
    expect(rotated.status).toBe(200);
    const [after] = await t.db.query<{ source: { headers: Record<string, string> } }>("select source from metric_definitions where key = 'checkout-errors'");
    expect(after?.source.headers).toEqual({ Authorization: 'Bearer rotated' });
  });

  it('refuses invalid definitions with a 4xx naming the field, and changes nothing', async () => {
    const before = await stateOf(t);
    const prom = (source: Record<string, unknown>) => ({ key: 'bad', name: 'Bad', kind: 'gauge', unit: 'count', direction: 'lower', source: { type: 'prometheus', query: 'up', ...source } });
    const http = (source: Record<string, unknown>) => ({ key: 'bad', name: 'Bad', kind: 'gauge', unit: 'count', direction: 'lower', source: { type: 'http', url: 'https://stats.example.com/v1?flag={{flag}}', valuePath: 'value', ...source } });
    const cases: [string, string, unknown, number, string, string?][] = [
      ['POST', D, { ...CHECKOUT_ERRORS, key: 'Not A Key' }, 400, 'VALIDATION_FAILED', 'key'],
      ['POST', D, { key: 'no-kind', name: 'x', unit: 'ms', direction: 'lower' }, 400, 'VALIDATION_FAILED', 'kind'],
      ['POST', D, { key: 'bad-kind', name: 'x', kind: 'median', unit: 'ms', direction: 'lower' }, 400, 'VALIDATION_FAILED', 'kind'],
      ['POST', D, { key: 'bad-unit', name: 'x', kind: 'mean', unit: 'bytes', direction: 'lower' }, 400, 'VALIDATION_FAILED', 'unit'],
      ['POST', D, { ...CHECKOUT_ERRORS, key: 'extra', colour: 'red' }, 400, 'VALIDATION_FAILED', ''],
      ['POST', D, prom({ query: 'rate(x{flag="{{flg}}"}[{{window}}])' }), 400, 'INVALID_CONFIGURATION', 'source.query'],
      ['POST', D, prom({ query: 'rate(x{flag="{{flag}"}[5m])' }), 400, 'INVALID_CONFIGURATION', 'source.query'],
      ['POST', D, prom({ query: 'sum(x{cohort="{{cohort}}"})', samplesQuery: 'sum(y)' }), 400, 'INVALID_CONFIGURATION', 'source.samplesQuery'],
      ['POST', D, prom({ baseUrl: 'prometheus:9090' }), 400, 'INVALID_CONFIGURATION', 'source.baseUrl'],
      ['POST', D, prom({ baseUrl: 'http://admin:pw@prometheus:9090' }), 400, 'INVALID_CONFIGURATION', 'source.baseUrl'],
      ['POST', D, prom({ headers: { 'Bad Header': 'x' } }), 400, 'VALIDATION_FAILED', 'source.headers.Bad Header'],
      ['POST', D, prom({ headers: { Authorization: '[redacted]' } }), 400, 'INVALID_CONFIGURATION', 'source.headers.Authorization'],
      ['POST', D, prom({ timeoutMs: 60_000 }), 400, 'VALIDATION_FAILED', 'source.timeoutMs'],
      ['POST', D, http({ url: 'file:///etc/passwd' }), 400, 'INVALID_CONFIGURATION', 'source.url'],
      ['POST', D, http({ url: 'https://stats.example.com/{{since}}' }), 400, 'INVALID_CONFIGURATION', 'source.url'],
      ['POST', D, http({ valuePath: 'data.items[' }), 400, 'INVALID_CONFIGURATION', 'source.valuePath'],
      ['POST', D, http({ samplesPath: 'a..b' }), 400, 'INVALID_CONFIGURATION', 'source.samplesPath'],
      ['POST', D, http({ valuePath: undefined }), 400, 'VALIDATION_FAILED', 'source.valuePath'],
      ['POST', D, { ...CHECKOUT_ERRORS, source: { type: 'statsd' } }, 400, 'VALIDATION_FAILED', 'source.type'],
      ['POST', D, { ...CHECKOUT_ERRORS }, 409, 'ALREADY_EXISTS'],
      ['PATCH', `${D}/checkout-errors`, { version: 3, source: { type: 'http', url: 'https://x.example.com', valuePath: '$[' } }, 400, 'INVALID_CONFIGURATION', 'source.valuePath'],
      ['PATCH', `${D}/checkout-errors`, { version: 3, source: { type: 'http', url: 'https://x.example.com', valuePath: 'v', headers: { 'X-Other': '[redacted]' } } }, 400, 'INVALID_CONFIGURATION', 'source.headers.X-Other'],
      ['PATCH', `${D}/checkout-errors`, { name: 'no version' }, 400, 'VALIDATION_FAILED', 'version'],
      ['PATCH', `${D}/ghost`, { version: 1 }, 404, 'NOT_FOUND'],
      ['DELETE', `${D}/ghost`, undefined, 404, 'NOT_FOUND'],
      ['POST', '/api/projects/ghost/metric-definitions', CHECKOUT_ERRORS, 404, 'NOT_FOUND'],
    ];
    for (const [method, url, body, status, code, path] of cases) {
      const res = await t.request(method as 'POST', url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.code).toBe(code);
      if (path !== undefined && path !== '') expect(res.body.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await stateOf(t)).toEqual(before);
  });

  it('refuses writes and test reads to viewers with 403', async () => {
    const before = await stateOf(t);
    const writes: [string, string, unknown][] = [
      ['POST', D, { ...CHECKOUT_ERRORS, key: 'by-viewer' }],
      ['PATCH', `${D}/a-score`, { version: 1, name: 'x' }],
      ['DELETE', `${D}/a-score`, undefined],
      ['POST', `${P}/metrics/a-score/read`, { flagKey: 'f', environmentKey: 'production' }],
    ];
    for (const [method, url, body] of writes) {
      const res = await t.request(method as 'POST', url, body, viewer.token);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
    expect((await t.request('GET', D, undefined, null)).status).toBe(401);
    expect(await stateOf(t)).toEqual(before);
  });

  it("lets plans name the project's metrics, and still refuses unknown ones", async () => {
    const ok = await t.request('POST', `${P}/plans`, { key: 'checkout', name: 'Checkout', definition: planOn('checkout-errors') }, editor.token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const unknown = await t.request('POST', `${P}/plans`, { key: 'typo', name: 'Typo', definition: planOn('checkout-erors') }, editor.token);
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('INVALID_CONFIGURATION');
    expect(unknown.body.details.issues).toEqual([{ path: 'definition.stages[0].gates[0].metric', message: 'unknown metric "checkout-erors"' }]);
    const [project] = await t.db.query<{ id: string }>("select id from projects where key = 'metrics'");
    const context = await planValidationContext(t.db, project!.id);
    expect([...context.knownMetrics]).toEqual(expect.arrayContaining(['error-rate', 'cpu-usage', 'checkout-errors', 'a-score']));
  });

  it('refuses to delete a metric a plan or an active rollout reads; deletes others; lets the key be used again', async () => {
    const before = await stateOf(t);
    const refused = await t.request('DELETE', `${D}/checkout-errors`, undefined, editor.token);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'in use', plans: ['checkout'], rollouts: [] } });
    expect(refused.body.message).toContain('"checkout"');
    expect(await stateOf(t)).toEqual(before);

    // A rollout of the plan keeps the metric in use after the plan is archived.
    expect((await t.request('POST', `${P}/flags`, { key: 'new-checkout', name: 'New checkout' })).status).toBe(201);
    const rollout = await t.request('POST', `${P}/rollouts`, { flagKey: 'new-checkout', environmentKey: 'production', planKey: 'checkout' });
    expect(rollout.status, JSON.stringify(rollout.body)).toBe(201);
    expect((await t.request('POST', `${P}/plans/checkout/archive`, { version: 1 })).status).toBe(200);
    const stillRead = await t.request('DELETE', `${D}/checkout-errors`);
    expect(stillRead.status).toBe(409);
    expect(stillRead.body.details).toMatchObject({ plans: [], rollouts: [rollout.body.id] });
    expect((await t.request('POST', `${P}/rollouts/${rollout.body.id}/abort`, {})).status).toBe(200);

    const deleted = await t.request('DELETE', `${D}/checkout-errors`, undefined, editor.token);
    expect(deleted.status).toBe(204);
    expect((await auditActions(t, 'metrics', 1))[0]).toBe('metric_definition.deleted');
    expect((await t.request('GET', `${D}/checkout-errors`)).status).toBe(404);
    expect((await t.request('GET', `${P}/metrics`)).body.items.map((m: { key: string }) => m.key)).not.toContain('checkout-errors');
    const plan = await t.request('POST', `${P}/plans`, { key: 'after-delete', name: 'x', definition: planOn('checkout-errors') });
    expect(plan.status).toBe(400);

    // The source of a built-in metric can always go: it is read from pushed data again.
    expect((await t.request('DELETE', `${D}/cpu-usage`)).status).toBe(204);
    expect((await t.request('GET', `${P}/metrics`)).body.items.find((m: { key: string }) => m.key === 'cpu-usage')).toMatchObject({ source: { type: 'push' }, version: null });

    const revived = await t.request('POST', D, { key: 'checkout-errors', name: 'Checkout errors again', kind: 'ratio', unit: 'percent', direction: 'lower' });
    expect(revived.status).toBe(201);
    expect(revived.body).toMatchObject({ name: 'Checkout errors again', source: { type: 'push' }, version: 5 });
  });
});
