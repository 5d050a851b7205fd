import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { murmur3, murmur3CharCodes, murmur3Continue, murmur3Prefix } from './murmur3.js';

// murmurhash3js (the package Unleash's SDK hashes with) is an independent
// reference: it hashes the low byte of each char code, so a latin1 string of
// UTF-8 bytes gives the UTF-8 hash.
const require = createRequire(import.meta.url);
const reference = require('murmurhash3js') as { x86: { hash32(key: string, seed?: number): number } };
const utf8Reference = (s: string, seed: number) => reference.x86.hash32(Buffer.from(s, 'utf8').toString('latin1'), seed);

describe('murmur3', () => {
  it('matches the reference on fixed vectors', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });

  it('hashes UTF-8 bytes for any string, including non-ASCII and lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3(s, seed)).toBe(utf8Reference(s, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes char codes like murmurhash3js in charCodes mode', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3CharCodes(s, seed)).toBe(reference.x86.hash32(s, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('continues a precomputed prefix to the same hash as the whole string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.boolean(), (prefix, suffix, charCodes) => {
        const whole = charCodes ? murmur3CharCodes(prefix + suffix, 7) : murmur3(prefix + suffix, 7);
        expect(murmur3Continue(murmur3Prefix(prefix, 7, charCodes ? 'charCodes' : 'utf8'), suffix)).toBe(whole);
      }),
      { numRuns: 2000 },
    );
  });
});
