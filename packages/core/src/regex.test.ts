import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { compileSnapshot } from './compile.js';
import { evaluate } from './evaluate.js';
import { checkRegexPattern, MAX_PATTERN_LENGTH, NO_REGEX_ENGINE, type RegexEngine } from './regex.js';
import type { FlagConfig } from './types.js';
import { validateFlag, validateSegment } from './validate.js';

function regexFlag(pattern: string, caseInsensitive = false): FlagConfig {
  return {
    key: 'f',
    type: 'boolean',
    variations: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    enabled: true,
    offVariation: 'off',
    rules: [{ id: 'r1', conditions: [{ attribute: 'name', operator: 'matches', values: [pattern], caseInsensitive }], serve: { variation: 'on' } }],
    fallthrough: { variation: 'off' },
  };
}

/** The attacks of issue 10: each stalls a backtracking engine for seconds on far shorter inputs. */
const ATTACKS: readonly { pattern: string; value: string }[] = [
  { pattern: '(?:.*){10}x', value: 'a'.repeat(100_000) },
  { pattern: '.*.*.*.*.*=x', value: 'a'.repeat(100_000) },
  { pattern: '^\\d+\\d+\\d+\\d+x$', value: '1'.repeat(100_000) },
  { pattern: '^(a+)+$', value: `${'a'.repeat(100_000)}!` },
  { pattern: '^(a|aa)*$', value: `${'a'.repeat(100_000)}b` },
];

describe('matches with a linear-time engine', () => {
  const compiledOnce = new Map(ATTACKS.map((a) => [a.pattern, compileSnapshot({ flags: [regexFlag(a.pattern)] }, { regex: RE2JS })]));

  it.each(ATTACKS)('$pattern on 100,000 characters finishes, and does not match', ({ pattern, value }) => {
    // Under a backtracking engine these evaluations would not finish within any test's lifetime.
    const snapshot = compiledOnce.get(pattern);
    for (let i = 0; i < 3; i++) {
      expect(evaluate(snapshot, 'f', { name: value }, false)).toMatchObject({ value: false, reason: 'DEFAULT' });
    }
  });

  it('the same patterns match where they should', () => {
    const matching = ['a'.repeat(50) + 'x', 'k=x', '1234x', 'aaaa', 'aaaa'];
    ATTACKS.forEach((a, i) => {
      expect(evaluate(compiledOnce.get(a.pattern), 'f', { name: matching[i] }, false), a.pattern).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    });
  });

  it('refuses lookbehind with a message that says why and what to do', () => {
    const check = checkRegexPattern('(?<=a+)b', RE2JS);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/lookbehind.*not supported.*RE2/);
    const issues = validateFlag(regexFlag('(?<=a+)b'), { regex: RE2JS });
    expect(issues).toEqual([{ path: 'rules[0].conditions[0].values[0]', message: expect.stringMatching(/lookbehind/) as unknown }]);
    expect(evaluate(compileSnapshot({ flags: [regexFlag('(?<=a+)b')] }, { regex: RE2JS }), 'f', { name: 'ab' }, false)).toMatchObject({
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: expect.stringMatching(/lookbehind/) as unknown,
    });
  });

  it('names backreferences and passes RE2 syntax errors on', () => {
    const backref = checkRegexPattern('(a)\\1', RE2JS);
    expect(backref.ok === false && backref.reason).toMatch(/backreferences/);
    const syntax = checkRegexPattern('a{2,1}', RE2JS);
    expect(syntax.ok === false && syntax.reason).toBe('not a valid RE2 regular expression: invalid repeat count: `{2,1}`');
    const long = checkRegexPattern('a'.repeat(MAX_PATTERN_LENGTH + 1), RE2JS);
    expect(long.ok === false && long.reason).toMatch(/at most 1000 characters/);
  });

  it('caseInsensitive compiles the pattern with (?i)', () => {
    const seen: string[] = [];
    const engine: RegexEngine = { compile: (p) => (seen.push(p), RE2JS.compile(p)) };
    const snapshot = compileSnapshot({ flags: [regexFlag('^beta', true)] }, { regex: engine });
    expect(evaluate(snapshot, 'f', { name: 'BETA-1' }, false).value).toBe(true);
    expect(seen).toContain('(?i)^beta');
  });

  it('without an engine, a matches condition is refused and its flag evaluates to PARSE_ERROR; other flags are unaffected', () => {
    expect(validateFlag(regexFlag('^a'))).toEqual([{ path: 'rules[0].conditions[0].values[0]', message: NO_REGEX_ENGINE }]);
    expect(validateSegment({ key: 's', rules: [{ conditions: [{ attribute: 'a', operator: 'matches', values: ['x'] }] }] })).toHaveLength(1);
    const plain = regexFlag('^a');
    const other: FlagConfig = { ...plain, key: 'g', rules: [] };
    const snapshot = compileSnapshot({ flags: [plain, other] });
    expect(evaluate(snapshot, 'f', { name: 'a' }, false)).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR', errorMessage: expect.stringContaining('re2js') as unknown });
    expect(evaluate(snapshot, 'g', { name: 'a' }, true)).toMatchObject({ value: false, reason: 'STATIC' });
  });

  it('a plain snapshot is compiled with the engine given in the evaluation options, and again when it changes', () => {
    const snapshot = { flags: [regexFlag('^a')] };
    expect(evaluate(snapshot, 'f', { name: 'abc' }, false, { regex: RE2JS }).value).toBe(true);
    expect(evaluate(snapshot, 'f', { name: 'abc' }, false).errorCode).toBe('PARSE_ERROR');
    expect(evaluate(snapshot, 'f', { name: 'abc' }, false, { regex: RE2JS }).value).toBe(true);
  });
});
