/**
 * Rollout metrics of the server SDK against a loopback fake server: cohort
 * attribution, aggregated exposures with hashed keys, `track`, batching,
 * retries with the same batchId, 4xx drops and the queue's bound.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { murmur3, type Snapshot } from '@rollgate/core';
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

async function startFake(): Promise<Fake> {
  const seen = new Set<string>();
  const fake: Fake = { url: '', posts: [], mode: 'ok', close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url?.startsWith('/api/client/snapshot')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SNAP));
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

async function setup(metrics: { maxQueue?: number; flushIntervalMs?: number } = {}): Promise<{ fake: Fake; client: RollgateClient }> {
  fake = await startFake();
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
    expect(results[0]).toMatchObject({ items: 200, accepted: 200, rejected: [], duplicate: false });
    const items = f.posts[0]?.items ?? [];
    expect(items.every((it) => it.flag === 'exp')).toBe(true);
    const exposures = items.filter((it) => it.kind === 'exposure');
    const metrics = items.filter((it) => it.kind === 'metric');
    expect(exposures).toHaveLength(100);
    expect(metrics).toHaveLength(100);
    for (const cohort of ['treatment', 'control'] as const) {
      expect(exposures.filter((e) => e.cohort === cohort)).toHaveLength(expected[cohort]);
      expect(metrics.filter((e) => e.cohort === cohort)).toHaveLength(expected[cohort]);
    }
    expect(exposures.some((e) => e.contextKey === murmur3('user-7').toString(16).padStart(8, '0'))).toBe(true);
    expect(JSON.stringify(items)).not.toContain('user-');
    expect(exposures.filter((e) => e.variant === 'off').every((e) => e.cohort === 'control')).toBe(true);
    expect(metrics[0]).toMatchObject({ metric: 'error-rate', value: 1 });
    // track() items carry the hashed context key, and the variant in the treatment.
    expect(metrics.every((m) => typeof m.contextKey === 'string' && /^[0-9a-f]{8}$/.test(m.contextKey))).toBe(true);
    expect(metrics.filter((m) => m.cohort === 'treatment').every((m) => m.variant === 'on')).toBe(true);
    expect(metrics.filter((m) => m.cohort === 'control').every((m) => m.variant === undefined)).toBe(true);
    // Nothing left.
    expect(await c.flush()).toEqual([]);
  });

  it('aggregates repeated exposures of one context into one item with a count, sends 1,000 items at most per batch, and flushes by itself at 1,000 items', async () => {
    const { fake: f, client: c } = await setup();
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

  it('bounds the queue: exposures of new contexts beyond maxQueue are dropped and counted', async () => {
    const { client: c } = await setup({ maxQueue: 5 });
    for (let i = 0; i < 10; i++) c.isEnabled('exp', { userId: `u${i}`, plan: 'beta' });
    c.isEnabled('exp', { userId: 'u0', plan: 'beta' }); // an aggregate it holds: counted
    expect(c.droppedExposures).toBe(5);
    for (let i = 0; i < 7; i++) c.track('error-rate', 0, { userId: 'u0' });
    expect(c.droppedMetrics).toBe(2);
    const results = await c.flush();
    // Five exposure items (u0's with a count of 2) and five metric items.
    expect(results.reduce((n, r) => n + r.items, 0)).toBe(5 + 5);
  });

  it('counts the exposures of undelivered batches it drops, with their counts', async () => {
    const { fake: f, client: c } = await setup({ maxQueue: 1_000 });
    f.mode = 'drop';
    for (let i = 0; i < 3; i++) c.isEnabled('exp', { userId: 'a', plan: 'beta' });
    expect(await c.flush()).toMatchObject([{ items: 1, retained: true }]);
    for (let i = 0; i < 1_000; i++) c.isEnabled('exp', { userId: `b${i}`, plan: 'beta' });
    // 1,001 undelivered items are more than kept (1,000): the oldest batch goes, three exposures.
    const results = await c.flush();
    expect(results.map((r) => r.items)).toEqual([1_000]);
    expect(c.droppedExposures).toBe(3);
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

  it('sends no context key for a context without one', async () => {
    const { fake: f, client: c } = await setup();
    c.track('error-rate', 1, { plan: 'beta' });
    await c.flush();
    expect(f.posts[0]?.items).toEqual([expect.not.objectContaining({ contextKey: expect.anything() })]);
    expect(f.posts[0]?.items[0]).toMatchObject({ kind: 'metric', cohort: 'treatment', variant: 'on' });
  });
});
