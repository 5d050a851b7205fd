import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HLL_SPARSE_LIMIT, HyperLogLog } from './hyper-log-log.js';
import { murmur3 } from '../murmur3.js';

/** 1.04 / sqrt(4096): the dense sketch's standard error. */
const STANDARD_ERROR = 1.04 / 64;

/** Keys as the SDK sends them: murmur3 of a user id, 8 hex digits. */
const hashedKey = (i: number, salt = '') => murmur3(`user-${salt}${i}`).toString(16).padStart(8, '0');

function sketchOf(keys: Iterable<string>): HyperLogLog {
  const h = new HyperLogLog();
  for (const k of keys) h.add(k);
  return h;
}

const bytesOf = (h: HyperLogLog) => Array.from(h.toBytes());
const keySet = fc.array(fc.string({ maxLength: 12 }), { maxLength: 1500 });

describe('HyperLogLog', () => {
  it('counts small sets (sparse) almost exactly', () => {
    expect(new HyperLogLog().estimate()).toBe(0);
    for (const n of [1, 2, 10, 100, HLL_SPARSE_LIMIT]) {
      const h = sketchOf(Array.from({ length: n }, (_, i) => hashedKey(i)));
      expect(h.isSparse).toBe(true);
      expect(Math.abs(h.estimate() - n)).toBeLessThan(Math.max(0.5, n * 0.002));
    }
    // Repeats count once.
    const h = sketchOf(['a', 'a', 'b', 'a', 'b']);
    expect(Math.round(h.estimate())).toBe(2);
  });

  it('estimates within 3 standard errors over sets of 800 to 120,000 keys', () => {
    const sizes = [800, 1000, 2000, 3000, 5000, 8000, 12_000, 20_000, 30_000, 50_000, 80_000, 120_000];
    const errors: number[] = [];
    sizes.forEach((n, s) => {
      const h = new HyperLogLog();
      for (let i = 0; i < n; i++) h.add(hashedKey(i, `s${s}-`));
      const error = (h.estimate() - n) / n;
      errors.push(error);
      expect(Math.abs(error), `n=${n}`).toBeLessThan(3 * STANDARD_ERROR);
    });
    // Not biased one way: the mean error over all sets is well within one standard error.
    expect(Math.abs(errors.reduce((a, b) => a + b, 0) / errors.length)).toBeLessThan(STANDARD_ERROR);
  });

  it('has a root-mean-square error near its standard error over 60 sets of 5,000 keys, none beyond 3 standard errors', () => {
    const errors: number[] = [];
    for (let s = 0; s < 60; s++) {
      const h = new HyperLogLog();
      for (let i = 0; i < 5000; i++) h.add(`k${s}-${i}`);
      errors.push((h.estimate() - 5000) / 5000);
    }
    const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
    expect(rms).toBeLessThan(1.25 * STANDARD_ERROR);
    expect(errors.filter((e) => Math.abs(e) > 3 * STANDARD_ERROR)).toEqual([]);
  });

  it('merges commutatively, associatively and idempotently, and a merge equals one sketch of the union', () => {
    fc.assert(
      fc.property(keySet, keySet, keySet, (a, b, c) => {
        const ab = sketchOf(a).merge(sketchOf(b));
        expect(bytesOf(ab)).toEqual(bytesOf(sketchOf(b).merge(sketchOf(a))));
        expect(bytesOf(sketchOf(a).merge(sketchOf(b)).merge(sketchOf(c)))).toEqual(bytesOf(sketchOf(a).merge(sketchOf(b).merge(sketchOf(c)))));
        expect(bytesOf(ab)).toEqual(bytesOf(sketchOf([...a, ...b])));
        expect(bytesOf(ab.clone().merge(ab))).toEqual(bytesOf(ab));
      }),
      { numRuns: 100 },
    );
  });

  it('merges a dense and a sparse sketch into the sketch of the union', () => {
    const big = Array.from({ length: 20_000 }, (_, i) => hashedKey(i, 'big'));
    const small = Array.from({ length: 50 }, (_, i) => hashedKey(i, 'small'));
    const merged = sketchOf(small).merge(sketchOf(big));
    expect(merged.isSparse).toBe(false);
    expect(bytesOf(merged)).toEqual(bytesOf(sketchOf([...big, ...small])));
    expect(bytesOf(merged)).toEqual(bytesOf(sketchOf(big).merge(sketchOf(small))));
    expect(Math.abs(merged.estimate() - 20_050) / 20_050).toBeLessThan(3 * STANDARD_ERROR);
  });

  it('round-trips through bytes, sparse (about 3 bytes a key) and dense (3,075 bytes)', () => {
    fc.assert(
      fc.property(keySet, (keys) => {
        const h = sketchOf(keys);
        const back = HyperLogLog.fromBytes(h.toBytes());
        expect(back).toBeDefined();
        expect(bytesOf(back as HyperLogLog)).toEqual(bytesOf(h));
        expect(back?.estimate()).toBe(h.estimate());
      }),
      { numRuns: 100 },
    );
    const sparse = sketchOf(Array.from({ length: 500 }, (_, i) => hashedKey(i)));
    expect(sparse.toBytes().length).toBeLessThan(500 * 4);
    expect(sketchOf(Array.from({ length: 5000 }, (_, i) => hashedKey(i))).toBytes().length).toBe(3 + 3072);
  });

  it('never throws on odd input', () => {
    const h = new HyperLogLog();
    for (const k of [undefined, null, 3, {}, '']) h.add(k as unknown as string);
    expect(Math.round(h.estimate())).toBe(1); // only '' is a key
    expect(h.merge(null as unknown as HyperLogLog).estimate()).toBe(h.estimate());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const decoded = HyperLogLog.fromBytes(bytes);
        if (decoded !== undefined) expect(Number.isFinite(decoded.estimate())).toBe(true);
      }),
      { numRuns: 500 },
    );
    const dense = sketchOf(Array.from({ length: 3000 }, (_, i) => hashedKey(i))).toBytes();
    const corrupt = dense.slice();
    corrupt.fill(0xff, 3);
    expect(HyperLogLog.fromBytes(corrupt)).toBeUndefined();
    expect(HyperLogLog.fromBytes(dense.subarray(0, 100))).toBeUndefined();
    expect(HyperLogLog.fromBytes('x' as unknown as Uint8Array)).toBeUndefined();
  });
});
