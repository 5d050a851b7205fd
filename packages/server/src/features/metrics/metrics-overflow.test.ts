import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { TestClock } from '../rollouts/rollouts.test-helpers.js';
import { shopWithServerToken } from './metrics.test-helpers.js';

const P = '/api/projects/shop';

describe.each(testBackends())('metric totals that would overflow (%s)', (backend) => {
  let t: TestApp;
  let server: string;
  const time = new TestClock();
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    server = await shopWithServerToken(t);
    expect((await t.request('POST', `${P}/flags`, { key: 'checkout', name: 'checkout' })).status).toBe(201);
    // The metrics here are nobody's definitions: the project takes free-form metrics.
    const project = (await t.request('GET', P)).body as { version: number };
    expect((await t.request('PATCH', P, { version: project.version, freeFormMetrics: true })).status).toBe(200);
  });
  afterAll(() => t.close());

  const at = new Date(time.now - 30_000).toISOString();
  const item = (metric: string, value: number) => ({ kind: 'metric', metric, flag: 'checkout', cohort: 'treatment', value, at });
  const post = (items: unknown[]) => t.request('POST', '/api/client/metrics', { batchId: `b-${++counter}`, items }, server);
  const stored = async (metric: string) =>
    (await t.db.query<{ count: number; sum: number; sum_sq: number }>('select count::int as count, sum, sum_sq from metric_minutes where metric = $1', [metric])).map((r) => ({
      count: Number(r.count),
      sum: Number(r.sum),
      sumSq: Number(r.sum_sq),
    }));

  it('rejects by index the mean items that would make the minute totals Infinity, within a batch and across batches', async () => {
    // 1e308 squared overflows by itself; 1e154 squared is 1e308, so the second such item overflows the sum of squares.
    const first = await post([item('order-total', 1e308), item('order-total', 1e154), item('order-total', 1e154), item('order-total', 5)]);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      accepted: 2,
      rejected: [
        { index: 0, reason: expect.stringContaining('overflow') },
        { index: 2, reason: expect.stringContaining('overflow') },
      ],
      duplicate: false,
    });
    expect(await stored('order-total')).toEqual([{ count: 2, sum: 1e154 + 5, sumSq: 1e308 + 25 }]);
    // Across batches the stored totals count (on PostgreSQL the addition would otherwise fail the whole request).
    const second = await post([item('order-total', 7), item('order-total', 1e154)]);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ accepted: 1, rejected: [{ index: 1, reason: expect.stringContaining('overflow') }], duplicate: false });
    expect(await stored('order-total')).toEqual([{ count: 3, sum: 1e154 + 12, sumSq: 1e308 + 74 }]);
  });

  it('rejects an item whose square alone overflows, and keeps the minute readable', async () => {
    const res = await post([item('latency-ms', 2e154), item('latency-ms', 3)]);
    expect(res.body).toEqual({ accepted: 1, rejected: [{ index: 0, reason: expect.stringContaining('latency-ms') }], duplicate: false });
    expect(await stored('latency-ms')).toEqual([{ count: 1, sum: 3, sumSq: 9 }]);
  });

  it('stores large values whose totals stay finite', async () => {
    const res = await post([item('big', 1e150), item('big', -1e150), item('big', 1e154)]);
    expect(res.body).toEqual({ accepted: 3, rejected: [], duplicate: false });
    const [row] = await stored('big');
    expect(row?.count).toBe(3);
    expect(Number.isFinite(row?.sum) && Number.isFinite(row?.sumSq)).toBe(true);
  });
});
