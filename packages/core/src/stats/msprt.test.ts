import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  alwaysValidPValue,
  boundaryZSquared,
  confidenceSequence,
  effectiveSamples,
  fixedHorizonZ,
  meanDifferenceTest,
  mixtureLikelihoodRatio,
  optimalMixingRatio,
  proportionDifferenceTest,
  relativeDifferenceTest,
  sequentialTest,
  shareTest,
} from './msprt.js';
import { binomial, gaussian, mulberry32 } from './stats.test-helpers.js';

const ALPHA = 0.05;
/** Three Monte Carlo standard errors of a rate near alpha over `runs` runs. */
const slack = (rate: number, runs: number): number => 3 * Math.sqrt((rate * (1 - rate)) / runs);

describe('mixture likelihood ratio and confidence sequence: the formulas', () => {
  it('Lambda matches the closed form and 1/Lambda is the p-value', () => {
    const V = 0.003 ** 2;
    const tau2 = 8 * V;
    const lambda = mixtureLikelihoodRatio(0.01, V, tau2);
    const expected = Math.sqrt(V / (V + tau2)) * Math.exp((tau2 * 0.01 ** 2) / (2 * V * (V + tau2)));
    expect(lambda).toBeCloseTo(expected, 10);
    expect(alwaysValidPValue(Math.log(lambda))).toBeCloseTo(1 / lambda, 12);
    expect(alwaysValidPValue(Math.log(lambda), 1e-3)).toBe(1e-3);
    expect(alwaysValidPValue(-5)).toBe(1);
  });

  it('the confidence sequence is exactly the set of nulls the test does not reject', () => {
    const V = 2e-6;
    const tau2 = 5e-6;
    const { lower, upper } = confidenceSequence(0.004, V, tau2, ALPHA);
    const half = Math.sqrt(((V * (V + tau2)) / tau2) * (Math.log((V + tau2) / V) + 2 * Math.log(1 / ALPHA)));
    expect(upper - 0.004).toBeCloseTo(half, 12);
    // At the bounds, Lambda = 1/alpha.
    expect(mixtureLikelihoodRatio(0.004, V, tau2, lower)).toBeCloseTo(1 / ALPHA, 6);
    expect(mixtureLikelihoodRatio(0.004, V, tau2, upper)).toBeCloseTo(1 / ALPHA, 6);
  });

  it('tunes rho* = 2 ln(1/alpha) + ln(1 + rho*), which minimizes the width at the expected sample', () => {
    const rho = optimalMixingRatio(ALPHA);
    expect(rho).toBeCloseTo(2 * Math.log(20) + Math.log1p(rho), 12);
    expect(rho).toBeGreaterThan(8);
    expect(rho).toBeLessThan(8.4);
    for (const other of [rho * 0.8, rho * 1.25]) expect(boundaryZSquared(other, ALPHA)).toBeGreaterThan(boundaryZSquared(rho, ALPHA));
    // At the expected sample the sequential boundary is about 3.03 standard errors; a fixed-horizon test needs 1.96.
    expect(Math.sqrt(boundaryZSquared(rho, ALPHA))).toBeCloseTo(3.03, 1);
    expect(fixedHorizonZ(ALPHA)).toBeCloseTo(1.96, 2);
    expect(effectiveSamples(1000, 1000)).toBe(500);
  });

  it('is total: degenerate inputs give p = 1 and an unbounded interval, never NaN', () => {
    const r = sequentialTest({ estimate: Number.NaN, variance: 0, nullValue: 0, effectiveSamples: 0 });
    expect(r).toMatchObject({ pValue: 1, rejects: 'none', lower: -Infinity, upper: Infinity });
    const p = proportionDifferenceTest({ events: 0, samples: 0 }, { events: 0, samples: 0 });
    expect(p.pValue).toBe(1);
    const z = proportionDifferenceTest({ events: 0, samples: 5000 }, { events: 0, samples: 5000 });
    expect(z.pValue).toBe(1);
    expect(Number.isFinite(z.lower)).toBe(true);
  });

  it('property: never throws and never returns NaN for arbitrary counts and summaries', () => {
    const num = fc.oneof(fc.double({ noNaN: false }), fc.integer(), fc.constantFrom(0, 1, 1e300, -1, Number.MAX_VALUE, Infinity));
    fc.assert(
      fc.property(num, num, num, num, num, (a, b, c, d, r) => {
        const results = [
          proportionDifferenceTest({ events: a, samples: b }, { events: c, samples: d }, r / 100),
          meanDifferenceTest({ mean: a, variance: b, samples: c }, { mean: d, variance: b, samples: c }, r),
          relativeDifferenceTest({ mean: a, variance: b }, { mean: c, variance: d }, b, d, r),
          shareTest({ events: a, samples: b }, c),
        ];
        for (const x of results) {
          for (const v of [x.estimate, x.pValue, x.lower, x.upper, x.logLikelihoodRatio, x.mixingRatio, x.naivePValue]) expect(Number.isNaN(v)).toBe(false);
          expect(x.pValue).toBeGreaterThanOrEqual(0);
          expect(x.pValue).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * One run of sequential monitoring of two error rates: every `step` samples
 * per arm up to `max`, the mSPRT (tuned to 10,000 per arm) and the naive
 * fixed-horizon z-test are checked; returns when each first rejected, and
 * whether the confidence sequence ever missed the true difference.
 */
function monitorProportions(random: () => number, pt: number, pc: number, max: number, step: number, alpha = ALPHA) {
  let xt = 0;
  let xc = 0;
  let sequential = 0;
  let naive = 0;
  let missed = false;
  const naiveZ = fixedHorizonZ(alpha);
  for (let n = step; n <= max; n += step) {
    xt += binomial(random, step, pt);
    xc += binomial(random, step, pc);
    const r = proportionDifferenceTest({ events: xt, samples: n }, { events: xc, samples: n }, 0, { alpha, expectedEffectiveSamples: 5000 });
    if (sequential === 0 && r.rejects !== 'none') sequential = n;
    if (naive === 0 && r.naivePValue <= alpha && Math.abs(r.estimate) / Math.sqrt(r.variance) > naiveZ * 0.999) naive = n;
    if (r.lower > pt - pc || r.upper < pt - pc) missed = true;
  }
  return { sequential, naive, missed };
}

describe('difference of proportions (error rate): simulation', () => {
  it('A/A, 2,000 runs monitored every 100 samples to 20,000 per arm: false alarms <= alpha; the naive repeated z-test far exceeds it', () => {
    const random = mulberry32(20240601);
    const runs = 2000;
    let seq = 0;
    let naive = 0;
    let missed = 0;
    for (let i = 0; i < runs; i++) {
      const r = monitorProportions(random, 0.01, 0.01, 20_000, 100);
      if (r.sequential > 0) seq++;
      if (r.naive > 0) naive++;
      if (r.missed) missed++;
    }
    const seqRate = seq / runs;
    const naiveRate = naive / runs;
    console.log(`A/A error rate 1%: mSPRT false-positive rate ${seqRate}, naive repeated z-test ${naiveRate}, CS miss rate ${missed / runs}`);
    expect(seqRate).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
    expect(naiveRate).toBeGreaterThan(0.2);
    expect(missed / runs).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
  });

  it('power: an error rate doubled from 1% to 2% is detected in >= 99% of 1,000 runs by 20,000 per arm, and the CS covers the true difference', () => {
    const random = mulberry32(7);
    const runs = 1000;
    let detected = 0;
    let missed = 0;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = monitorProportions(random, 0.02, 0.01, 20_000, 100);
      if (r.sequential > 0) {
        detected++;
        times.push(r.sequential);
      }
      if (r.missed) missed++;
    }
    times.sort((a, b) => a - b);
    console.log(`Power 1% -> 2%: ${detected / runs} by 20,000 per arm; median detection at ${times[times.length >> 1]} per arm; CS miss rate ${missed / runs}`);
    expect(detected / runs).toBeGreaterThanOrEqual(0.99);
    expect(missed / runs).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
  });
});

/** Lognormal latencies (ms), the shape real response times have. */
function latency(random: () => number, scale: number): number {
  return scale * Math.exp(0.5 * gaussian(random));
}

function monitorMeans(random: () => number, scaleT: number, scaleC: number, relativeNull: number | undefined, runs: number, max: number, step: number) {
  let rejected = 0;
  let missed = 0;
  const trueMean = (s: number) => s * Math.exp(0.125);
  const truth = relativeNull === undefined ? trueMean(scaleT) - trueMean(scaleC) : scaleT / scaleC - 1;
  for (let i = 0; i < runs; i++) {
    const sum = [0, 0];
    const sq = [0, 0];
    let hit = false;
    let miss = false;
    for (let n = step; n <= max; n += step) {
      for (let j = 0; j < step; j++) {
        const a = latency(random, scaleT);
        const b = latency(random, scaleC);
        sum[0]! += a;
        sq[0]! += a * a;
        sum[1]! += b;
        sq[1]! += b * b;
      }
      const mt = sum[0]! / n;
      const mc = sum[1]! / n;
      const vt = (sq[0]! - n * mt * mt) / (n - 1);
      const vc = (sq[1]! - n * mc * mc) / (n - 1);
      const options = { alpha: ALPHA, expectedEffectiveSamples: 5000 };
      const r =
        relativeNull === undefined
          ? meanDifferenceTest({ mean: mt, variance: vt, samples: n }, { mean: mc, variance: vc, samples: n }, 0, options)
          : relativeDifferenceTest({ mean: mt, variance: vt / n }, { mean: mc, variance: vc / n }, n, n, relativeNull, options);
      if (r.rejects === 'above') hit = true;
      if (r.lower > truth || r.upper < truth) miss = true;
    }
    if (hit) rejected++;
    if (miss) missed++;
  }
  return { rejected: rejected / runs, missed: missed / runs };
}

describe('means (Welch) and relative differences: simulation', () => {
  it('A/A on lognormal latencies, 1,000 runs every 100 to 10,000 per arm: false alarms and CS misses <= alpha', () => {
    const runs = 1000;
    const r = monitorMeans(mulberry32(99), 200, 200, undefined, runs, 10_000, 100);
    console.log(`A/A latency (Welch): one-sided false-positive rate ${r.rejected}, CS miss rate ${r.missed}`);
    expect(r.rejected).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
    expect(r.missed).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
  });

  it('relative: treatment exactly 20% slower, tested for "> +20%", 300 runs: false alarms <= alpha; 40% slower is detected', () => {
    const runs = 300;
    const boundary = monitorMeans(mulberry32(5), 240, 200, 0.2, runs, 10_000, 100);
    const harmful = monitorMeans(mulberry32(6), 280, 200, 0.2, 100, 10_000, 100);
    console.log(`Relative > +20% at the boundary: false-positive rate ${boundary.rejected}, Fieller CS miss rate ${boundary.missed}; at +40%: power ${harmful.rejected}`);
    expect(boundary.rejected).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
    expect(boundary.missed).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
    expect(harmful.rejected).toBeGreaterThanOrEqual(0.99);
  });
});

describe('share above a bound (quantile gates)', () => {
  it('tests the share against the nominal one: 7% above the p95 bound is a breach, 5% is not', () => {
    expect(shareTest({ events: 700, samples: 10_000 }, 0.05).rejects).toBe('above');
    expect(shareTest({ events: 500, samples: 10_000 }, 0.05).rejects).toBe('none');
    expect(shareTest({ events: 300, samples: 10_000 }, 0.05).rejects).toBe('below');
  });

  it('A/A at the nominal share, 500 runs every 100 to 10,000: false alarms <= alpha', () => {
    const random = mulberry32(3);
    const runs = 500;
    let rejected = 0;
    for (let i = 0; i < runs; i++) {
      let x = 0;
      for (let n = 100; n <= 10_000; n += 100) {
        x += binomial(random, 100, 0.05);
        if (shareTest({ events: x, samples: n }, 0.05, { expectedEffectiveSamples: 10_000 }).rejects !== 'none') {
          rejected++;
          break;
        }
      }
    }
    console.log(`Share test at the nominal 5%: false-positive rate ${rejected / runs}`);
    expect(rejected / runs).toBeLessThanOrEqual(ALPHA + slack(ALPHA, runs));
  });
});
