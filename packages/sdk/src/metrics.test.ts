/**
 * Rollout metrics of the server SDK against a loopback fake server: cohort
 * attribution, aggregated exposures with hashed keys, `track` aggregated per
 * series (with the sketches its metric needs), the flags `track` names,
 * batching, flushing on size, retries with the same batchId, 4xx drops, and
 * the memory bound with drops counted and reported.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HyperLogLog, LogHistogram, murmur3, type Snapshot } from '@rollgate/core';
import { booleanFlag } from './fixtures.test-helpers.js';
import { createClient, type RollgateClient } from './index.js';
import { cohortOf, ownedRulesOf } from './metrics.js';

const SNAP: Snapshot = {
  version: 1,
  flags: [
    booleanFlag('exp', {
      rules: [
        { id: 'rollout:r1:segment:beta', conditions: [{ attribute: 'plan', operator: 'in', values: ['beta'] }], serve: { variation: 'on' } },
        { id: 'rollout:r1', conditions: [{ attribute: 'country', operator: 'in', values: ['US'] }], serve: { rollout: { percentage: 50, variation: 'on' } } },
      ],
      fallthrough: { variation: 'on' },
    }),
    booleanFlag('plain', { fallthrough: { variation: 'on' } }),
  ],
  segments: [],
};

interface Posted {
  batchId: string;
  items: Record<string, unknown>[];
}

interface Fake {
  url: string;
  posts: Posted[];
  /** 'ok' answers, 'drop' drops the connection, a number answers that status. */
  mode: 'ok' | 'drop' | number;
  close(): Promise<void>;
}

async function startFake(snapshot: Snapshot = SNAP): Promise<Fake> {
  const seen = new Set<string>();
  const fake: Fake = { url: '', posts: [], mode: 'ok', close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url?.startsWith('/api/client/snapshot')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshot));
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const batch = JSON.parse(body) as Posted;
      fake.posts.push(batch);
      if (fake.mode === 'drop') return req.socket.destroy();
      if (typeof fake.mode === 'number') return res.writeHead(fake.mode).end('{"code":"NOPE"}');
      const duplicate = seen.has(batch.batchId);
      seen.add(batch.batchId);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: duplicate ? 0 : batch.items.length, rejected: [], duplicate }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

let fake: Fake | undefined;
let client: RollgateClient | undefined;
afterEach(async () => {
  await client?.close();
  await fake?.close();
  client = fake = undefined;
});

async function setup(metrics: { maxQueue?: number; flushIntervalMs?: number; flushAt?: number } = {}, snapshot?: Snapshot): Promise<{ fake: Fake; client: RollgateClient }> {
  fake = await startFake(snapshot);
  client = createClient({ url: fake.url, token: 'rg_server_test', stream: false, pollIntervalMs: 60_000, logger: {}, metrics: { flushIntervalMs: 60_000, ...metrics } });
  await client.ready(5_000);
  return { fake, client };
}

describe('cohort attribution', () => {
  it('treatment only when an owned rule served the rollout variation', () => {
    const owned = ownedRulesOf(SNAP).get('exp') as Map<string, string | undefined>;
    expect([...owned]).toEqual([
      ['rollout:r1:segment:beta', 'on'],
      ['rollout:r1', 'on'],
    ]);
    expect(ownedRulesOf(SNAP).has('plain')).toBe(false);
    expect(cohortOf(owned, 'rollout:r1', 'on')).toBe('treatment');
    expect(cohortOf(owned, 'rollout:r1', 'off')).toBe('control');
    expect(cohortOf(owned, 'rollout:r1:segment:beta', 'on')).toBe('treatment');
    expect(cohortOf(owned, undefined, 'on')).toBe('control');
  });

  it('treats the variations of an owned weighted split (an experiment stage) as the treatment', () => {
    const snapshot = {
      flags: [
        {
          key: 'ab',
          offVariation: 'off',
          rules: [{ id: 'rollout:r2', serve: { rollout: { percentage: 30, variants: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }] } } }],
        },
      ],
    };
    const owned = ownedRulesOf(snapshot).get('ab') as Map<string, unknown>;
    expect(owned.get('rollout:r2')).toEqual(['a', 'b']);
    expect(cohortOf(owned as never, 'rollout:r2', 'a')).toBe('treatment');
    expect(cohortOf(owned as never, 'rollout:r2', 'b')).toBe('treatment');
    expect(cohortOf(owned as never, 'rollout:r2', 'off')).toBe('control');
  });
});

describe('exposures and track', () => {
  it('sends aggregated exposures with hashed keys, and metrics per cohort, for flags in a rollout only', async () => {
    const { fake: f, client: c } = await setup();
    const expected = { treatment: 0, control: 0 };
    for (let i = 0; i < 100; i++) {
      const ctx = { userId: `user-${i}`, country: i % 2 === 0 ? 'US' : 'FR', plan: i % 10 === 0 ? 'beta' : 'free' };
      const r = c.evaluate('exp', ctx, false);
      const cohort = r.ruleId?.startsWith('rollout:') === true && r.variant === 'on' ? 'treatment' : 'control';
      expected[cohort]++;
      c.isEnabled('plain', ctx);
      c.track('error-rate', i % 3 === 0 ? 1 : 0, ctx);
    }
    expect(expected.treatment).toBeGreaterThan(10);
    expect(expected.control).toBeGreaterThan(10);
    const results = await c.flush();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ items: 102, accepted: 102, rejected: [], duplicate: false });
    const items = f.posts[0]?.items ?? [];
    expect(items.every((it) => it.flag === 'exp')).toBe(true);
    const exposures = items.filter((it) => it.kind === 'exposure');
    const aggregates = items.filter((it) => it.kind === 'aggregate');
    expect(exposures).toHaveLength(100);
    for (const cohort of ['treatment', 'control'] as const) expect(exposures.filter((e) => e.cohort === cohort)).toHaveLength(expected[cohort]);
    expect(exposures.some((e) => e.contextKey === murmur3('user-7').toString(16).padStart(8, '0'))).toBe(true);
    expect(JSON.stringify(items)).not.toContain('user-');
    expect(exposures.filter((e) => e.variant === 'off').every((e) => e.cohort === 'control')).toBe(true);
    // track() observations: one aggregate per cohort (with the variant in the treatment), no context keys, no sketch for a ratio.
    const errors = (cohort: string) => {
      let n = 0;
      for (let i = 0; i < 100; i++) if ((i % 3 === 0 ? 1 : 0) === 1 && cohortsOf[i] === cohort) n++;
      return n;
    };
    const cohortsOf = Array.from({ length: 100 }, (_, i) => {
      const r = c.evaluate('exp', { userId: `user-${i}`, country: i % 2 === 0 ? 'US' : 'FR', plan: i % 10 === 0 ? 'beta' : 'free' }, false);
      return r.ruleId?.startsWith('rollout:') === true && r.variant === 'on' ? 'treatment' : 'control';
    });
    expect(aggregates).toEqual([
      { kind: 'aggregate', metric: 'error-rate', flag: 'exp', cohort: cohortsOf[0], ...(cohortsOf[0] === 'treatment' ? { variant: 'on' } : {}), at: expect.any(String), count: expected[cohortsOf[0] as 'treatment'], sum: errors(cohortsOf[0] as string), sumSq: errors(cohortsOf[0] as string), nonZero: errors(cohortsOf[0] as string) },
      expect.objectContaining({ kind: 'aggregate', metric: 'error-rate', cohort: cohortsOf[0] === 'treatment' ? 'control' : 'treatment' }),
    ]);
    expect(aggregates.find((a) => a.cohort === 'control')).not.toHaveProperty('variant');
    expect(aggregates.find((a) => a.cohort === 'treatment')).toMatchObject({ variant: 'on', count: expected.treatment, sum: errors('treatment') });
    expect(new Date(aggregates[0]?.at as string).getTime() % 60_000).toBe(0);
    await c.flush();
    // Nothing left.
    expect(await c.flush()).toEqual([]);
  });

  it('aggregates repeated exposures of one context into one item with a count, sends 1,000 items at most per batch, and flushes by itself at `flushAt` series', async () => {
    const { fake: f, client: c } = await setup({ flushAt: 1_000 });
    const flushed = new Promise((r) => c.once('flush', r));
    // One context 1,500 times: one item, nothing to flush yet.
    for (let i = 0; i < 1_500; i++) c.isEnabled('exp', { userId: 'same', plan: 'beta' });
    await new Promise((r) => setImmediate(r));
    expect(f.posts).toHaveLength(0);
    // 1,500 contexts once each: the 1,000th item flushes.
    for (let i = 0; i < 1_500; i++) c.isEnabled('exp', { userId: `u${i}`, plan: 'beta' });
    await flushed;
    expect(f.posts[0]?.items).toHaveLength(1_000);
    await c.close();
    const items = f.posts.flatMap((p) => p.items);
    expect(items).toHaveLength(1_501);
    expect(items.reduce((n, it) => n + ((it.count as number | undefined) ?? 1), 0)).toBe(3_000);
    const same = items.filter((it) => it.contextKey === murmur3('same').toString(16).padStart(8, '0'));
    expect(same).toEqual([expect.objectContaining({ kind: 'exposure', count: 1_500, variant: 'on', cohort: 'treatment' })]);
    // A single exposure has no count (servers that predate it accept the item).
    expect(items.filter((it) => it.count === undefined)).toHaveLength(1_500);
    expect(f.posts.every((p) => p.items.length <= 1_000)).toBe(true);
    expect(new Set(f.posts.map((p) => p.batchId)).size).toBe(f.posts.length);
  });

  it('keeps a batch that failed on the network and sends it again with the same batchId', async () => {
    const { fake: f, client: c } = await setup();
    c.isEnabled('exp', { userId: 'u1', plan: 'beta' });
    f.mode = 'drop';
    const first = await c.flush();
    expect(first).toMatchObject([{ items: 1, retained: true }]);
    c.isEnabled('exp', { userId: 'u2', plan: 'beta' });
    f.mode = 'ok';
    const second = await c.flush();
    expect(second).toHaveLength(2);
    expect(second[0]).toMatchObject({ batchId: first[0]?.batchId, accepted: 1, duplicate: false });
    expect(second[1]).toMatchObject({ items: 1, accepted: 1, duplicate: false });
    expect(f.posts.map((p) => p.batchId)).toEqual([first[0]?.batchId, first[0]?.batchId, second[1]?.batchId]);
  });

  it('drops a batch refused with a 4xx and reports it on error', async () => {
    const { fake: f, client: c } = await setup();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    c.track('error-rate', 1, { userId: 'u1' });
    f.mode = 400;
    expect(await c.flush()).toMatchObject([{ items: 1 }]);
    expect(errors[0]?.message).toMatch(/answered 400/);
    f.mode = 'ok';
    expect(await c.flush()).toEqual([]);
  });

  it('bounds memory by series: beyond maxQueue new series are dropped, counted per kind and reported with the next batch; series held keep counting', async () => {
    const { fake: f, client: c } = await setup({ maxQueue: 5 });
    for (let i = 0; i < 3; i++) c.track('error-rate', i % 2, { userId: 'u0', plan: 'beta' });
    for (let i = 0; i < 10; i++) c.isEnabled('exp', { userId: `u${i}`, plan: 'beta' });
    c.isEnabled('exp', { userId: 'u0', plan: 'beta' }); // an aggregate it holds: counted
    expect(c.droppedExposures).toBe(6);
    for (let i = 0; i < 7; i++) c.track('error-rate', 1, { userId: 'u0', plan: 'beta' }); // the series it holds
    for (let i = 0; i < 2; i++) c.track('response-time-avg', 100, { userId: 'u0', plan: 'beta' }); // a new series: no room
    expect(c.droppedMetrics).toBe(2);
    const results = await c.flush();
    // The drop report, four exposure items (u0's with a count of 2) and one aggregate of ten observations.
    expect(results.reduce((n, r) => n + r.items, 0)).toBe(1 + 4 + 1);
    const items = f.posts.flatMap((p) => p.items);
    expect(items[0]).toEqual({ kind: 'dropped', flag: 'exp', cohort: 'treatment', exposures: 6, metrics: 2, at: expect.any(String) });
    expect(items.filter((it) => it.kind === 'aggregate')).toEqual([expect.objectContaining({ metric: 'error-rate', count: 10, sum: 8, nonZero: 8 })]);
    // Reported once; room again after the flush.
    c.isEnabled('exp', { userId: 'u9', plan: 'beta' });
    await c.flush();
    expect(f.posts.at(-1)?.items).toEqual([{ kind: 'exposure', flag: 'exp', variant: 'on', cohort: 'treatment', contextKey: murmur3('u9').toString(16).padStart(8, '0'), at: expect.any(String) }]);
    expect(c.droppedExposures).toBe(6);
  });

  it('keeps undelivered batches (never dropping what it already aggregated) and drops only new series while they fill the memory', async () => {
    const { fake: f, client: c } = await setup({ maxQueue: 1_000 });
    f.mode = 'drop';
    for (let i = 0; i < 3; i++) c.isEnabled('exp', { userId: 'a', plan: 'beta' });
    expect(await c.flush()).toMatchObject([{ items: 1, retained: true }]);
    for (let i = 0; i < 1_000; i++) c.isEnabled('exp', { userId: `b${i}`, plan: 'beta' });
    // One item undelivered and 999 waiting fill the 1,000: the last new context is dropped.
    expect(c.droppedExposures).toBe(1);
    expect((await c.flush()).map((r) => r.items)).toEqual([1, 1_000]);
    f.mode = 'ok';
    const delivered = await c.flush();
    expect(delivered.map((r) => r.accepted)).toEqual([1, 1_000]);
    const items = f.posts.slice(-2).flatMap((p) => p.items);
    expect(items.filter((it) => it.kind === 'dropped')).toEqual([{ kind: 'dropped', flag: 'exp', cohort: 'treatment', exposures: 1, metrics: 0, at: expect.any(String) }]);
    expect(items.filter((it) => it.kind === 'exposure').reduce((n, it) => n + ((it.count as number | undefined) ?? 1), 0)).toBe(3 + 999);
  });

  it('loses nothing under a burst: 500 contexts a loop, variant() and four track() calls each, five flags in rollout', async () => {
    const flags = ['f1', 'f2', 'f3', 'f4', 'f5'];
    const snapshot: Snapshot = {
      version: 1,
      flags: flags.map((key) => booleanFlag(key, { rules: [{ id: `rollout:${key}`, serve: { rollout: { percentage: 20, variation: 'on' } } }], fallthrough: { variation: 'off' } })),
      segments: [],
    };
    const { fake: f, client: c } = await setup({}, snapshot);
    const loops = 20;
    for (let loop = 0; loop < loops; loop++) {
      for (let i = 0; i < 500; i++) {
        const ctx = { userId: `user-${i}` };
        for (const flag of flags) c.variant(flag, ctx);
        c.track('error-rate', i % 50 === 0 ? 1 : 0, ctx);
        c.track('response-time-p95', 100 + (i % 7), ctx);
        c.track('adoption', 1, ctx);
        c.track('checkout-value', i % 10, ctx);
      }
    }
    await c.flush();
    expect(c.droppedExposures).toBe(0);
    expect(c.droppedMetrics).toBe(0);
    const items = f.posts.flatMap((p) => p.items);
    const exposures = items.filter((it) => it.kind === 'exposure');
    const aggregates = items.filter((it) => it.kind === 'aggregate');
    // Bounded by distinct series: one exposure item per flag and context, one aggregate per flag, metric and cohort (the minute may turn once).
    expect(exposures.length).toBeLessThanOrEqual(2 * flags.length * 500);
    expect(aggregates.length).toBeLessThanOrEqual(2 * flags.length * 4 * 2);
    expect(exposures.reduce((n, it) => n + ((it.count as number | undefined) ?? 1), 0)).toBe(loops * 500 * flags.length);
    for (const metric of ['error-rate', 'response-time-p95', 'adoption', 'checkout-value']) {
      expect(aggregates.filter((a) => a.metric === metric).reduce((n, a) => n + (a.count as number), 0)).toBe(loops * 500 * flags.length);
    }
    expect(aggregates.filter((a) => a.metric === 'error-rate').reduce((n, a) => n + (a.sum as number), 0)).toBe(loops * 10 * flags.length);
    // Sketches as the metric's kind needs them: a histogram for p95, contexts for adoption, both for a metric the catalog does not know.
    const p95 = aggregates.filter((a) => a.metric === 'response-time-p95');
    expect(p95.every((a) => typeof a.histogram === 'string' && a.contexts === undefined)).toBe(true);
    const histogram = p95.map((a) => LogHistogram.fromBytes(Buffer.from(a.histogram as string, 'base64')) as LogHistogram).reduce((h, x) => h.merge(x));
    expect(histogram.count).toBe(loops * 500 * flags.length);
    expect(histogram.quantile(0.5)).toBeGreaterThan(101);
    expect(histogram.quantile(0.5)).toBeLessThan(105);
    const adoption = aggregates.filter((a) => a.metric === 'adoption' && a.flag === 'f1');
    expect(adoption.every((a) => typeof a.contexts === 'string' && a.histogram === undefined)).toBe(true);
    const adopters = adoption.map((a) => HyperLogLog.fromBytes(Buffer.from(a.contexts as string, 'base64')) as HyperLogLog).reduce((h, x) => h.merge(x));
    expect(adopters.estimate()).toBeGreaterThan(490);
    expect(adopters.estimate()).toBeLessThan(510);
    expect(aggregates.filter((a) => a.metric === 'error-rate').every((a) => a.histogram === undefined && a.contexts === undefined)).toBe(true);
    expect(aggregates.filter((a) => a.metric === 'checkout-value').every((a) => typeof a.histogram === 'string' && typeof a.contexts === 'string')).toBe(true);
  });

  it('track() counts for the flags it names only; by default for every flag in a rollout', async () => {
    const snapshot: Snapshot = {
      version: 1,
      flags: ['a', 'b', 'c'].map((key) => booleanFlag(key, { rules: [{ id: `rollout:${key}`, serve: { rollout: { percentage: 100, variation: 'on' } } }], fallthrough: { variation: 'off' } })),
      segments: [],
    };
    const { fake: f, client: c } = await setup({}, snapshot);
    const ctx = { userId: 'u1' };
    c.track('error-rate', 1, ctx, { flags: 'a' });
    c.track('error-rate', 1, ctx, { flags: ['b', 'not-a-flag', 'b'] });
    c.track('error-rate', 0, ctx);
    await c.flush();
    const counts = Object.fromEntries(['a', 'b', 'c'].map((flag) => [flag, f.posts.flatMap((p) => p.items).filter((it) => it.flag === flag).map((it) => [it.count, it.sum])]));
    expect(counts).toEqual({ a: [[2, 1]], b: [[3, 2]], c: [[1, 0]] });
  });

  it('is off when offline, and ignores bad metric keys and values', async () => {
    const offline = createClient({ offline: true, bootstrap: SNAP, logger: {} });
    offline.isEnabled('exp', { userId: 'u', plan: 'beta' });
    offline.track('error-rate', 1, { userId: 'u' });
    expect(await offline.flush()).toEqual([]);
    await offline.close();
    const { client: c } = await setup();
    c.track('Bad Key', 1, { userId: 'u' });
    c.track('error-rate', Number.NaN, { userId: 'u' });
    expect(await c.flush()).toEqual([]);
  });

  it('sends no context keys with observations: a unique metric carries a sketch of the keys, without one when no context had a key', async () => {
    const { fake: f, client: c } = await setup();
    c.track('adoption', 1, { plan: 'beta' });
    await c.flush();
    expect(f.posts[0]?.items).toEqual([expect.not.objectContaining({ contextKey: expect.anything(), contexts: expect.anything() })]);
    expect(f.posts[0]?.items[0]).toMatchObject({ kind: 'aggregate', cohort: 'treatment', variant: 'on', count: 1 });
    c.track('adoption', 1, { userId: 'u1', plan: 'beta' });
    c.track('adoption', 0, { userId: 'u2', plan: 'beta' });
    await c.flush();
    const item = f.posts[1]?.items[0] as Record<string, unknown>;
    expect(item).toMatchObject({ count: 2, nonZero: 1 });
    expect(JSON.stringify(item)).not.toContain(murmur3('u1').toString(16).padStart(8, '0'));
    expect(HyperLogLog.fromBytes(Buffer.from(item.contexts as string, 'base64'))?.estimate()).toBeCloseTo(1, 0);
  });
});
