import { describe, expect, it } from 'vitest';
import { editDistance, nearestKey } from './nearest-key.js';

describe('nearestKey', () => {
  it('counts insertions, deletions, substitutions and swaps as one edit each', () => {
    expect(editDistance('eror-rate', 'error-rate')).toBe(1);
    expect(editDistance('error-rtae', 'error-rate')).toBe(1);
    expect(editDistance('errorrate', 'error-rate')).toBe(1);
    expect(editDistance('error-rote', 'error-rate')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting', 1)).toBe(2);
  });

  it('suggests the nearest known key when it is a likely typo, and nothing otherwise', () => {
    const known = ['error-rate', 'p95-response-time', 'adoption', 'cache-hit-rate'];
    expect(nearestKey('eror-rate', known)).toBe('error-rate');
    expect(nearestKey('adoptoin', known)).toBe('adoption');
    expect(nearestKey('cache-hit-rat', known)).toBe('cache-hit-rate');
    expect(nearestKey('checkout-total', known)).toBeUndefined();
    // Short keys get one edit at most.
    expect(nearestKey('cpu', ['cpx', 'abc'])).toBe('cpx');
    expect(nearestKey('cpu', ['xyz'])).toBeUndefined();
  });
});
