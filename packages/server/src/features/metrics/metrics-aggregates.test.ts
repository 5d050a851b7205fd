/**
 * What SDKs send since they aggregate: aggregate items (the same sums and
 * sketches the server stores, so reading them equals reading the items they
 * stand for), drop reports and the guard's hold on them, unknown metrics
 * refused with a suggestion unless the project accepts free-form metrics,
 * the stage's first partial minute, and count metrics observed at zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HyperLogLog, LogHistogram, murmur3, type Plan, type Stage } from '@rollgate/core';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { rolloutFeatureOf, type RolloutFeature } from '../rollouts/rollout-feature.js';
import type { RolloutRecord } from '../rollouts/rollout-store.js';
import { HOUR, insertPlan, MINUTE, TestClock } from '../rollouts/rollouts.test-helpers.js';
import { metricsObservationSource } from './metrics-source.js';

const P = '/api/projects/shop';
const URL = '/api/client/metrics';
const key = (i: number) => murmur3(`user-${i}`).toString(16).padStart(8, '0');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const STAGE: Stage = {
  id: 's',
  name: 's',
  audience: { percentage: 10 },
  minDuration: 0,
  gates: [
    { id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 50 } },
    { id: 'm', metric: 'response-time-avg', role: 'success', condition: { type: 'absolute', op: '<', value: 500 } },
    { id: 'q', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 500 } },
    { id: 'a', metric: 'adoption', role: 'success', condition: { type: 'absolute', op: '>', value: 1 } },
    { id: 'd', metric: 'data-loss-events', role: 'rollback', condition: { type: 'absolute', op: '>', value: 0 } },
  ],
};
const PLAN: Plan = {
  id: 'guarded',
  name: 'Guarded',
  version: 1,
  stages: [
    {
      id: 'canary',
      name: 'Canary',
      audience: { percentage: 10 },
      minDuration: HOUR,
      minSamples: 100,
      gates: [
        { id: 'errors-low', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 5 } },
        { id: 'data-loss', metric: 'data-loss-events', role: 'rollback', condition: { type: 'absolute', op: '>', value: 0 }, onBreach: 'rollback_zero' },
      ],
    },
    { id: 'full', name: 'Full', audience: { percentage: 100 }, minDuration: HOUR },
  ],
};

describe.each(testBackends())('metric aggregates, drops and unknown metrics (%s)', (backend) => {
  let t: TestApp;
  let feature: RolloutFeature;
  let server: string;
  let projectId: string;
  // Mid-minute, so that a stage starts in a partial minute.
  const time = new TestClock(Math.floor(Date.now() / MINUTE) * MINUTE + 20_000);
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    feature = rolloutFeatureOf(t.app);
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'production' })).status).toBe(201);
    server = (await t.request('POST', '/api/tokens', { kind: 'server', name: 'server', projectKey: 'shop', environmentKey: 'production' })).body.secret;
    projectId = (await t.db.query<{ id: string }>("select id from projects where key = 'shop'"))[0]!.id;
    await insertPlan(t.db, 'shop', 'guarded', PLAN);
  });
  afterAll(() => t.close());

  async function newFlag(): Promise<string> {
    const flag = `flag-${++counter}`;
    expect((await t.request('POST', `${P}/flags`, { key: flag, name: flag })).status).toBe(201);
    return flag;
  }
  const post = (items: unknown[]) => t.request('POST', URL, { batchId: `batch-${++counter}`, items }, server);
  const at = () => new Date(time.now - 5_000).toISOString();
  const record = (flag: string, stageStartedAt: number) => ({ projectId, environmentKey: 'production', flagKey: flag, state: { stageStartedAt } }) as unknown as RolloutRecord;

  it('reads aggregate items exactly as the items they stand for: ratio, mean, quantile and unique metrics, per cohort and variant', async () => {
    const single = await newFlag();
    const aggregated = await newFlag();
    const since = time.now - 10_000;
    const when = at();
    const latencies = Array.from({ length: 300 }, (_, i) => 50 + ((i * 37) % 400));
    const items = (flag: string) => [
      ...Array.from({ length: 40 }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i), at: when })),
      ...Array.from({ length: 60 }, (_, i) => ({ kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: key(100 + i), at: when })),
    ];
    // One item per observation.
    const singles = [
      ...items(single),
      ...Array.from({ length: 200 }, (_, i) => ({ kind: 'metric', metric: 'error-rate', flag: single, cohort: 'treatment', variant: 'on', value: i % 10 === 0 ? 1 : 0, at: when })),
      ...latencies.map((value) => ({ kind: 'metric', metric: 'response-time-avg', flag: single, cohort: 'control', value, at: when })),
      ...latencies.map((value) => ({ kind: 'metric', metric: 'response-time-p95', flag: single, cohort: 'treatment', variant: 'on', value, at: when })),
      ...Array.from({ length: 30 }, (_, i) => ({ kind: 'metric', metric: 'adoption', flag: single, cohort: 'treatment', variant: 'on', contextKey: key(i % 12), value: 1, at: when })),
    ];
    // The same as aggregates, as the SDK builds them.
    const histogram = new LogHistogram();
    for (const v of latencies) histogram.add(v);
    const adopters = new HyperLogLog();
    for (let i = 0; i < 12; i++) adopters.add(key(i));
    const sum = latencies.reduce((a, b) => a + b, 0);
    const sumSq = latencies.reduce((a, b) => a + b * b, 0);
    const base = { kind: 'aggregate', flag: aggregated, at: when };
    const aggregates = [
      ...items(aggregated),
      { ...base, metric: 'error-rate', cohort: 'treatment', variant: 'on', count: 200, sum: 20, sumSq: 20, nonZero: 20 },
      { ...base, metric: 'response-time-avg', cohort: 'control', count: 300, sum, sumSq, nonZero: 300 },
      { ...base, metric: 'response-time-p95', cohort: 'treatment', variant: 'on', count: 300, sum, sumSq, nonZero: 300, histogram: b64(histogram.toBytes()) },
      { ...base, metric: 'adoption', cohort: 'treatment', variant: 'on', count: 30, sum: 30, sumSq: 30, nonZero: 30, contexts: b64(adopters.toBytes()) },
    ];
    expect((await post(singles)).body).toEqual({ accepted: singles.length, rejected: [], duplicate: false });
    expect((await post(aggregates)).body).toEqual({ accepted: aggregates.length, rejected: [], duplicate: false });
    const source = metricsObservationSource(t.db);
    const a = await source(record(single, since), PLAN, STAGE, time.now);
    const b = await source(record(aggregated, since), PLAN, STAGE, time.now);
    expect(b).toEqual(a);
    expect(a.metrics['error-rate']?.treatment).toEqual({ value: 10, samples: 200 });
    expect(a.metrics['response-time-p95']?.treatment?.samples).toBe(300);
    expect(a.metrics.adoption?.treatment?.value).toBeCloseTo(30, 0);
    const rows = async (flag: string) =>
      t.db.query<{ metric: string; count: number; sum: number; events: number }>('select metric, count::int as count, sum, events from metric_minutes where flag_key = $1 order by metric, cohort', [flag]);
    expect(await rows(aggregated)).toEqual(await rows(single));
  });

  it('refuses aggregates that do not fit their metric, by index, and stores the good ones', async () => {
    const flag = await newFlag();
    const histogram = new LogHistogram();
    histogram.add(120);
    const base = { kind: 'aggregate', flag, cohort: 'treatment', at: at() };
    const items = [
      { ...base, metric: 'error-rate', count: 10, sum: 11, sumSq: 11, nonZero: 10 },
      { ...base, metric: 'response-time-p95', count: 1, sum: 120, sumSq: 14_400, nonZero: 1 },
      { ...base, metric: 'response-time-p95', count: 2, sum: 120, sumSq: 14_400, nonZero: 1, histogram: b64(histogram.toBytes()) },
      { ...base, metric: 'adoption', count: 2, sum: 2, sumSq: 2, nonZero: 2 },
      { ...base, metric: 'adoption', count: 2, sum: 2, sumSq: 2, nonZero: 2, contexts: b64(new Uint8Array([9, 9, 9])) },
      { ...base, metric: 'response-time-avg', count: 2, sum: 2, sumSq: 2, nonZero: 3 },
      { ...base, metric: 'response-time-avg', count: 0, sum: 0, sumSq: 0, nonZero: 0 },
      { ...base, metric: 'response-time-avg', count: 1, sum: 1, sumSq: 1, nonZero: 1, histogram: 'not base64!' },
      { kind: 'dropped', flag, cohort: 'treatment', exposures: 0, metrics: 0, at: at() },
      { ...base, metric: 'response-time-p95', count: 1, sum: 120, sumSq: 14_400, nonZero: 1, histogram: b64(histogram.toBytes()) },
    ];
    const res = await post(items);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const reasons = res.body.rejected.map((r: { reason: string }) => r.reason);
    expect(reasons[0]).toMatch(/^sum: error-rate is a ratio metric/);
    expect(reasons[1]).toMatch(/^histogram: response-time-p95 is a quantile metric/);
    expect(reasons[2]).toBe('histogram: holds 1 values where count says 2');
    expect(reasons[3]).toMatch(/^contexts: adoption counts distinct contexts/);
    expect(reasons[4]).toMatch(/^contexts: not a HyperLogLog/);
    expect(reasons[5]).toMatch(/^nonZero:/);
    const [row] = await t.db.query<{ n: number }>('select sum(count)::int as n from metric_minutes where flag_key = $1', [flag]);
    expect(row?.n).toBe(1);
  });

  it('refuses unknown metrics with the nearest known key, accepts defined ones, and accepts any once the project allows free-form metrics', async () => {
    const flag = await newFlag();
    const item = (metric: string) => ({ kind: 'metric', metric, flag, cohort: 'treatment', value: 1, at: at() });
    const aggregate = (metric: string) => ({ kind: 'aggregate', metric, flag, cohort: 'treatment', count: 1, sum: 1, sumSq: 1, nonZero: 1, at: at() });
    const res = await post([item('eror-rate'), item('error-rate'), aggregate('checkout-total'), item('checkout-totl')]);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toEqual([
      { index: 0, reason: expect.stringMatching(/^metric: unknown metric "eror-rate": neither in the catalog nor defined in this project; did you mean error-rate\? /) },
      { index: 2, reason: expect.stringMatching(/^metric: unknown metric "checkout-total": neither in the catalog nor defined in this project; Define it/) },
      { index: 3, reason: expect.stringMatching(/freeFormMetrics/) },
    ]);
    // A project's own metric is known, and is suggested for a typo of it.
    const def = await t.request('POST', `${P}/metric-definitions`, { key: 'checkout-total', name: 'Checkout total', kind: 'mean', unit: 'count', direction: 'higher', source: { type: 'push' } });
    expect(def.status, JSON.stringify(def.body)).toBe(201);
    const again = await post([aggregate('checkout-total'), item('checkout-totl')]);
    expect(again.body.accepted).toBe(1);
    expect(again.body.rejected[0].reason).toMatch(/did you mean checkout-total\?/);
    // The project opts in: free-form metrics are stored (as means).
    const project = (await t.request('GET', P)).body;
    expect(project.freeFormMetrics).toBe(false);
    const patched = await t.request('PATCH', P, { version: project.version, freeFormMetrics: true });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.freeFormMetrics).toBe(true);
    expect((await post([item('eror-rate'), item('anything.goes')])).body).toMatchObject({ accepted: 2, rejected: [] });
    const bad = await t.request('PATCH', P, { version: patched.body.version, freeFormMetrics: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect((await t.request('PATCH', P, { version: patched.body.version, freeFormMetrics: false })).body.freeFormMetrics).toBe(false);
  });

  it('a count metric with exposures and no event observed zero; without exposures it has no data', async () => {
    const flag = await newFlag();
    const since = time.now - 10_000;
    const source = metricsObservationSource(t.db);
    const stage: Stage = { ...STAGE, gates: (STAGE.gates ?? []).filter((g) => g.id === 'd') };
    expect((await source(record(flag, since), PLAN, stage, time.now)).metrics['data-loss-events']).toBeUndefined();
    await post(Array.from({ length: 30 }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i), count: 2, at: at() })));
    const zero = (await source(record(flag, since), PLAN, stage, time.now)).metrics['data-loss-events'];
    expect(zero?.treatment).toEqual({ value: 0, samples: 60, observedZero: true });
    expect(zero?.control).toBeUndefined();
    expect(zero?.series).toEqual([{ start: time.now - (time.now % MINUTE), end: time.now - (time.now % MINUTE) + MINUTE, treatment: { value: 0, samples: 60, observedZero: true } }]);
    // One event: counted over the same exposures.
    await post([{ kind: 'metric', metric: 'data-loss-events', flag, cohort: 'treatment', value: 1, at: at() }]);
    expect((await source(record(flag, since), PLAN, stage, time.now)).metrics['data-loss-events']?.treatment).toEqual({ value: 1, samples: 60 });
  });

  describe('through the controller', () => {
    async function startRollout(): Promise<{ id: string; flag: string }> {
      const flag = await newFlag();
      const res = await t.request('POST', `${P}/rollouts`, { flagKey: flag, environmentKey: 'production', planKey: 'guarded' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { id: res.body.id, flag };
    }
    const latest = async (id: string) => ((await t.request('GET', `${P}/rollouts/${id}/decisions`)).body.items as any[])[0];
    const traffic = (flag: string, n: number, when = at()) => [
      ...Array.from({ length: n }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i), at: when })),
      { kind: 'aggregate', metric: 'error-rate', flag, cohort: 'treatment', variant: 'on', count: n, sum: 1, sumSq: 1, nonZero: 1, at: when },
    ];

    it("counts the stage's first partial minute and states the overlap; counts zero data-loss events over the exposures", async () => {
      // The stage starts 20 s into a minute; everything arrives within that minute.
      time.now = Math.floor(time.now / MINUTE) * MINUTE + MINUTE + 20_000;
      const { id, flag } = await startRollout();
      time.advance(15_000);
      expect((await post(traffic(flag, 500))).body).toMatchObject({ accepted: 501, rejected: [] });
      await feature.controller.tick(new Date(time.now));
      const decision = await latest(id);
      expect(decision.reason).not.toMatch(/no data/);
      const data = decision.decision.evidence.data;
      expect(data.window).toEqual({ from: time.now - 35_000, overlapMs: 20_000 });
      expect(data.observedZero).toEqual([{ metric: 'data-loss-events', cohort: 'treatment', exposures: 500 }]);
      const gate = decision.decision.evidence.gates.find((g: any) => g.gateId === 'errors-low');
      expect(gate.treatment).toMatchObject({ value: 0.2, samples: 500 });
      await t.request('POST', `${P}/rollouts/${id}/abort`, {});
    });

    it('holds a rollout whose SDKs reported drops, for a person, with the counts; a resume acknowledges them', async () => {
      const { id, flag } = await startRollout();
      time.advance(2 * HOUR);
      await post([...traffic(flag, 500), { kind: 'dropped', flag, cohort: 'treatment', exposures: 7, metrics: 3, at: at() }]);
      await feature.controller.tick(new Date(time.now));
      const r = (await t.request('GET', `${P}/rollouts/${id}`)).body;
      expect(r).toMatchObject({ status: 'held', stageIndex: 0 });
      const decision = await latest(id);
      expect(decision.decision).toMatchObject({ kind: 'hold', trigger: 'dropped' });
      expect(decision.reason).toMatch(/^Holding: incomplete data: SDKs reported dropping data of the treatment cohort \(7 exposures and 3 metric observations\)/);
      expect(decision.decision.evidence.data.dropped.treatment).toMatchObject({ exposures: 7, metrics: 3 });
      // A person looked and resumed: the stage goes on.
      expect((await t.request('POST', `${P}/rollouts/${id}/resume`, {})).status).toBe(200);
      time.advance(MINUTE);
      await post(traffic(flag, 500));
      await feature.controller.tick(new Date(time.now));
      expect((await t.request('GET', `${P}/rollouts/${id}`)).body.stageIndex).toBe(1);
      await t.request('POST', `${P}/rollouts/${id}/abort`, {});
    });
  });
});
