import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogHistogram, LOG_HISTOGRAM_MIN_VALUE } from './log-histogram.js';
import { mulberry32 } from '../stats/stats.test-helpers.js';

const ACCURACY = 0.01;
/** Relative accuracy plus floating-point slack at bucket edges. */
const BOUND = ACCURACY * (1 + 1e-9) + 1e-12;

function of(values: readonly number[]): LogHistogram {
  const h = new LogHistogram();
  for (const v of values) h.add(v);
  return h;
}

/** The lower-rank order statistic the histogram's quantile approximates. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

function withinAccuracy(estimate: number | undefined, exact: number): boolean {
  if (estimate === undefined) return false;
  if (Math.abs(exact) < LOG_HISTOGRAM_MIN_VALUE) return Math.abs(estimate) <= LOG_HISTOGRAM_MIN_VALUE;
  return Math.abs(estimate - exact) <= BOUND * Math.abs(exact);
}

const bytesOf = (h: LogHistogram) => Array.from(h.toBytes());

/** Latency-like values: positive, spread over several orders of magnitude, with repeats. */
const sampleValue = fc.oneof(
  fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom(0, 1, 100, 250.5),
  fc.double({ min: -1e4, max: -0.001, noNaN: true }),
);
const samples = fc.array(sampleValue, { minLength: 1, maxLength: 300 });

describe('LogHistogram', () => {
  it('reads quantiles within 1% of the exact order statistic', () => {
    fc.assert(
      fc.property(samples, fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        expect(withinAccuracy(of(values).quantile(q), exactQuantile(values, q))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads p95 of 100,000 lognormal latencies within 1%, and extremes exactly', () => {
    const random = mulberry32(7);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const u = 1 - random();
      const v = random();
      values.push(Math.exp(5 + 0.8 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
    }
    const h = of(values);
    for (const q of [0.5, 0.75, 0.95, 0.99]) expect(withinAccuracy(h.quantile(q), exactQuantile(values, q)), `q=${q}`).toBe(true);
    expect(h.quantile(0)).toBe(Math.min(...values));
    expect(h.quantile(1)).toBe(Math.max(...values));
    // Sparse: a few hundred buckets for five orders of magnitude, a few bytes each.
    expect(h.buckets).toBeLessThan(700);
    expect(h.toBytes().length).toBeLessThan(3 * h.buckets + 64);
  });

  it('merges commutatively and associatively, and a merge equals adding everything to one', () => {
    fc.assert(
      fc.property(samples, samples, samples, (a, b, c) => {
        const ab = of(a).merge(of(b));
        expect(bytesOf(ab)).toEqual(bytesOf(of(b).merge(of(a))));
        expect(bytesOf(of(a).merge(of(b)).merge(of(c)))).toEqual(bytesOf(of(a).merge(of(b).merge(of(c)))));
        expect(bytesOf(ab)).toEqual(bytesOf(of([...a, ...b])));
        expect(ab.count).toBe(a.length + b.length);
      }),
      { numRuns: 200 },
    );
  });

  it('stays associative and bounded when values span more than maxBins buckets (the low end folds)', () => {
    const tiny = { maxBins: 16 };
    const make = (values: readonly number[]) => {
      const h = new LogHistogram(tiny);
      for (const v of values) h.add(v);
      return h;
    };
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 60 }), fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { maxLength: 60 }), fc.array(fc.double({ min: 0.01, max: 1e4, noNaN: true }), { maxLength: 60 }), (a, b, c) => {
        const left = make(a).merge(make(b)).merge(make(c));
        const right = make(a).merge(make(b).merge(make(c)));
        expect(bytesOf(left)).toEqual(bytesOf(right));
        expect(bytesOf(left)).toEqual(bytesOf(make([...c, ...a, ...b])));
        expect(left.buckets).toBeLessThanOrEqual(2 * 16 + 1);
        // The top quantile stays within accuracy: only the low end folds.
        const all = [...a, ...b, ...c];
        expect(withinAccuracy(left.quantile(0.99), exactQuantile(all, 0.99)) || exactQuantile(all, 0.99) < Math.max(...all) / 1.02 ** 14).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips through bytes', () => {
    fc.assert(
      fc.property(fc.array(sampleValue, { maxLength: 200 }), (values) => {
        const h = of(values);
        const back = LogHistogram.fromBytes(h.toBytes());
        expect(back).toBeDefined();
        expect(bytesOf(back as LogHistogram)).toEqual(bytesOf(h));
        expect(back?.count).toBe(values.length);
        expect(back?.quantile(0.5)).toBe(h.quantile(0.5));
      }),
      { numRuns: 200 },
    );
    const options = new LogHistogram({ relativeAccuracy: 0.02, maxBins: 100 });
    options.add(5);
    expect(LogHistogram.fromBytes(options.toBytes())).toMatchObject({ relativeAccuracy: 0.02, maxBins: 100, count: 1 });
  });

  it('never throws on odd input: bad values, counts, quantile levels and bytes', () => {
    const h = new LogHistogram();
    expect(h.quantile(0.5)).toBeUndefined();
    expect(h.countAbove(1)).toBe(0);
    expect(h.exceedingAround(1)).toEqual([{ bound: 1, count: 0 }]);
    for (const v of [Number.NaN, Infinity, -Infinity, '3' as unknown as number, undefined as unknown as number]) expect(h.add(v)).toBe(false);
    for (const c of [0, -1, 1.5, Number.NaN, Infinity]) expect(h.add(10, c)).toBe(false);
    expect(h.count).toBe(0);
    h.add(10, 3);
    expect(h.quantile(Number.NaN)).toBeUndefined();
    expect(h.quantile(-1)).toBe(10);
    expect(h.quantile(7)).toBe(10);
    expect(h.merge(undefined as unknown as LogHistogram).count).toBe(3);
    expect(h.merge(h).count).toBe(6);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = LogHistogram.fromBytes(bytes);
        if (decoded !== undefined) {
          decoded.quantile(0.95);
          decoded.exceedingAround(3);
          decoded.toBytes();
        }
      }),
      { numRuns: 500 },
    );
    // Truncations and corruptions of a real histogram decode to a histogram or to undefined.
    const real = of([1, 2, 3, 500, 0, -4]).toBytes();
    for (let n = 0; n < real.length; n++) {
      expect(() => LogHistogram.fromBytes(real.subarray(0, n))).not.toThrow();
      const flipped = real.slice();
      flipped[n] = (flipped[n] as number) ^ 0xff;
      expect(() => LogHistogram.fromBytes(flipped)?.quantile(0.5)).not.toThrow();
    }
    expect(LogHistogram.fromBytes('x' as unknown as Uint8Array)).toBeUndefined();
  });

  it('handles zero and negative values', () => {
    const h = of([0, 0, 0, -5, -50, 1e-12, 20]);
    expect(h.quantile(0)).toBe(-50);
    expect(Math.abs(h.quantile(0.2) as number) / 5).toBeCloseTo(1, 1);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(1)).toBe(20);
    expect(h.countAbove(-10)).toBe(6);
    expect(h.countAbove(0)).toBe(1);
  });

  it('counts samples above a bound within a bucket, and exactly at the bucket edges around it', () => {
    fc.assert(
      fc.property(samples, fc.double({ min: -100, max: 1e5, noNaN: true }), (values, bound) => {
        const h = of(values);
        const above = (b: number) => values.filter((v) => v > b).length;
        const estimate = h.countAbove(bound);
        const gamma = (1 + ACCURACY) / (1 - ACCURACY);
        const outer = bound >= 0 ? [bound * gamma * (1 + 1e-9), bound / gamma / (1 + 1e-9)] : [bound / gamma / (1 + 1e-9), bound * gamma * (1 + 1e-9)];
        expect(estimate).toBeGreaterThanOrEqual(above(Math.max(...outer) + 1e-9));
        expect(estimate).toBeLessThanOrEqual(above(Math.min(...outer) - 1e-9));
        const entries = h.exceedingAround(bound);
        expect(entries.length).toBeGreaterThanOrEqual(1);
        expect(entries.length).toBeLessThanOrEqual(2);
        for (const e of entries) {
          // Exact up to floating point at the edge itself (a sample equal to an edge).
          const tolerance = values.filter((v) => Math.abs(v - e.bound) <= 1e-9 * Math.max(1, Math.abs(e.bound))).length;
          expect(Math.abs(e.count - above(e.bound))).toBeLessThanOrEqual(tolerance);
        }
        const [lower, upper] = entries;
        expect((lower as { bound: number }).bound).toBeLessThanOrEqual(bound);
        expect((upper ?? lower)?.bound).toBeGreaterThanOrEqual(bound);
        if (upper !== undefined) expect(upper.bound / (lower as { bound: number }).bound).toBeLessThanOrEqual(gamma * (1 + 1e-9));
      }),
      { numRuns: 300 },
    );
  });

  it('merges histograms of another accuracy approximately', () => {
    const coarse = new LogHistogram({ relativeAccuracy: 0.05 });
    for (let i = 1; i <= 100; i++) coarse.add(i);
    const h = of([1000]).merge(coarse);
    expect(h.count).toBe(101);
    expect(Math.abs((h.quantile(0.5) as number) - 51) / 51).toBeLessThan(0.07);
    expect(h.max).toBe(1000);
  });
});
