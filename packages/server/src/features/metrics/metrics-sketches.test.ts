/**
 * Sketches through the HTTP API and back out of the observation source:
 * quantiles from histograms, unique counts from HyperLogLogs, variants,
 * attribution by context key, exposure counts, exact assignment counts,
 * concurrent batches, retention and the batched read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HyperLogLog, murmur3, sequentialGateAssessor, type Observations, type Plan, type Stage } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { shopWithServerToken } from './metrics.test-helpers.js';
import type { RolloutRecord } from '../rollouts/rollout-store.js';
import { DAY, HOUR, MINUTE, TestClock } from '../rollouts/rollouts.test-helpers.js';
import { metricsObservationSource, readObservations } from './metrics-source.js';
import { ingestBatch, pruneMetrics } from './metrics-store.js';
import { mulberry32 } from '../../../../core/src/stats/stats.test-helpers.js';

const P = '/api/projects/shop';
const URL = '/api/client/metrics';
const PLAN = { id: 'p', name: 'p', version: 1, stages: [] } as unknown as Plan;

/** Seeded uniform randomness in [0, 1). */
const random = mulberry32;

/** Lognormal latencies around exp(mu) ms. */
function latencies(n: number, mu: number, seed: number): number[] {
  const r = random(seed);
  return Array.from({ length: n }, () => Math.round(Math.exp(mu + 0.6 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())) * 10) / 10);
}

/** The lower-rank order statistic the histograms approximate. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

const key = (i: number, salt = '') => murmur3(`user-${salt}${i}`).toString(16).padStart(8, '0');

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

describe.each(testBackends())('metric sketches (%s)', (backend) => {
  let t: TestApp;
  let server: string;
  let environmentId: string;
  let projectId: string;
  const time = new TestClock();
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    server = await shopWithServerToken(t);
    const [row] = await t.db.query<{ id: string; project_id: string }>("select e.id, e.project_id from environments e join projects p on p.id = e.project_id where p.key = 'shop' and e.key = 'production'");
    environmentId = row!.id;
    projectId = row!.project_id;
  });
  afterAll(() => t.close());

  async function newFlag(): Promise<string> {
    const flag = `flag-${++counter}`;
    expect((await t.request('POST', `${P}/flags`, { key: flag, name: flag })).status).toBe(201);
    return flag;
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  const post = async (items: unknown[], batchId = `batch-${++counter}`) => {
    const res = await t.request('POST', URL, { batchId, items }, server);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { accepted: number; rejected: { index: number; reason: string }[]; duplicate: boolean };
  };
  const record = (flag: string, stageStartedAt: number, id = flag) => ({ id, projectId, environmentKey: 'production', flagKey: flag, state: { stageStartedAt } }) as unknown as RolloutRecord;
  const observe = async (flag: string, stage: Stage, since: number) => metricsObservationSource(t.db)(record(flag, since), PLAN, stage, time.now);
  const stageOf = (gates: Stage['gates'], extra: Partial<Stage> = {}): Stage => ({ id: 's', name: 's', audience: { percentage: 10 }, minDuration: 0, gates, ...extra });

  it('reads p95 and p75 from histograms merged over batches and minutes, with exceedance counts at the gates\' bounds', async () => {
    const flag = await newFlag();
    const since = time.now;
    time.advance(3 * MINUTE);
    const minutes = [time.now - 150_000, time.now - 90_000, time.now - 30_000];
    const treatment = latencies(3000, 6, 1);
    const control = latencies(3000, 5.8, 2);
    const lcp = latencies(900, 7, 3);
    const items = [
      ...treatment.map((value, i) => ({ kind: 'metric', metric: 'response-time-p95', flag, cohort: 'treatment', value, at: iso(minutes[i % 3] as number) })),
      ...control.map((value, i) => ({ kind: 'metric', metric: 'response-time-p95', flag, cohort: 'control', value, at: iso(minutes[i % 3] as number) })),
      ...lcp.map((value, i) => ({ kind: 'metric', metric: 'page-load-lcp', flag, cohort: 'treatment', value, at: iso(minutes[i % 3] as number) })),
    ];
    // Seven batches in a shuffled order, so that every row is merged several times.
    const r = random(4);
    const shuffled = items.map((item) => ({ item, order: r() })).sort((a, b) => a.order - b.order).map((x) => x.item);
    for (const batch of chunks(shuffled, 1000)) expect((await post(batch)).rejected).toEqual([]);

    const stage = stageOf(
      [
        { id: 'abs', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 1000 } },
        { id: 'rel', metric: 'response-time-p95', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } },
        { id: 'lcp', metric: 'page-load-lcp', role: 'success', condition: { type: 'absolute', op: '<', value: 2500 } },
      ],
      { matrices: [{ id: 'm', metric: 'response-time-p95', bands: [{ below: 600, action: 'continue' }, { action: 'rollback' }] }] },
    );
    const obs = await observe(flag, stage, since);
    const p95 = obs.metrics['response-time-p95'];
    const t95 = exactQuantile(treatment, 0.95);
    const c95 = exactQuantile(control, 0.95);
    expect(p95?.treatment?.samples).toBe(3000);
    expect(p95?.control?.samples).toBe(3000);
    expect(Math.abs((p95?.treatment?.value as number) - t95) / t95).toBeLessThanOrEqual(0.01);
    expect(Math.abs((p95?.control?.value as number) - c95) / c95).toBeLessThanOrEqual(0.01);
    const lcp75 = obs.metrics['page-load-lcp']?.treatment?.value as number;
    expect(Math.abs(lcp75 - exactQuantile(lcp, 0.75)) / exactQuantile(lcp, 0.75)).toBeLessThanOrEqual(0.01);

    // Exceedance counts are exact at every bound given, and bracket each gate's bound.
    const exceeding = p95?.treatment?.exceeding ?? [];
    for (const e of exceeding) expect(e.count, `above ${e.bound}`).toBe(treatment.filter((v) => v > e.bound).length);
    const relBound = (p95?.control?.value as number) * 1.5;
    for (const bound of [1000, 600, relBound]) {
      expect(exceeding.some((e) => e.bound <= bound && e.bound >= bound / 1.021), `below ${bound}`).toBe(true);
      expect(exceeding.some((e) => e.bound >= bound && e.bound <= bound * 1.021), `above ${bound}`).toBe(true);
    }
    // The per-minute series reads each minute's own histogram, with the same bounds.
    expect(p95?.series?.map((i) => i.treatment?.samples)).toEqual([1000, 1000, 1000]);
    for (let k = 0; k < 3; k++) {
      const minute = treatment.filter((_, i) => i % 3 === k);
      const exact = exactQuantile(minute, 0.95);
      expect(Math.abs((p95?.series?.[k]?.treatment?.value as number) - exact) / exact, `minute ${k}`).toBeLessThanOrEqual(0.01);
      for (const e of p95?.series?.[k]?.treatment?.exceeding ?? []) expect(e.count).toBe(minute.filter((v) => v > e.bound).length);
    }
    expect(p95?.series?.[0]?.treatment?.exceeding?.length).toBeGreaterThan(0);

    // The sequential assessor can now test the quantile gate (it needs exceedance counts).
    const result = sequentialGateAssessor()(stage.gates![1]!, { observation: p95, minSamples: 100, stageStartedAt: since, now: time.now, definition: { key: 'response-time-p95', name: 'Response time p95', unit: 'ms', kind: 'quantile', direction: 'lower', quantile: 0.95 } });
    expect(result.method).toBe('msprt-quantile-share');
    expect(result.verdict).not.toBe('no_data');
  });

  it('counts distinct contexts with HyperLogLogs: adoption = distinct adopters / distinct exposed, in percent', async () => {
    const flag = await newFlag();
    const since = time.now;
    time.advance(2 * MINUTE);
    const at = iso(time.now - 30_000);
    const exposures = [
      ...Array.from({ length: 3000 }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i, 't'), count: 1 + (i % 4), at })),
      ...Array.from({ length: 2000 }, (_, i) => ({ kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: key(i, 'c'), at })),
    ];
    // 1,200 treatment adopters (each twice, in different batches), 300 contexts that sent 0, and 100 control adopters.
    const adoption = [
      ...Array.from({ length: 2400 }, (_, i) => ({ kind: 'metric', metric: 'adoption', flag, cohort: 'treatment', contextKey: key(i % 1200, 't'), value: 1, at })),
      ...Array.from({ length: 300 }, (_, i) => ({ kind: 'metric', metric: 'adoption', flag, cohort: 'treatment', contextKey: key(2000 + i, 't'), value: 0, at })),
      ...Array.from({ length: 100 }, (_, i) => ({ kind: 'metric', metric: 'adoption', flag, cohort: 'control', contextKey: key(i, 'c'), value: 1, at })),
    ];
    for (const batch of chunks([...exposures, ...exposures.slice(0, 500), ...adoption], 1000)) expect((await post(batch)).rejected).toEqual([]);

    const obs = await observe(flag, stageOf([{ id: 'a', metric: 'adoption', role: 'success', condition: { type: 'absolute', op: '>=', value: 30 } }]), since);
    const a = obs.metrics.adoption;
    expect(Math.abs((a?.treatment?.samples as number) - 3000) / 3000).toBeLessThan(0.05);
    expect(Math.abs((a?.treatment?.value as number) - 40) / 40).toBeLessThan(0.07);
    expect(Math.abs((a?.control?.value as number) - 5) / 5).toBeLessThan(0.07);
    expect(a?.series).toHaveLength(1);
    // One variant in the treatment, no experiment: not split.
    expect(a?.variants).toBeUndefined();
    // Exposure rows count evaluations (with their counts); the sketch counts contexts.
    const [row] = await t.db.query<{ n: number }>(`select sum(count)::int as n from metric_minutes where flag_key = $1 and metric = '$exposures' and cohort = 'treatment'`, [flag]);
    expect(row?.n).toBe(3000 * 2.5 + [...Array(500).keys()].reduce((n, i) => n + 1 + (i % 4), 0));
    // Assignments are exact.
    expect(obs.assignments).toEqual({ treatment: 3000, control: 2000 });
  });

  it('attributes items without a cohort to the context\'s latest exposure, and rejects those with none', async () => {
    const flag = await newFlag();
    const since = time.now;
    time.advance(2 * MINUTE);
    const at = (ago: number) => iso(time.now - ago);
    expect(
      await post([
        { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'ctx-a', at: at(50_000) },
        { kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: 'ctx-b', at: at(50_000) },
      ]),
    ).toMatchObject({ accepted: 2, rejected: [] });
    const m = (contextKey: string, value: number, extra: object = {}) => ({ kind: 'metric', metric: 'error-rate', flag, contextKey, value, at: at(10_000), ...extra });
    const res = await post([
      m('ctx-a', 1),
      m('ctx-b', 0),
      m('ctx-unknown', 1),
      // In the same batch: an exposure, then the item it attributes.
      { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'ctx-c', at: at(20_000) },
      m('ctx-c', 0),
      // A cohort given wins over attribution.
      m('ctx-a', 0, { cohort: 'control' }),
    ]);
    expect(res.accepted).toBe(5);
    expect(res.rejected).toEqual([{ index: 2, reason: expect.stringMatching(/^contextKey: no exposure of this context/) }]);
    const rows = await t.db.query<{ cohort: string; variant: string; count: number; events: number }>(
      `select cohort, variant, count::int as count, events from metric_minutes where flag_key = $1 and metric = 'error-rate' order by cohort, variant`,
      [flag],
    );
    expect(rows).toEqual([
      { cohort: 'control', variant: '', count: 1, events: 0 },
      { cohort: 'control', variant: 'off', count: 1, events: 0 },
      { cohort: 'treatment', variant: 'on', count: 2, events: 1 },
    ]);
    // ctx-a moves to the control: from then on its items count there, and it is assigned once, to the control.
    time.advance(MINUTE);
    await post([{ kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: 'ctx-a', at: at(5_000) }]);
    // A late exposure (older than the stored one) does not move it back.
    await post([{ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'ctx-a', at: at(100_000) }]);
    expect((await post([m('ctx-a', 1, { at: at(1_000) })])).accepted).toBe(1);
    const [moved] = await t.db.query<{ cohort: string; variant: string; first: number; last: number }>(
      `select cohort, variant, (extract(epoch from first_seen) * 1000)::float8 as first, (extract(epoch from last_seen) * 1000)::float8 as last from metric_contexts where flag_key = $1 and context_key = 'ctx-a'`,
      [flag],
    );
    expect(moved).toEqual({ cohort: 'control', variant: 'off', first: time.now - 5_000, last: time.now - 5_000 });
    const obs = await observe(flag, stageOf([{ id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } }]), since);
    expect(obs.assignments).toEqual({ treatment: 1, control: 2 });
    // Control: ctx-b's 0, ctx-a's 0 sent with a cohort, and ctx-a's 1 after it moved.
    expect(obs.metrics['error-rate']?.control?.samples).toBe(3);
    expect(obs.metrics['error-rate']?.control?.value).toBeCloseTo(100 / 3, 10);
    expect(obs.metrics['error-rate']?.treatment).toEqual({ value: 50, samples: 2 });
  });

  it('splits the treatment by variant for an experiment, and counts each group\'s contexts', async () => {
    const flag = await newFlag();
    const since = time.now;
    time.advance(2 * MINUTE);
    const at = iso(time.now - 30_000);
    const items: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const variant = ['a', 'b', 'c'][i % 3] as string;
      items.push({ kind: 'exposure', flag, variant, cohort: 'treatment', contextKey: key(i, flag), count: 3, at });
      items.push({ kind: 'metric', metric: 'error-rate', flag, cohort: 'treatment', variant, value: variant === 'b' && i % 2 === 0 ? 1 : 0, at });
      items.push({ kind: 'metric', metric: 'response-time-p95', flag, contextKey: key(i, flag), value: variant === 'c' ? 500 : 100, at });
    }
    for (let i = 0; i < 100; i++) items.push({ kind: 'exposure', flag, variant: 'off', cohort: 'control', contextKey: key(i, `${flag}-c`), at });
    for (const batch of chunks(items, 1000)) expect((await post(batch)).rejected).toEqual([]);
    const experiment = { groups: ['a', 'b', 'c'].map((variation) => ({ variation, weight: 33_333 })), control: 'a' };
    const stage = stageOf(
      [
        { id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } },
        { id: 'p', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 300 } },
      ],
      { experiment } as unknown as Partial<Stage>,
    );
    const obs = await observe(flag, stage, since);
    expect(obs.metrics['error-rate']?.variants).toEqual({ a: { value: 0, samples: 100 }, b: { value: 50, samples: 100 }, c: { value: 0, samples: 100 } });
    const p95 = obs.metrics['response-time-p95']?.variants;
    expect(Object.keys(p95 ?? {})).toEqual(['a', 'b', 'c']);
    expect(Math.abs((p95?.c?.value as number) - 500) / 500).toBeLessThanOrEqual(0.01);
    expect(p95?.c?.exceeding?.find((e) => e.bound >= 300)?.count).toBe(100);
    expect(obs.assignments).toEqual({ treatment: 300, control: 100, variants: { a: 100, b: 100, c: 100 } });
    // Outside an experiment, a treatment whose data shows several variants is split as well.
    const plain = await observe(flag, stageOf(stage.gates), since);
    expect(plain.metrics['error-rate']?.variants).toEqual(obs.metrics['error-rate']?.variants);
    expect(plain.assignments?.variants).toEqual({ a: 100, b: 100, c: 100 });
  });

  it('counts each context once in the assignments, only when seen since the stage started', async () => {
    const flag = await newFlag();
    const before = time.now - 2 * MINUTE;
    const old = Array.from({ length: 50 }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i, `${flag}-old`), at: iso(time.now - 30_000) }));
    expect((await post(old)).accepted).toBe(50);
    time.advance(10 * MINUTE);
    const since = time.now;
    time.advance(5 * MINUTE);
    for (let round = 0; round < 5; round++) {
      const items = Array.from({ length: 200 }, (_, i) => ({ kind: 'exposure', flag, variant: i < 40 ? 'on' : 'off', cohort: i < 40 ? 'treatment' : 'control', contextKey: key(i, flag), at: iso(time.now - (round + 1) * 30_000) }));
      expect((await post(items)).accepted).toBe(200);
    }
    const stage = stageOf([]);
    expect((await observe(flag, stage, since)).assignments).toEqual({ treatment: 40, control: 160 });
    expect((await observe(flag, stage, before)).assignments).toEqual({ treatment: 90, control: 160 });
  });

  it('takes the exposure count, and refuses bad counts, labels and items without a cohort or context', async () => {
    const flag = await newFlag();
    const at = iso(time.now - 10_000);
    const exposure = { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'k1', at };
    const metric = { kind: 'metric', metric: 'error-rate', flag, cohort: 'control', value: 1, at };
    const items = [
      { ...exposure, count: 7 },
      { ...exposure, count: 0 },
      { ...exposure, count: 1.5 },
      { ...exposure, count: -2 },
      { ...metric, labels: { route: '/checkout', region: 'eu' } },
      { ...metric, labels: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`l${i}`, 'x'])) },
      { ...metric, labels: { 'bad label': 'x' } },
      { ...metric, cohort: undefined },
      { kind: 'metric', metric: 'adoption', flag, cohort: 'treatment', value: 1, at },
      { ...metric, variant: '' },
      exposure,
    ];
    const res = await post(items);
    expect(res.accepted).toBe(3);
    expect(res.rejected.map((r) => r.index)).toEqual([1, 2, 3, 5, 6, 7, 8, 9]);
    expect(res.rejected.find((r) => r.index === 7)?.reason).toMatch(/^cohort: give the cohort, or the contextKey/);
    expect(res.rejected.find((r) => r.index === 8)?.reason).toMatch(/^contextKey: adoption counts distinct contexts/);
    expect(res.rejected.find((r) => r.index === 5)?.reason).toMatch(/at most 10 labels/);
    const [row] = await t.db.query<{ n: number }>(`select sum(count)::int as n from metric_minutes where flag_key = $1 and metric = '$exposures'`, [flag]);
    expect(row?.n).toBe(8);
  });

  it('merges concurrent batches of the same rows correctly, and counts a batch sent twice at once once', async () => {
    const flag = await newFlag();
    const now = time.now;
    const at = iso(now - 20_000);
    const values = latencies(4000, 5, 9);
    const batches = chunks(
      values.map((value, i) => [
        { kind: 'metric', metric: 'response-time-p95', flag, cohort: 'treatment', value, at },
        { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: key(i % 1500, flag), at },
      ]).flat(),
      400,
    );
    const results = await Promise.all([
      ...batches.map((items, i) => ingestBatch(t.db, environmentId, `concurrent-${flag}-${i}`, items, now)),
      ingestBatch(t.db, environmentId, `concurrent-${flag}-0`, batches[0] as unknown[], now),
    ]);
    expect(results.filter((r) => r.duplicate)).toHaveLength(1);
    expect(results.every((r) => r.rejected.length === 0)).toBe(true);
    const obs = await observe(flag, stageOf([{ id: 'p', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 300 } }]), now - 5 * MINUTE);
    const p95 = obs.metrics['response-time-p95']?.treatment;
    expect(p95?.samples).toBe(4000);
    const exact = exactQuantile(values, 0.95);
    expect(Math.abs((p95?.value as number) - exact) / exact).toBeLessThanOrEqual(0.01);
    expect(obs.assignments).toEqual({ treatment: 1500, control: 0 });
    const [row] = await t.db.query<{ n: number; hll: Uint8Array }>(`select count::int as n, hll from metric_minutes where flag_key = $1 and metric = '$exposures'`, [flag]);
    expect(row?.n).toBe(4000);
    const estimate = HyperLogLog.fromBytes(row!.hll)?.estimate() as number;
    expect(Math.abs(estimate - 1500) / 1500).toBeLessThan(0.05);
  });

  it('merges whole hours from hour rows and the partial ends from minute rows; the series covers the sustained window', async () => {
    const flag = await newFlag();
    const since = time.now + 17 * MINUTE + 20_000;
    const minutes = Array.from({ length: 32 }, (_, k) => since + 40_000 + k * 10 * MINUTE); // five hours and a bit, every ten minutes
    time.now = (minutes.at(-1) as number) + 2 * MINUTE;
    const values: number[] = [];
    const items: unknown[] = [];
    minutes.forEach((m, k) => {
      for (let j = 0; j < 25; j++) {
        const value = 50 + ((k * 97 + j * 31) % 400);
        values.push(value);
        items.push({ kind: 'metric', metric: 'response-time-p95', flag, cohort: 'treatment', value, at: iso(m) });
        items.push({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: `c-${k}-${j}`, at: iso(m) });
        if (j < 10) items.push({ kind: 'metric', metric: 'adoption', flag, cohort: 'treatment', contextKey: `c-${k}-${j}`, value: 1, at: iso(m) });
      }
    });
    // The minutes after `now - 5 min` are "in the future" for earlier clocks: post with the final clock.
    for (const batch of chunks(items, 1000)) expect((await post(batch)).rejected).toEqual([]);
    const gates = (sustainedFor?: number): Stage['gates'] => [
      { id: 'p', metric: 'response-time-p95', role: 'alert', condition: { type: 'absolute', op: '>', value: 300 }, ...(sustainedFor === undefined ? {} : { sustainedFor }) },
      { id: 'a', metric: 'adoption', role: 'success', condition: { type: 'absolute', op: '>', value: 30 } },
    ];
    const read = async (sustainedFor?: number) => observe(flag, stageOf(gates(sustainedFor)), since);
    const before = await read();
    const p95 = before.metrics['response-time-p95'];
    expect(p95?.treatment?.samples).toBe(values.length);
    expect(Math.abs((p95?.treatment?.value as number) - exactQuantile(values, 0.95)) / exactQuantile(values, 0.95)).toBeLessThanOrEqual(0.01);
    // Distinct exposed contexts, from a HyperLogLog (dense above 768 contexts): within its error.
    expect(Math.abs((before.metrics.adoption?.treatment?.samples as number) - values.length) / values.length).toBeLessThan(0.05);
    expect(Math.abs((before.metrics.adoption?.treatment?.value as number) - 40) / 40).toBeLessThan(0.07);
    // The series: the last hour and a minute (no sustained gate), or the sustained window and a minute.
    const spans = (o: Observations) => o.metrics['response-time-p95']?.series?.map((i) => i.start) ?? [];
    expect(spans(before).every((start) => start >= time.now - 62 * MINUTE)).toBe(true);
    expect(spans(before).length).toBe(minutes.filter((m) => m >= Math.floor(time.now / MINUTE) * MINUTE - 61 * MINUTE).length);
    const longer = await read(2 * HOUR);
    expect(spans(longer).length).toBe(minutes.filter((m) => m >= Math.floor(time.now / MINUTE) * MINUTE - 121 * MINUTE).length);
    expect(longer.metrics['response-time-p95']?.treatment).toEqual(p95?.treatment);
    // Whole hours come from the hour rows: without their minute rows, the stage reads the same.
    const firstWholeHour = Math.ceil(since / HOUR) * HOUR;
    await t.db.query('delete from metric_minutes where flag_key = $1 and minute >= $2 and minute < $3', [flag, iso(firstWholeHour), iso(firstWholeHour + 2 * HOUR)]);
    const after = await read();
    expect(after.metrics['response-time-p95']?.treatment).toEqual(p95?.treatment);
    expect(after.metrics.adoption?.treatment).toEqual(before.metrics.adoption?.treatment);
  });

  it('deletes rows older than the retention, in chunks, and nothing newer', async () => {
    const flag = await newFlag();
    const now = time.now;
    const items = (at: number, n: number, salt: string) => [
      ...Array.from({ length: n }, (_, i) => ({ kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: `${salt}-${i}`, at: iso(at + i * MINUTE) })),
      { kind: 'metric', metric: 'error-rate', flag, cohort: 'treatment', value: 1, at: iso(at) },
    ];
    // Written 40 and 35 days ago (as of then), and now.
    expect((await ingestBatch(t.db, environmentId, `old-1-${flag}`, items(now - 40 * DAY, 5, 'old'), now - 40 * DAY + HOUR)).accepted).toBe(6);
    expect((await ingestBatch(t.db, environmentId, `old-2-${flag}`, items(now - 35 * DAY, 3, 'older'), now - 35 * DAY + HOUR)).accepted).toBe(4);
    expect((await ingestBatch(t.db, environmentId, `new-${flag}`, items(now - HOUR, 2, 'new'), now)).accepted).toBe(3);
    const count = async () =>
      (
        await t.db.query<{ minutes: number; hours: number; contexts: number; batches: number }>(
          `select (select count(*)::int from metric_minutes where flag_key = $1) as minutes,
                  (select count(*)::int from metric_hours where flag_key = $1) as hours,
                  (select count(*)::int from metric_contexts where flag_key = $1) as contexts,
                  (select count(*)::int from metric_batches where batch_id like '%' || $1) as batches`,
          [flag],
        )
      )[0] as { minutes: number; hours: number; contexts: number; batches: number };
    const [hours] = await t.db.query<{ old: number; recent: number }>(
      `select count(*) filter (where hour < $2)::int as old, count(*) filter (where hour >= $2)::int as recent from metric_hours where flag_key = $1`,
      [flag, iso(now - DAY)],
    );
    // Exposures are kept per hour too: one or two hour rows per batch (its minutes may straddle an hour).
    expect(hours?.old).toBeGreaterThanOrEqual(2);
    expect(hours?.recent).toBeGreaterThanOrEqual(1);
    expect(await count()).toEqual({ minutes: 5 + 1 + 3 + 1 + 2 + 1, hours: (hours?.old as number) + (hours?.recent as number), contexts: 10, batches: 3 });
    // Everything of other tests is newer than 30 days, so only these old rows go.
    // Old: 10 minute rows, 8 contexts, 2 batch ids. Two chunks of two per table first, then the rest.
    expect(await pruneMetrics(t.db, now - 30 * DAY, { chunk: 2, maxChunks: 2 })).toEqual({ minutes: 4, hours: hours?.old, batches: 2, contexts: 4, complete: false });
    expect(await pruneMetrics(t.db, now - 30 * DAY, { chunk: 2 })).toEqual({ minutes: 6, hours: 0, batches: 0, contexts: 4, complete: true });
    expect(await count()).toEqual({ minutes: 2 + 1, hours: hours?.recent, contexts: 2, batches: 1 });
    expect(await pruneMetrics(t.db, now - 30 * DAY)).toEqual({ minutes: 0, hours: 0, batches: 0, contexts: 0, complete: true });
  });

  it('reads many rollouts in one query with prefetch, giving what single reads give', async () => {
    const flags = [await newFlag(), await newFlag(), await newFlag()];
    const since = time.now;
    time.advance(2 * MINUTE);
    const at = iso(time.now - 30_000);
    for (const [n, flag] of flags.entries()) {
      await post([
        ...Array.from({ length: 10 * (n + 1) }, (_, i) => ({ kind: 'metric', metric: 'error-rate', flag, cohort: 'treatment', value: i % 5 === 0 ? 1 : 0, at })),
        ...Array.from({ length: 20 }, (_, i) => ({ kind: 'metric', metric: 'response-time-p95', flag, cohort: 'control', value: 100 + i * (n + 1), at })),
        { kind: 'exposure', flag, variant: 'on', cohort: 'treatment', contextKey: 'x', at },
      ]);
    }
    const stage = stageOf([
      { id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } },
      { id: 'p', metric: 'response-time-p95', role: 'success', condition: { type: 'relative', op: '<', value: 10 } },
    ]);
    const requests = flags.map((flag) => ({ rollout: record(flag, since), plan: PLAN, stage }));
    let queries = 0;
    const counting: Sql = {
      query: (text, params) => {
        queries++;
        return t.db.query(text, params);
      },
      exec: (text) => t.db.exec(text),
    };
    const single: Observations[] = [];
    for (const r of requests) single.push((await readObservations(counting, [r], time.now))[0] as Observations);
    expect(queries).toBe(flags.length);
    queries = 0;
    const source = metricsObservationSource(counting);
    await source.prefetch(requests, time.now);
    expect(queries).toBe(1);
    const batched: Observations[] = [];
    for (const r of requests) batched.push(await source(r.rollout, PLAN, stage, time.now));
    expect(queries).toBe(1);
    expect(batched).toEqual(single);
    expect(batched.map((o) => o.metrics['error-rate']?.treatment?.samples)).toEqual([10, 20, 30]);
    expect(batched[2]?.assignments).toEqual({ treatment: 1, control: 0 });
    // Another tick (another now) reads again; nothing stale is served.
    await source(requests[0]!.rollout, PLAN, stage, time.now + 1);
    expect(queries).toBe(2);
    // No requests, no queries.
    queries = 0;
    await source.prefetch([], time.now);
    expect(queries).toBe(0);
  });
});

describe('retention on ingestion', () => {
  it('refuses items older than a retention shorter than 7 days', async () => {
    const clock = new TestClock();
    const t = await createTestApp('pglite', { clock: clock.clock, config: { rolloutTickMs: 0, metricsRetentionDays: 1 } });
    try {
      expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
      expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'production' })).status).toBe(201);
      expect((await t.request('POST', `${P}/flags`, { key: 'f', name: 'f' })).status).toBe(201);
      const token = (await t.request('POST', '/api/tokens', { kind: 'server', name: 's', projectKey: 'shop', environmentKey: 'production' })).body.secret;
      const item = (ago: number) => ({ kind: 'metric', metric: 'error-rate', flag: 'f', cohort: 'control', value: 1, at: new Date(clock.now - ago).toISOString() });
      const res = await t.request('POST', URL, { batchId: 'b', items: [item(HOUR), item(2 * DAY)] }, token);
      expect(res.body).toEqual({ accepted: 1, rejected: [{ index: 1, reason: 'at: older than 1 day' }], duplicate: false });
    } finally {
      await t.close();
    }
  });
});
