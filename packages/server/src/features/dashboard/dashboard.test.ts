import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_000_GRADUAL_PRODUCTION_ROLLOUT } from '@rollgate/core';
import { buildApp } from '../../app.js';
import { defaultConfig } from '../../config.js';
import { createTestApp, openTestDatabase, productionWithoutApproval, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { baseUrlOf, openStream } from '../client/client.test-helpers.js';
import { rolloutFeatureOf } from '../rollouts/rollout-feature.js';
import { DAY, FakeSource, insertPlan, TestClock } from '../rollouts/rollouts.test-helpers.js';
import { downsample, mergeAggregates } from './metric-series.js';
import { createUserWithToken } from '../users/user-fixtures.test-helpers.js';
import { DASHBOARD_CSP } from './dashboard-assets.js';

const INDEX = '<!doctype html><html lang="en"><head><script type="module" src="/assets/index-AbC123.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('the built dashboard at /', () => {
  let dir: string;
  let t: Awaited<ReturnType<typeof buildApp>>;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rollgate-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'index-AbC123.js'), SCRIPT);
    await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const database = await openTestDatabase('pglite');
    t = await buildApp({ config: defaultConfig({ rolloutTickMs: 0 }), db: database.db, dashboard: { dir } });
    await t.ready();
    close = async () => {
      await t.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    };
  });
  afterAll(() => close());

  it('serves index.html at / and at every page of the app, never cached, with a strict CSP', async () => {
    for (const url of ['/', '/rollouts/rol_123', '/flags', '/plans/new', '/sign-in']) {
      const res = await t.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(res.body).toBe(INDEX);
    }
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
  });

  it('serves hashed assets as immutable, gzipped when asked, with ETag revalidation', async () => {
    const res = await t.inject({ method: 'GET', url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.rawPayload).toString()).toBe(SCRIPT);
    const plain = await t.inject({ method: 'GET', url: '/assets/index-AbC123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);
    const again = await t.inject({ method: 'GET', url: '/assets/index-AbC123.js', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const icon = await t.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('answers unknown files and API paths with the error body, not the page', async () => {
    const missing = await t.inject({ method: 'GET', url: '/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    const api = await t.inject({ method: 'GET', url: '/api/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('says how to build the dashboard when it is not built', async () => {
    const database = await openTestDatabase('pglite');
    const bare = await buildApp({ config: defaultConfig({ rolloutTickMs: 0 }), db: database.db, dashboard: { dir: join(dir, 'missing') } });
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build');
    await bare.close();
    await database.drop();
  });
});

describe.each(testBackends())('dashboard overview and stream (%s)', (backend) => {
  let t: TestApp;
  const time = new TestClock();
  const fake = new FakeSource();
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0, heartbeatMs: 200 } });
    await productionWithoutApproval(t);
    rolloutFeatureOf(t.app).setObservationSource(fake.source);
    await insertPlan(t.db, 'default', 'gradual', SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = baseUrlOf(t.app.server.address());
  });
  afterAll(() => t.close());

  it("lists every active rollout with the seed 000 status and what it waits for; viewers may read it", async () => {
    expect((await t.request('POST', '/api/projects/default/flags', { key: 'new-checkout', name: 'New checkout' })).status).toBe(201);
    const started = await t.request('POST', '/api/projects/default/rollouts', {
      flagKey: 'new-checkout',
      environmentKey: 'production',
      planKey: 'gradual',
      preStartChecklist: (SEED_000_GRADUAL_PRODUCTION_ROLLOUT.preStartChecklist ?? []).map((i) => i.id),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const viewer = await createUserWithToken(t, 'viewer');
    const res = await t.request('GET', '/api/dashboard/overview', undefined, viewer.token);
    expect(res.status).toBe(200);
    const row = res.body.items.find((r: any) => r.id === started.body.id);
    expect(row).toMatchObject({
      projectKey: 'default',
      projectName: 'Default',
      flagKey: 'new-checkout',
      environmentKey: 'production',
      status: 'running',
      statusSummary: { phase: 1, phases: 5, percentage: 10 },
    });
    expect(['green', 'yellow', 'red']).toContain(row.statusSummary.health);
    expect(row.statusSummary.waitingFor.length).toBeGreaterThan(0);
    // The same status as the rollout's own page.
    const detail = await t.request('GET', `/api/projects/default/rollouts/${started.body.id}`);
    expect(row.statusSummary).toEqual(detail.body.statusSummary);
    expect((await t.request('GET', '/api/dashboard/overview', undefined, null)).status).toBe(401);
    // A person with a role only in another project sees none of this project's rollouts.
    expect((await t.request('POST', '/api/projects', { key: 'elsewhere', name: 'Elsewhere' })).status).toBe(201);
    const outsider = await createUserWithToken(t, 'none' as never);
    expect((await t.request('PUT', `/api/projects/elsewhere/members/${outsider.id}`, { role: 'viewer' })).status).toBe(200);
    const theirs = await t.request('GET', '/api/dashboard/overview', undefined, outsider.token);
    expect(theirs.status).toBe(200);
    expect(theirs.body.items.find((r: any) => r.projectKey === 'default')).toBeUndefined();
    const bad = await t.request('GET', '/api/dashboard/overview?finishedDays=-1');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it("gives each gate's estimate over the stage as the guard judged it, ending at the decision now", async () => {
    const [active] = await t.db.query<{ id: string }>("select id from rollouts where status = 'running' limit 1");
    const startedAt = time.now;
    fake.overrides.set('error-rate', { value: 2, since: startedAt + DAY });
    time.advance(2 * DAY);
    const res = await t.request('GET', `/api/projects/default/rollouts/${active?.id}/metric-series`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ rolloutId: active?.id, stageIndex: 0, stageName: '10% Rollout', now: time.now });
    const tile = res.body.metrics.find((m: any) => m.metric === 'error-rate');
    expect(tile).toMatchObject({ name: expect.any(String), unit: 'percent', direction: 'lower' });
    const [gate] = tile.gates;
    expect(gate).toMatchObject({ gateId: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 0.5 }, verdict: 'fail' });
    expect(gate.summary).toMatch(/error/i);
    expect(gate.points).toHaveLength(96);
    const last = gate.points[gate.points.length - 1];
    expect(last).toMatchObject({ t: time.now, estimate: gate.estimate, verdict: 'fail' });
    // Before the regression began, the guard saw the healthy value and passed the gate.
    const early = gate.points.find((p: any) => p.t < startedAt + DAY && p.estimate !== null);
    expect(early.estimate).toBeLessThan(0.5);
    expect(early.verdict).not.toBe('fail');
    expect(tile.raw.length).toBe(48);
    expect(tile.raw[tile.raw.length - 1]).toMatchObject({ treatment: 2, treatmentSamples: 1000, controlSamples: 1000 });
    fake.overrides.clear();
    const missing = await t.request('GET', '/api/projects/default/rollouts/rol_nope/metric-series');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });

  it('streams every change (a flag write, a rollout hold) to open dashboards within a second', async () => {
    const stream = await openStream(baseUrl, t.adminToken, { path: '/api/dashboard/stream' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    const ready = await stream.waitFor((m) => m.event === 'ready');
    expect((await t.request('POST', '/api/projects/default/flags', { key: 'live-one', name: 'Live one' })).status).toBe(201);
    const flag = await stream.waitFor((m) => m.event === 'change' && JSON.parse(m.data ?? '{}').resourceKey === 'live-one', 3_000);
    const event = JSON.parse(flag.data ?? '{}');
    expect(event).toMatchObject({ resourceType: 'flag', projectKey: 'default', actor: { kind: 'user' } });
    expect(Number(flag.id)).toBeGreaterThan(Number(ready.id));
    const [active] = await t.db.query<{ id: string }>("select id from rollouts where status = 'running' limit 1");
    expect((await t.request('POST', `/api/projects/default/rollouts/${active?.id}/hold`, { reason: 'checking the numbers' })).status).toBe(200);
    const held = await stream.waitFor((m) => m.event === 'change' && JSON.parse(m.data ?? '{}').action === 'rollout.hold', 3_000);
    expect(JSON.parse(held.data ?? '{}')).toMatchObject({ resourceType: 'rollout', resourceId: active?.id });
    await stream.waitFor((m) => m.comment !== undefined, 3_000);
    stream.close();

    // A client that reconnects with Last-Event-ID gets what it missed.
    const resumed = await openStream(baseUrl, t.adminToken, { path: '/api/dashboard/stream', lastEventId: String(ready.id) });
    await resumed.waitFor((m) => m.event === 'change' && JSON.parse(m.data ?? '{}').resourceKey === 'live-one', 3_000);
    resumed.close();
    const bad = await openStream(baseUrl, t.adminToken, { path: '/api/dashboard/stream', lastEventId: 'abc' }).catch((e: Error) => e);
    expect(String(bad)).toMatch(/400/);
  });
});

describe('merging cohort aggregates', () => {
  it('weights values by samples and pools variances as one sample would', () => {
    const xs = [1, 2, 3, 4];
    const ys = [10, 20];
    const stats = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return { value: m, samples: v.length, variance: v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1) };
    };
    const merged = mergeAggregates(stats(xs), stats(ys));
    const all = stats([...xs, ...ys]);
    expect(merged?.samples).toBe(6);
    expect(merged?.value).toBeCloseTo(all.value, 12);
    expect(merged?.variance).toBeCloseTo(all.variance, 12);
    expect(mergeAggregates(undefined, stats(xs))).toEqual(stats(xs));
    expect(mergeAggregates({ value: 1, samples: 5, exceeding: [{ bound: 100, count: 2 }] }, { value: 3, samples: 5, exceeding: [{ bound: 100, count: 1 }] })?.exceeding).toEqual([{ bound: 100, count: 3 }]);
  });

  it('downsamples a long series into buckets that keep every sample', () => {
    const series = Array.from({ length: 10_000 }, (_, i) => ({ start: i * 60_000, end: (i + 1) * 60_000, treatment: { value: i % 2, samples: 10 } }));
    const out = downsample(series, 2_000);
    expect(out).toHaveLength(2_000);
    expect(out.reduce((a, s) => a + (s.treatment?.samples ?? 0), 0)).toBe(100_000);
    expect(out[0]).toMatchObject({ start: 0, end: 5 * 60_000, treatment: { value: 0.4, samples: 50 } });
  });
});
