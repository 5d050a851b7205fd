import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gate, Observations, Plan, Stage } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import type { Logger } from '../../internal/logger.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { rolloutFeatureOf } from '../rollouts/rollout-feature.js';
import { getRollout, type RolloutRecord } from '../rollouts/rollout-store.js';
import { MetricSources } from './composite-source.js';

const P = '/api/projects/shop';
const SECRET = 'Bearer very-secret-value';

/** A stats service: checkout latency per cohort (420 ms vs 300 ms), the service's CPU, and a broken endpoint. */
async function startStats(): Promise<{ server: Server; base: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== SECRET) return json(401, {});
    if (url.pathname === '/latency') {
      const cohort = url.searchParams.get('cohort');
      return json(200, { p: cohort === 'treatment' ? 420 : 300, n: cohort === 'treatment' ? 2000 : 18_000 });
    }
    if (url.pathname === '/cpu') return json(200, { cpu: 41.5 });
    return json(503, { error: 'down' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

/** A logger that keeps what it writes. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      out.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream) as unknown as Logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A success gate "< 1000" on `metric`, with `extra` fields. */
const gate = (id: string, metric: string, extra: Partial<Gate> = {}): Gate => ({ id, metric, role: 'success', condition: { type: 'absolute', op: '<', value: 1000 }, ...extra });

describe.each(testBackends())('the composite observation source (%s)', (backend) => {
  let t: TestApp;
  let stats: Awaited<ReturnType<typeof startStats>>;
  let record: RolloutRecord;
  const stage: Stage = {
    id: 'canary',
    name: 'Canary',
    audience: { percentage: 10 },
    minDuration: 0,
    gates: [gate('latency', 'checkout-latency'), gate('cpu', 'cpu-usage'), gate('errors', 'error-rate'), gate('score', 'push-score'), gate('broken', 'broken-metric')],
  };
  const plan: Plan = { id: 'p', name: 'p', version: 1, stages: [stage] };
  const pushed: Observations = {
    metrics: {
      'error-rate': { treatment: { value: 0.4, samples: 5000 }, control: { value: 0.5, samples: 45_000 } },
      'push-score': { treatment: { value: 4.2, samples: 300 } },
      // Pushed under a key the project reads from elsewhere: it must not count.
      'cpu-usage': { treatment: { value: 99, samples: 10 } },
    },
    assignments: { treatment: 5000, control: 45_000 },
  };

  beforeAll(async () => {
    stats = await startStats();
    t = await createTestApp(backend, { config: { rolloutTickMs: 0, metricSourceAllow: ['127.0.0.1'] } });
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'Production' })).status).toBe(201);
    expect((await t.request('POST', `${P}/flags`, { key: 'new-checkout', name: 'New checkout' })).status).toBe(201);
    const headers = { Authorization: SECRET };
    const definitions = [
      {
        key: 'checkout-latency',
        name: 'Checkout latency p95',
        kind: 'quantile',
        unit: 'ms',
        direction: 'lower',
        source: { type: 'http', url: `${stats.base}/latency?cohort={{cohort}}&flag={{flag}}`, headers, valuePath: 'p', samplesPath: 'n' },
      },
      { key: 'cpu-usage', source: { type: 'http', url: `${stats.base}/cpu`, headers, valuePath: 'cpu' } },
      { key: 'push-score', name: 'Score', kind: 'mean', unit: 'score', direction: 'higher' },
      { key: 'broken-metric', name: 'Broken', kind: 'gauge', unit: 'count', direction: 'lower', source: { type: 'http', url: `${stats.base}/broken?cohort={{cohort}}`, headers, valuePath: 'v' } },
    ];
    for (const d of definitions) expect((await t.request('POST', `${P}/metric-definitions`, d)).status).toBe(201);
    const gates = [
      gate('latency-vs-control', 'checkout-latency', { role: 'rollback', condition: { type: 'relative', op: '>', value: 20 }, onBreach: 'rollback_zero', minSamples: 100 }),
      gate('cpu', 'cpu-usage', { condition: { type: 'absolute', op: '<', value: 60 }, minSamples: 1 }),
    ];
    const definition = { stages: [{ id: 'canary', name: 'Canary', audience: { percentage: 10 }, minDuration: 0, gates }, { id: 'all', name: 'All', audience: { percentage: 100 }, minDuration: 0 }] };
    expect((await t.request('POST', `${P}/plans`, { key: 'latency', name: 'Latency canary', definition })).status).toBe(201);
    const started = await t.request('POST', `${P}/rollouts`, { flagKey: 'new-checkout', environmentKey: 'production', planKey: 'latency' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    record = (await getRollout(t.db, started.body.id)) as RolloutRecord;
  });
  afterAll(async () => {
    await t.close();
    stats.server.closeAllConnections();
    await new Promise<void>((resolve) => stats.server.close(() => resolve()));
  });

  it('reads each metric from its project source and the rest from the push source, keeping its assignments', async () => {
    const { logger, lines } = capturingLogger();
    // The stats service listens on loopback, which HTTP JSON sources reach only when allowed.
    const sources = new MetricSources({ db: t.db, push: async () => pushed, logger, allow: ['127.0.0.1'] });
    // Two reads in one minute of the rollout's clock.
    const now = Math.floor(Date.now() / 60_000) * 60_000 + 1000;
    const { observations, problems } = await sources.observe(record, plan, stage, now);
    expect(observations.metrics).toEqual({
      'checkout-latency': { treatment: { value: 420, samples: 2000 }, control: { value: 300, samples: 18_000 } },
      // The service's CPU: no {{cohort}}, so the treatment only; not the 99 pushed under the same key.
      'cpu-usage': { treatment: { value: 41.5, samples: 1 } },
      'error-rate': pushed.metrics['error-rate'],
      'push-score': pushed.metrics['push-score'],
    });
    expect(observations.assignments).toEqual(pushed.assignments);
    // The broken source: no data, and why, logged once for the minute without the header's value.
    expect([...problems].sort((a, b) => String(a.cohort).localeCompare(String(b.cohort)))).toEqual([
      { metric: 'broken-metric', source: 'http', cohort: 'control', message: `${stats.base}/broken answered 503` },
      { metric: 'broken-metric', source: 'http', cohort: 'treatment', message: `${stats.base}/broken answered 503` },
    ]);
    await sources.observe(record, plan, stage, now + 1000);
    const warnings = lines().filter((l) => l.metric === 'broken-metric');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, source: 'http', flagKey: 'new-checkout', environmentKey: 'production', msg: 'metric broken-metric: no data from its http source' });
    expect(JSON.stringify(lines())).not.toContain('very-secret');
  });

  it('keeps the external metrics when the push source fails, and says which metrics lost their data', async () => {
    const { logger, lines } = capturingLogger();
    const sources = new MetricSources({ db: t.db, push: async () => Promise.reject(new Error('database is down')), logger, allow: ['127.0.0.1'] });
    const { observations, problems } = await sources.observe(record, plan, stage, Date.now());
    expect(Object.keys(observations.metrics).sort()).toEqual(['checkout-latency', 'cpu-usage']);
    expect(problems.filter((p) => p.source === 'push').map((p) => p.metric).sort()).toEqual(['error-rate', 'push-score']);
    expect(lines().some((l) => l.msg === 'the push metrics source failed; its metrics have no data this tick')).toBe(true);
  });

  it("passes a tick's prefetch on to the push source, and reads the tick's definitions in one query", async () => {
    const prefetches: { requests: readonly unknown[]; now: number }[] = [];
    const push = Object.assign(async () => pushed, {
      prefetch: async (requests: readonly unknown[], now: number) => {
        prefetches.push({ requests, now });
      },
    });
    let queries = 0;
    const counting: Sql = { query: (text, params) => (queries++, t.db.query(text, params)), exec: (text) => t.db.exec(text) };
    const sources = new MetricSources({ db: counting, push, logger: capturingLogger().logger, allow: ['127.0.0.1'] });
    const now = Date.now();
    const requests = [{ rollout: record, plan, stage }];
    await sources.source.prefetch(requests, now);
    expect(prefetches).toEqual([{ requests, now }]);
    expect(queries).toBe(1);
    const observations = await sources.source(record, plan, stage, now);
    expect(queries).toBe(1);
    expect(observations.metrics['checkout-latency']?.treatment).toEqual({ value: 420, samples: 2000 });
    // Another time than the prefetch's reads the definitions itself.
    await sources.source(record, plan, stage, now + 1);
    expect(queries).toBe(2);
  });

  it("is the app's default source: one controller tick rolls back on the HTTP metric's numbers", async () => {
    const tick = await rolloutFeatureOf(t.app).controller.tick(new Date());
    expect(tick).toMatchObject({ leader: true, evaluated: 1, applied: 1, failed: 0 });
    const rollout = (await t.request('GET', `${P}/rollouts/${record.id}`)).body;
    expect(rollout.status).toBe('rolled_back');
    const decisions = (await t.request('GET', `${P}/rollouts/${record.id}/decisions`)).body.items as any[];
    const rollback = decisions.find((d) => d.kind === 'rollback');
    const latency = rollback.decision.evidence.gates.find((g: { gateId: string }) => g.gateId === 'latency-vs-control');
    expect(latency).toMatchObject({ verdict: 'fail', treatment: { value: 420, samples: 2000 }, control: { value: 300, samples: 18_000 }, estimate: 40 });
    expect(rollback.decision.evidence.gates.find((g: { gateId: string }) => g.gateId === 'cpu')).toMatchObject({ verdict: 'pass', treatment: { value: 41.5 } });
  });

  it('goes back to pushed data once a built-in metric loses its project source', async () => {
    const before = stats.calls();
    expect((await t.request('DELETE', `${P}/metric-definitions/cpu-usage`)).status).toBe(204);
    const sources = new MetricSources({ db: t.db, push: async () => pushed, logger: capturingLogger().logger, allow: ['127.0.0.1'] });
    const { observations } = await sources.observe(record, plan, stage, Date.now());
    expect(observations.metrics['cpu-usage']).toEqual({ treatment: { value: 99, samples: 10 } });
    // checkout-latency (two cohorts) and the broken metric (two cohorts); no CPU request.
    expect(stats.calls() - before).toBe(4);
  });
});
