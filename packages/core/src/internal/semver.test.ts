import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareSemver, parseSemver } from './semver.js';
import type { ParsedSemver } from './semver.js';

function parsed(input: string): ParsedSemver {
  const v = parseSemver(input);
  if (v === undefined) throw new Error(`expected ${JSON.stringify(input)} to parse`);
  return v;
}

function cmp(a: string, b: string): number {
  return compareSemver(parsed(a), parsed(b));
}

/** The regular expression suggested by the SemVer 2.0.0 spec, as an independent oracle. */
const SPEC_REGEX =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

describe('parseSemver', () => {
  it('parses major, minor and patch', () => {
    expect(parseSemver('1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: [] });
    expect(parseSemver('0.0.0')).toEqual({ major: 0, minor: 0, patch: 0, prerelease: [] });
    expect(parseSemver('10.20.30')).toEqual({ major: 10, minor: 20, patch: 30, prerelease: [] });
  });

  it('parses pre-release identifiers, numeric ones as numbers', () => {
    expect(parseSemver('1.0.0-alpha')?.prerelease).toEqual(['alpha']);
    expect(parseSemver('1.0.0-alpha.1')?.prerelease).toEqual(['alpha', 1]);
    expect(parseSemver('1.0.0-0.3.7')?.prerelease).toEqual([0, 3, 7]);
    expect(parseSemver('1.0.0-x.7.z.92')?.prerelease).toEqual(['x', 7, 'z', 92]);
    expect(parseSemver('1.0.0-x-y-z.--')?.prerelease).toEqual(['x-y-z', '--']);
    expect(parseSemver('1.0.0-0a')?.prerelease).toEqual(['0a']);
    expect(parseSemver('1.0.0-00a')?.prerelease).toEqual(['00a']);
    expect(parseSemver('1.0.0--1')?.prerelease).toEqual(['-1']);
    expect(parseSemver('1.0.0-a.0')?.prerelease).toEqual(['a', 0]);
  });

  it('accepts and drops build metadata', () => {
    expect(parseSemver('1.0.0+20130313144700')).toEqual({ major: 1, minor: 0, patch: 0, prerelease: [] });
    expect(parseSemver('1.0.0-beta+exp.sha.5114f85')).toEqual({ major: 1, minor: 0, patch: 0, prerelease: ['beta'] });
    expect(parseSemver('1.0.0+21AF26D3---117B344092BD')).toBeDefined();
    // Build identifiers may have leading zeros.
    expect(parseSemver('1.0.0+001.0')).toBeDefined();
  });

  it('accepts one leading v or V', () => {
    expect(parseSemver('v1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: [] });
    expect(parseSemver('V1.2.3-rc.1')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: ['rc', 1] });
    expect(parseSemver('vv1.2.3')).toBeUndefined();
    expect(parseSemver('v')).toBeUndefined();
    expect(parseSemver('=1.2.3')).toBeUndefined();
  });

  it.each([
    '01.0.0',
    '1.01.0',
    '1.0.01',
    '1.0',
    '1',
    '1.0.0.0',
    '1.0.0-',
    '1.0.0-01',
    '1.0.0-alpha.01',
    '1.0.0-alpha..1',
    '1.0.0-alpha.',
    '1.0.0+',
    '1.0.0+a..b',
    '1.0.0+a.',
    '1.0.0-+a',
    '1.0.0-a_b',
    '1.0.0-é',
    '',
    'abc',
    ' 1.0.0',
    '1.0.0 ',
    '\t1.0.0\n',
    '1.0.0\u00a0',
    '-1.0.0',
    '+1.0.0',
    '1.-1.0',
    '1.0.x',
    '1.0.*',
    '1..0',
    '.1.0',
    '1.0.0.',
    '1.0.0a',
    '１.0.0',
  ])('refuses %j', (input) => {
    expect(parseSemver(input)).toBeUndefined();
  });

  it('refuses numbers above Number.MAX_SAFE_INTEGER', () => {
    expect(parseSemver(`${Number.MAX_SAFE_INTEGER}.0.0`)?.major).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSemver('9007199254740992.0.0')).toBeUndefined();
    expect(parseSemver('0.9007199254740992.0')).toBeUndefined();
    expect(parseSemver('0.0.99999999999999999999999999')).toBeUndefined();
    expect(parseSemver(`1.0.0-${Number.MAX_SAFE_INTEGER}`)?.prerelease).toEqual([Number.MAX_SAFE_INTEGER]);
    expect(parseSemver('1.0.0-9007199254740992')).toBeUndefined();
    // Not numeric, so not limited.
    expect(parseSemver('1.0.0-99999999999999999999x')?.prerelease).toEqual(['99999999999999999999x']);
  });

  it('refuses non-strings without throwing', () => {
    expect(parseSemver(1 as unknown as string)).toBeUndefined();
    expect(parseSemver(undefined as unknown as string)).toBeUndefined();
  });

  it('shares one frozen empty pre-release list between releases', () => {
    const a = parsed('1.0.0');
    const b = parsed('2.0.0+build');
    expect(a.prerelease).toBe(b.prerelease);
    expect(Object.isFrozen(a.prerelease)).toBe(true);
  });

  it('agrees with the SemVer spec regular expression on generated strings', () => {
    const alphabet = fc.constantFrom('0', '1', '2', '9', '.', '-', '+', 'a', 'Z', 'v', '_', ' ');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 16 }), (body) => {
        for (const input of [body, `1.2.3${body}`, `1.2.${body}`, `1.2.3-${body}`]) {
          const withoutV = /^[vV]/.test(input) ? input.slice(1) : input;
          const match = SPEC_REGEX.exec(withoutV);
          const result = parseSemver(input);
          if (!match) {
            expect(result, input).toBeUndefined();
            continue;
          }
          expect(result, input).toBeDefined();
          expect(result?.major).toBe(Number(match[1]));
          expect(result?.minor).toBe(Number(match[2]));
          expect(result?.patch).toBe(Number(match[3]));
          const ids = match[4] === undefined ? [] : match[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
          expect(result?.prerelease).toEqual(ids);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('compareSemver', () => {
  it('orders the SemVer spec precedence chain', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) {
        const a = chain[i] as string;
        const b = chain[j] as string;
        expect(cmp(a, b), `${a} vs ${b}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('orders major, minor and patch numerically', () => {
    expect(cmp('1.0.0', '2.0.0')).toBe(-1);
    expect(cmp('2.0.0', '2.1.0')).toBe(-1);
    expect(cmp('2.1.0', '2.1.1')).toBe(-1);
    expect(cmp('1.10.0', '1.9.0')).toBe(1);
    expect(cmp('1.0.10', '1.0.9')).toBe(1);
    expect(cmp('10.0.0', '9.99.99')).toBe(1);
    expect(cmp('1.2.3', '1.2.3')).toBe(0);
  });

  it('ignores build metadata and the leading v', () => {
    expect(cmp('1.0.0+a', '1.0.0+b')).toBe(0);
    expect(cmp('1.0.0+a', '1.0.0')).toBe(0);
    expect(cmp('1.0.0-rc.1+build.1', '1.0.0-rc.1+build.2')).toBe(0);
    expect(cmp('v1.0.0', '1.0.0')).toBe(0);
    expect(cmp('V1.0.0-beta', '1.0.0-beta+x')).toBe(0);
  });

  it('puts a pre-release below its release but above the previous release', () => {
    expect(cmp('1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(cmp('1.0.0', '1.0.0-rc.1')).toBe(1);
    expect(cmp('1.0.0-rc.1', '0.9.9')).toBe(1);
    expect(cmp('1.0.1-0', '1.0.0')).toBe(1);
  });

  it('compares identifiers: numeric below alphanumeric, ASCII order, longer wins', () => {
    expect(cmp('1.0.0-1', '1.0.0-a')).toBe(-1);
    expect(cmp('1.0.0-999', '1.0.0-0a')).toBe(-1);
    expect(cmp('1.0.0-2', '1.0.0-10')).toBe(-1);
    // ASCII order: '-' (45) < digits (48..57) < uppercase < lowercase.
    expect(cmp('1.0.0-Z', '1.0.0-a')).toBe(-1);
    expect(cmp('1.0.0--', '1.0.0-0a')).toBe(-1);
    expect(cmp('1.0.0-a', '1.0.0-aa')).toBe(-1);
    expect(cmp('1.0.0-10a', '1.0.0-9a')).toBe(-1);
    expect(cmp('1.0.0-a.1', '1.0.0-a')).toBe(1);
    expect(cmp('1.0.0-a.b.c', '1.0.0-a.b')).toBe(1);
    expect(cmp('1.0.0-a.1', '1.0.0-a.1')).toBe(0);
  });

  it('is antisymmetric, reflexive and transitive on generated versions', () => {
    const id = fc.oneof(fc.nat({ max: 20 }), fc.constantFrom('a', 'b', 'alpha', 'beta', 'rc', 'A', '-', '0a'));
    const version = fc
      .record({
        major: fc.nat({ max: 3 }),
        minor: fc.nat({ max: 3 }),
        patch: fc.nat({ max: 3 }),
        prerelease: fc.array(id, { maxLength: 3 }),
      })
      .map((v): ParsedSemver => v);
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(compareSemver(a, a)).toBe(0);
        expect(compareSemver(a, b)).toBe(-compareSemver(b, a) || 0);
        if (compareSemver(a, b) <= 0 && compareSemver(b, c) <= 0) expect(compareSemver(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});
