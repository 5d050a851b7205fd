import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, Stage } from '@rollgate/core';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { rolloutFeatureOf, type RolloutFeature } from '../rollouts/rollout-feature.js';
import type { RolloutRecord } from '../rollouts/rollout-store.js';
import { HOUR, insertPlan, MINUTE, TestClock } from '../rollouts/rollouts.test-helpers.js';
import { metricsObservationSource } from './metrics-source.js';

const P = '/api/projects/shop';
const URL = '/api/client/metrics';

const errorGates: Stage['gates'] = [
  { id: 'errors-low', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } },
  { id: 'errors-vs-control', metric: 'error-rate', role: 'success', condition: { type: 'difference', op: '<', value: 0.5 } },
  { id: 'errors-rollback', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 5 }, onBreach: 'rollback_zero' },
];
/** Two stages gated on error-rate only, so that ingested error rates alone decide. */
const PLAN: Plan = {
  id: 'error-rate-canary',
  name: 'Error-rate canary',
  version: 1,
  stages: [
    { id: 'canary', name: 'Canary', audience: { percentage: 10 }, minDuration: HOUR, minSamples: 100, gates: errorGates },
    { id: 'half', name: 'Half', audience: { percentage: 50 }, minDuration: HOUR, minSamples: 100, gates: errorGates },
    // Serving everyone, there is no control cohort to compare with.
    { id: 'full', name: 'Full', audience: { percentage: 100 }, minDuration: HOUR, minSamples: 100, gates: errorGates.filter((g) => g.condition.type === 'absolute') },
  ],
};

describe.each(testBackends())('metrics ingestion (%s)', (backend) => {
  let t: TestApp;
  let feature: RolloutFeature;
  let server: string;
  let stagingServer: string;
  let browser: string;
  const time = new TestClock();
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    feature = rolloutFeatureOf(t.app);
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    for (const key of ['staging', 'production']) expect((await t.request('POST', `${P}/environments`, { key, name: key })).status).toBe(201);
    const token = async (kind: string, environmentKey: string) => {
      const res = await t.request('POST', '/api/tokens', { kind, name: `${kind} ${environmentKey}`, projectKey: 'shop', environmentKey });
      expect(res.status).toBe(201);
      return res.body.secret as string;
    };
    server = await token('server', 'production');
    stagingServer = await token('server', 'staging');
    browser = await token('browser', 'production');
    await insertPlan(t.db, 'shop', 'canary', PLAN);
  });
  afterAll(() => t.close());

  async function newFlag(): Promise<string> {
    const key = `flag-${++counter}`;
    expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    return key;
  }
  const at = (ms = time.now - 30_000) => new Date(ms).toISOString();
  const batchId = () => `batch-${++counter}`;
  const post = (body: unknown, token = server) => t.request('POST', URL, body, token);

  /** `n` requests of `flag` in `cohort`, `errors` of them failed. */
  function requests(flag: string, cohort: 'treatment' | 'control', n: number, errors: number, when = at()): unknown[] {
    return Array.from({ length: n }, (_, i) => ({ kind: 'metric', metric: 'error-rate', flag, cohort, value: i < errors ? 1 : 0, at: when }));
  }

  async function projectId(): Promise<string> {
    const [row] = await t.db.query<{ id: string }>("select id from projects where key = 'shop'");
    return row!.id;
  }

  it('stores exposures and metrics per minute and aggregates them per cohort over the stage, with a per-minute series', async () => {
    const flag = await newFlag();
    const since = time.now;
    time.advance(2 * MINUTE);
    const first = at(time.now - 90_000);
    const second = at(time.now - 20_000);
    const items = [
      ...requests(flag, 'treatment', 10, 1, first),
      ...requests(flag, 'treatment', 10, 3, second),
      ...requests(flag, 'control', 20, 1, second),
      { kind: 'metric', metric: 'response-time-avg', flag, cohort: 'treatment', value: 100, at: second },
      { kind: 'metric', metric: 'response-time-avg', flag, cohort: 'treatment', value: 200, at: second },
      { kind: 'metric', metric: 'response-time-avg', flag, cohort: 'treatment', value: 300, at: second },
      { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'h1', at: second },
      { kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: 'h2', at: second },
    ];
    const res = await post({ batchId: batchId(), items });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ accepted: items.length, rejected: [], duplicate: false });

    const rows = await t.db.query<{ cohort: string; metric: string; count: number; events: number }>(
      'select cohort, metric, count::int as count, events from metric_minutes where flag_key = $1 order by metric, cohort, minute',
      [flag],
    );
    expect(rows.filter((r) => r.metric === '$exposures').map((r) => [r.cohort, r.count])).toEqual([
      ['control', 1],
      ['treatment', 1],
    ]);

    // Rows from the first whole minute after `since` on (here: both minutes).
    const source = metricsObservationSource(t.db);
    const stage: Stage = {
      id: 's',
      name: 's',
      audience: { percentage: 10 },
      minDuration: 0,
      gates: [
        { id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } },
        { id: 'r', metric: 'response-time-avg', role: 'success', condition: { type: 'absolute', op: '<', value: 500 } },
        { id: 'q', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 500 } },
        { id: 'c', metric: 'support-tickets', role: 'success', condition: { type: 'absolute', op: '<', value: 5 } },
      ],
    };
    const record = { projectId: await projectId(), environmentKey: 'production', flagKey: flag, state: { stageStartedAt: since } } as unknown as RolloutRecord;
    const obs = await source(record, PLAN, stage, time.now);
    const errors = obs.metrics['error-rate'];
    expect(errors?.treatment).toEqual({ value: 20, samples: 20 });
    expect(errors?.control).toEqual({ value: 5, samples: 20 });
    expect(errors?.series?.map((i) => [i.end - i.start, i.treatment?.value, i.control?.value])).toEqual([
      [MINUTE, 10, undefined],
      [MINUTE, 30, 5],
    ]);
    const latency = obs.metrics['response-time-avg'];
    expect(latency?.treatment).toEqual({ value: 200, samples: 3, variance: 10_000 });
    expect(latency?.control).toBeUndefined();
    // A count metric without events over the cohorts' exposures observed zero; quantiles cannot be read from sums (no data).
    expect(obs.metrics['support-tickets']?.treatment).toEqual({ value: 0, samples: 1, observedZero: true });
    expect(obs.metrics['response-time-p95']).toBeUndefined();
    // A stage that started after the data's minute sees none of it.
    const later = time.now - (time.now % MINUTE) + MINUTE;
    expect((await source({ ...record, state: { ...record.state, stageStartedAt: later } } as RolloutRecord, PLAN, stage, later)).metrics).toEqual({});
  });

  it('counts a retried batch once, per environment', async () => {
    const flag = await newFlag();
    const body = { batchId: batchId(), items: requests(flag, 'treatment', 5, 1) };
    expect((await post(body)).body).toEqual({ accepted: 5, rejected: [], duplicate: false });
    const again = await post(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ accepted: 5, rejected: [], duplicate: true });
    const sum = async () =>
      (await t.db.query<{ n: number; e: number }>('select sum(count)::int as n, sum(events)::float8 as e from metric_minutes where flag_key = $1', [flag]))[0];
    expect(await sum()).toEqual({ n: 5, e: 1 });
    // The same batch id in another environment is another batch.
    expect((await post(body, stagingServer)).body).toMatchObject({ accepted: 5, duplicate: false });
    expect(await sum()).toEqual({ n: 10, e: 2 });
  });

  it('reports bad items by index and stores the good ones of the same batch', async () => {
    const flag = await newFlag();
    const good = { kind: 'metric', metric: 'error-rate', flag, cohort: 'control', value: 1, at: at() };
    const items = [
      good,
      { ...good, metric: 'Not A Key' },
      { ...good, value: 3 },
      { ...good, flag: 'no-such-flag' },
      { ...good, at: at(time.now + HOUR) },
      { ...good, at: at(time.now - 8 * 24 * HOUR) },
      { ...good, cohort: 'everyone' },
      { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', at: at() },
      'not an item',
      { ...good, extra: true },
      { ...good, value: 0 },
    ];
    const res = await post({ batchId: batchId(), items });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(2);
    expect(res.body.duplicate).toBe(false);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of res.body.rejected) expect(r.reason).toEqual(expect.any(String));
    expect(res.body.rejected[0].reason).toMatch(/^metric:/);
    expect(res.body.rejected[1].reason).toMatch(/ratio/);
    expect(res.body.rejected[2].reason).toMatch(/no flag/);
    const [row] = await t.db.query<{ n: number; e: number }>('select sum(count)::int as n, sum(events)::float8 as e from metric_minutes where flag_key = $1', [flag]);
    expect(row).toEqual({ n: 2, e: 1 });
  });

  it('refuses a bad envelope with 400 VALIDATION_FAILED and writes nothing', async () => {
    const flag = await newFlag();
    const item = requests(flag, 'treatment', 1, 0)[0];
    const tooMany = Array.from({ length: 1001 }, () => item);
    for (const body of [[1, 2], 'batch', { items: [item] }, { batchId: '', items: [item] }, { batchId: 'x'.repeat(101), items: [item] }, { batchId: 'b', items: tooMany }, { batchId: 'b', items: {} }, { batchId: 'b', items: [item], extra: 1 }]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    const [row] = await t.db.query<{ n: number }>('select count(*)::int as n from metric_minutes where flag_key = $1', [flag]);
    expect(row?.n).toBe(0);
    // Exactly 1,000 items is fine.
    expect((await post({ batchId: batchId(), items: tooMany.slice(0, 1000) })).body).toMatchObject({ accepted: 1000, rejected: [] });
  });

  it('takes server SDK tokens only', async () => {
    const body = { batchId: batchId(), items: [] };
    const admin = await post(body, t.adminToken);
    expect(admin.status).toBe(403);
    expect(admin.body.code).toBe('FORBIDDEN');
    expect((await post(body, browser)).status).toBe(403);
    expect((await post(body, null as unknown as string)).status).toBe(401);
  });

  describe('end to end: a rollout fed only through POST /api/client/metrics', () => {
    async function startRollout(): Promise<{ id: string; flag: string }> {
      const flag = await newFlag();
      const res = await t.request('POST', `${P}/rollouts`, { flagKey: flag, environmentKey: 'production', planKey: 'canary' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { id: res.body.id, flag };
    }
    const rollout = async (id: string) => (await t.request('GET', `${P}/rollouts/${id}`)).body;

    /** Every 10 minutes: one batch of `treatmentErrors` and `controlErrors` per 200 requests, then a tick. */
    async function run(id: string, flag: string, treatmentErrors: number, controlErrors: number, steps: number, until: (r: any) => boolean): Promise<any> {
      for (let i = 0; i < steps; i++) {
        time.advance(10 * MINUTE);
        const items = [...requests(flag, 'treatment', 200, treatmentErrors), ...requests(flag, 'control', 200, controlErrors)];
        const res = await post({ batchId: batchId(), items });
        expect(res.body).toMatchObject({ accepted: 400, rejected: [] });
        await feature.controller.tick(new Date(time.now));
        const r = await rollout(id);
        if (until(r)) return r;
      }
      return rollout(id);
    }

    it('advances on a healthy error rate in both cohorts', async () => {
      const { id, flag } = await startRollout();
      // Before any data: no data, so it holds.
      await feature.controller.tick(time.advance(2 * HOUR));
      expect((await rollout(id)).stageIndex).toBe(0);
      const r = await run(id, flag, 1, 1, 30, (x) => x.stageIndex >= 2);
      expect(r.status).toBe('running');
      expect(r.stageIndex).toBe(2);
      const decisions = (await t.request('GET', `${P}/rollouts/${id}/decisions`)).body.items as any[];
      expect(decisions.filter((d) => d.kind === 'advance').length).toBe(2);
      await t.request('POST', `${P}/rollouts/${id}/abort`, {});
    });

    it("judges a project's own pushed ratio metric by its definition: checked as 0/1 on ingestion, tested as proportions, worded in percent", async () => {
      const def = await t.request('POST', `${P}/metric-definitions`, {
        key: 'checkout-failures',
        name: 'Checkout failures',
        kind: 'ratio',
        unit: 'percent',
        direction: 'lower',
        source: { type: 'push' },
      });
      expect(def.status, JSON.stringify(def.body)).toBe(201);
      const gates: Stage['gates'] = [{ id: 'checkout-vs-control', metric: 'checkout-failures', role: 'rollback', condition: { type: 'difference', op: '>', value: 0 }, onBreach: 'rollback_zero' }];
      await insertPlan(t.db, 'shop', 'checkout-canary', {
        id: 'checkout-canary',
        name: 'Checkout canary',
        version: 1,
        stages: [
          { id: 'canary', name: 'Canary', audience: { percentage: 10 }, minDuration: 24 * HOUR, minSamples: 100, gates },
          { id: 'full', name: 'Full', audience: { percentage: 100 }, minDuration: HOUR, minSamples: 100 },
        ],
      });
      const flag = await newFlag();
      const started = await t.request('POST', `${P}/rollouts`, { flagKey: flag, environmentKey: 'production', planKey: 'checkout-canary' });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const id = started.body.id as string;
      const checkouts = (cohort: 'treatment' | 'control', n: number, failed: number) =>
        Array.from({ length: n }, (_, i) => ({ kind: 'metric', metric: 'checkout-failures', flag, cohort, value: i < failed ? 1 : 0, at: at() }));
      // A ratio takes 1 or 0 per checkout: 3 is refused, by index.
      const bad = await post({ batchId: batchId(), items: [{ kind: 'metric', metric: 'checkout-failures', flag, cohort: 'treatment', value: 3, at: at() }] });
      expect(bad.body).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'value: checkout-failures is a ratio metric: send 1 or 0 per request' }] });
      let r: any;
      for (let i = 0; i < 12; i++) {
        time.advance(10 * MINUTE);
        expect((await post({ batchId: batchId(), items: [...checkouts('treatment', 400, 24), ...checkouts('control', 400, 4)] })).body.accepted).toBe(800);
        await feature.controller.tick(new Date(time.now));
        r = await rollout(id);
        if (r.status !== 'running') break;
      }
      expect(r.status).toBe('rolled_back');
      const rollback = ((await t.request('GET', `${P}/rollouts/${id}/decisions`)).body.items as any[]).find((d) => d.kind === 'rollback');
      const gate = rollback.decision.evidence.gates.find((g: any) => g.gateId === 'checkout-vs-control');
      expect(gate).toMatchObject({ verdict: 'fail', method: 'msprt-proportions' });
      expect(gate.summary).toMatch(/^checkout-failures \+5% vs control \(6% vs 1%\) breaches > 0% by sequential test/);
    });

    it('holds with "no data" when the metrics stop arriving, instead of advancing on the totals gathered before', async () => {
      const { id, flag } = await startRollout();
      // Forty minutes of healthy data, then nothing: the SDKs' pipeline broke.
      await run(id, flag, 1, 1, 4, () => false);
      expect((await rollout(id)).stageIndex).toBe(0);
      for (let i = 0; i < 6; i++) await feature.controller.tick(time.advance(20 * MINUTE));
      const r = await rollout(id);
      // The minimum hour has long passed and the stage totals are healthy, but they are two hours old.
      expect(r).toMatchObject({ status: 'running', stageIndex: 0 });
      expect(r.statusSummary.decision).toBe('hold');
      expect(r.statusSummary.summary).toMatch(/no data for error-rate in the treatment cohort/);
      // Data again: it advances.
      const back = await run(id, flag, 1, 1, 3, (x) => x.stageIndex >= 1);
      expect(back.stageIndex).toBe(1);
      await t.request('POST', `${P}/rollouts/${id}/abort`, {});
    });

    it('rolls back on a 6% treatment error rate', async () => {
      const { id, flag } = await startRollout();
      const r = await run(id, flag, 12, 1, 3, (x) => x.status !== 'running');
      expect(r.status).toBe('rolled_back');
      const decisions = (await t.request('GET', `${P}/rollouts/${id}/decisions`)).body.items as any[];
      const rollback = decisions.find((d) => d.kind === 'rollback');
      expect(rollback?.reason).toMatch(/error/i);
    });
  });
});
