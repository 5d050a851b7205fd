import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { logGamma, preferSrmHold, sequentialSrmTest, srmCheck } from './srm.js';
import { binomial, mulberry32 } from './stats.test-helpers.js';
import type { Decision } from '../rollouts/types.js';

describe('logGamma', () => {
  it('matches factorials and Gamma(1/2)', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    // References: CPython math.lgamma.
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 9);
    expect(Math.abs(logGamma(1e6 + 0.3) - 12815508.713800672) / 12815508.713800672).toBeLessThan(1e-13);
  });
});

describe('sequentialSrmTest', () => {
  it('flags a 10%/90% split observed as 12%/88% at large n, and says what it saw', () => {
    const r = sequentialSrmTest([12_000, 88_000], [10, 90]);
    expect(r.mismatch).toBe(true);
    expect(r.pValue).toBeLessThan(1e-10);
    expect(r.expected).toEqual([10_000, 90_000]);
    expect(r.observedShares[0]).toBeCloseTo(0.12, 10);
  });

  it('does not flag a split within noise, nor tiny samples', () => {
    expect(sequentialSrmTest([10_050, 89_950], [10, 90]).mismatch).toBe(false);
    expect(sequentialSrmTest([3, 7], [10, 90]).mismatch).toBe(false);
    expect(sequentialSrmTest([], []).pValue).toBe(1);
    expect(sequentialSrmTest([5, 0], [0, 1]).mismatch).toBe(true);
  });

  it('2,000 A/A runs of a correct 10/90 split checked every 1,000 assignments to 100,000: false alarms <= 0.001 + slack; 12/88 is caught in every run', () => {
    const random = mulberry32(42);
    const runs = 2000;
    let falseAlarms = 0;
    for (let i = 0; i < runs; i++) {
      let t = 0;
      for (let n = 1000; n <= 100_000; n += 1000) {
        t += binomial(random, 1000, 0.1);
        if (sequentialSrmTest([t, n - t], [0.1, 0.9]).mismatch) {
          falseAlarms++;
          break;
        }
      }
    }
    let caught = 0;
    const at: number[] = [];
    for (let i = 0; i < 200; i++) {
      let t = 0;
      for (let n = 1000; n <= 100_000; n += 1000) {
        t += binomial(random, 1000, 0.12);
        if (sequentialSrmTest([t, n - t], [0.1, 0.9]).mismatch) {
          caught++;
          at.push(n);
          break;
        }
      }
    }
    at.sort((a, b) => a - b);
    console.log(`SRM: A/A false-alarm rate ${falseAlarms / runs} (alpha 0.001); 12/88 caught in ${caught} of 200 runs, median at ${at[at.length >> 1]} assignments`);
    expect(falseAlarms / runs).toBeLessThanOrEqual(0.001 + 3 * Math.sqrt(0.001 / runs));
    expect(caught).toBe(200);
  });

  it('a total that overflows is no data, not NaN', () => {
    const r = sequentialSrmTest([1e300, 1.797693124862316e308], [0, 0]);
    expect(r).toMatchObject({ mismatch: false, pValue: 1, logBayesFactor: 0, expected: [0, 0], observedShares: [0, 0] });
    const s = sequentialSrmTest([1.7e308, 1.7e308], [1, 1]);
    expect(s.mismatch).toBe(false);
    expect([...s.expected, ...s.observedShares].every((v) => Number.isFinite(v))).toBe(true);
  });

  it('property: never throws, never NaN', () => {
    const n = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, 1e300, Infinity, -1));
    fc.assert(
      fc.property(fc.array(n, { maxLength: 4 }), fc.array(n, { maxLength: 4 }), (observed, weights) => {
        const r = sequentialSrmTest(observed, weights);
        expect(Number.isNaN(r.pValue)).toBe(false);
        expect(Number.isNaN(r.logBayesFactor)).toBe(false);
        for (const v of [...r.expected, ...r.observedShares, ...r.expectedShares]) expect(Number.isNaN(v)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('srmCheck', () => {
  const decision = (kind: 'advance' | 'rollback'): Decision =>
    kind === 'advance'
      ? { kind: 'advance', toStage: 2, forced: false, reason: 'ok', evidence: { gates: [], matrices: [] }, health: 'green', waitingFor: [] }
      : { kind: 'rollback', to: 'zero', toStage: null, reason: 'bad', evidence: { gates: [], matrices: [] }, health: 'red', waitingFor: [] };

  it('holds with an assignment problem when the cohorts do not match the split', () => {
    const hold = srmCheck({ treatment: 12_000, control: 88_000, expectedTreatmentShare: 0.1 });
    expect(hold).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'srm', health: 'yellow' });
    expect(hold?.reason).toMatch(/^Holding: assignment problem: the treatment cohort has 12% of 100000 assigned contexts where the split expects 10%/);
    expect(preferSrmHold(decision('advance'), hold).kind).toBe('hold');
    expect(preferSrmHold(decision('rollback'), hold).kind).toBe('rollback');
  });

  it('stays out of the way on a correct split or an unknown one', () => {
    expect(srmCheck({ treatment: 10_020, control: 89_980, expectedTreatmentShare: 0.1 })).toBeUndefined();
    expect(srmCheck({ treatment: 12_000, control: 88_000, expectedTreatmentShare: undefined })).toBeUndefined();
    expect(preferSrmHold(decision('advance'), undefined).kind).toBe('advance');
  });
});
