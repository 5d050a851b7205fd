import { describe, expect, it } from 'vitest';
import { normalCdf, normalPdf, normalQuantile, normalSurvival } from './normal.js';

// Reference values: R pnorm/qnorm (agreeing with CPython math.erfc and statistics.NormalDist to 1e-14).
const CDF: [number, number][] = [
  [0, 0.5],
  [0.5, 0.6914624612740131],
  [-1, 0.15865525393145707],
  [1.959963984540054, 0.975],
  [-2.5, 0.006209665325776132],
  [2.9, 0.998134186699616],
  [-3, 0.0013498980316300946],
  [3.5, 0.9997673709209645],
  [-5, 2.866515718791939e-7],
  [-8, 6.22096057427178e-16],
  [-10, 7.61985302416047e-24],
  [-20, 2.7536241186062337e-89],
];

const QUANTILE: [number, number][] = [
  [0.5, 0],
  [0.975, 1.959963984540054],
  [0.95, 1.6448536269514722],
  [0.01, -2.3263478740408408],
  [0.001, -3.090232306167813],
  [0.9999, 3.719016485455709],
  [1e-10, -6.361340902404056],
  [0.02425, -1.9729610513118845],
];

describe('normalCdf', () => {
  it.each(CDF)('Phi(%d) matches the reference to 1e-12 relative', (x, expected) => {
    const got = normalCdf(x);
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(1e-12 * Math.max(expected, 1e-300) + 1e-16);
  });

  it('is symmetric and monotone, and handles the edges', () => {
    for (let x = -8; x <= 8; x += 0.37) {
      expect(normalCdf(x) + normalCdf(-x)).toBeCloseTo(1, 14);
      expect(normalCdf(x + 0.01)).toBeGreaterThan(normalCdf(x));
    }
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalCdf(-50)).toBe(0);
    expect(Number.isNaN(normalCdf(Number.NaN))).toBe(true);
    expect(normalSurvival(8)).toBeCloseTo(6.22096057427178e-16, 25);
    expect(normalPdf(0)).toBeCloseTo(0.3989422804014327, 15);
  });

  it('is continuous where the series hands over to the continued fraction', () => {
    expect(Math.abs(normalCdf(3 - 1e-12) - normalCdf(3 + 1e-12))).toBeLessThan(1e-14);
    expect(Math.abs(normalCdf(-3 - 1e-12) - normalCdf(-3 + 1e-12)) / normalCdf(-3)).toBeLessThan(1e-11);
  });
});

describe('normalQuantile', () => {
  it.each(QUANTILE)('qnorm(%d) matches the reference to 1e-9', (p, expected) => {
    expect(Math.abs(normalQuantile(p) - expected)).toBeLessThan(1e-9);
  });

  it('inverts the CDF across the range', () => {
    for (const p of [1e-300, 1e-50, 1e-15, 1e-6, 0.0123, 0.3, 0.5, 0.77, 0.999, 1 - 1e-12]) {
      const x = normalQuantile(p);
      const back = x <= 0 ? normalCdf(x) : 1 - normalSurvival(x);
      expect(Math.abs(back - p) / Math.min(p, 1 - p)).toBeLessThan(1e-9);
    }
  });

  it('is total at the edges', () => {
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(Number.isNaN(normalQuantile(-0.1))).toBe(true);
    expect(Number.isNaN(normalQuantile(Number.NaN))).toBe(true);
  });
});
