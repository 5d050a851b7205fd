import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../testing.test-helpers.js';
import { createFuzzTarget, fuzz, type FuzzTarget } from './api-fuzz.test-helpers.js';

/** Requests per backend: a few thousand, within CI's time (bench/fuzz runs 100,000). */
const RUNS = 2000;

describe.each(testBackends())('the API under generated hostile requests (%s)', (backend) => {
  let target: FuzzTarget;
  beforeAll(async () => {
    target = await createFuzzTarget(backend);
  });
  afterAll(() => target.t.close());

  it('covers every operation of /openapi.json but the streams', () => {
    expect(target.ops.length).toBeGreaterThanOrEqual(70);
    expect(target.ops.some((o) => o.path.endsWith('/stream'))).toBe(false);
  });

  it(`answers ${RUNS} requests below 500, and no refused request changes any table`, async () => {
    const report = await fuzz(target, { numRuns: RUNS, stopOnFailure: true });
    expect(report.failures).toEqual([]);
    expect(report.requests).toBe(RUNS);
    // The generator reaches most operations, and with valid requests too: not everything is refused.
    expect(report.statuses.size).toBeGreaterThanOrEqual(Math.floor(target.ops.length * 0.9));
    const all = [...report.statuses.values()].flatMap((m) => [...m.entries()]);
    const count = (pred: (s: number) => boolean) => all.filter(([s]) => pred(s)).reduce((n, [, c]) => n + c, 0);
    expect(count((s) => s < 300)).toBeGreaterThan(RUNS / 20);
    expect(count((s) => s >= 400)).toBeGreaterThan(RUNS / 2);
  }, 300_000);
});
