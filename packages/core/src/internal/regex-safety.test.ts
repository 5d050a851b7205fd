import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_PATTERN_LENGTH, checkRegexPattern } from './regex-safety.js';

function reasonOf(pattern: string): string {
  const result = checkRegexPattern(pattern);
  if (result.ok) throw new Error(`expected ${JSON.stringify(pattern)} to be refused`);
  return result.reason;
}

describe('checkRegexPattern: safe patterns pass', () => {
  it.each([
    // The examples of the brief and of docs/evaluation.md.
    '^[a-z0-9._%+-]+@example\\.com$',
    '^user-\\d+$',
    '^(beta|alpha)-[0-9]{1,5}$',
    '\\.(gif|png|jpe?g)$',
    '^(?:[a-z]+\\.)?example\\.org$',
    // Plain and anchored text, classes, escapes.
    '',
    'a',
    'abc',
    '^$',
    '^https://',
    '.*',
    '^.*@example\\.com$',
    '[]',
    '[^]',
    '[-a]',
    '[a-]',
    '[\\]]+',
    '[\\b]',
    '[\\-\\d]+',
    '\\bword\\b',
    '\\x41\\u0042\\u{1F600}\\cJ\\0\\t\\n',
    '[\\u0041-\\u005A]+',
    '\\uD83D\\uDE00+',
    '😀+',
    '\\p{L}+\\P{Lu}*',
    '[\\p{Script=Greek}]+',
    '\\/path\\/',
    // Unbounded quantifiers on single characters, and adjacent ones.
    'a+b*c?',
    'a+?b*?c??d{2,}?',
    '\\d+\\d+',
    '^\\s*$',
    // Repeated groups whose contents are unambiguous.
    '(ab)+',
    '(a|b)*',
    '(?:foo|bar)+',
    '(\\d|[a-z])+',
    '(\\s|\\S)*',
    '(\\.|-)+',
    '([a-z]|[0-9])+',
    '(ab?)+',
    '(https?://)+',
    '(-?\\d)?',
    '(\\d-?)+',
    '([a-z]{1,63}\\.)+[a-z]{2,}',
    '(?:\\d{1,3}\\.)+',
    '(a{3})+',
    '(?:ab){2,}',
    '^(?<word>[a-z])+$',
    '((ab?){1,3}c)+',
    // Bounded outer quantifiers: ?, {0,1}, {n}, {n,m} with m <= 10.
    '(a+)?',
    '(a+){0,1}',
    '(a+){3}',
    '(a+){1,10}',
    '(a|a){1,10}',
    '(a|ab)?',
    '^(\\d{1,3}\\.){3}\\d{1,3}$',
    '^((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)$',
    // Alternations that are not repeated.
    '^(a|a)$',
    '(a|ab)c',
    '^(?:a+|b+)$',
    // Lookarounds.
    '^(?=.*\\d)(?=.*[a-z]).{8,}$',
    '(?<=\\$)\\d+',
    '(?<!x)y',
    '(?!foo)bar',
  ])('%j', (pattern) => {
    expect(checkRegexPattern(pattern)).toEqual({ ok: true });
  });

  it('accepts a pattern of exactly 1,000 characters', () => {
    expect(MAX_PATTERN_LENGTH).toBe(1000);
    expect(checkRegexPattern('a'.repeat(1000))).toEqual({ ok: true });
  });
});

describe('checkRegexPattern: refusals', () => {
  it('refuses a non-string', () => {
    expect(checkRegexPattern(42 as unknown as string)).toEqual({ ok: false, reason: 'pattern must be a string' });
    expect(checkRegexPattern(undefined as unknown as string)).toEqual({ ok: false, reason: 'pattern must be a string' });
  });

  it('refuses patterns longer than 1,000 characters', () => {
    expect(reasonOf('a'.repeat(1001))).toBe('pattern is 1001 characters long; the limit is 1,000');
    // Before compiling: an invalid overlong pattern gets the length reason.
    expect(reasonOf('('.repeat(5000))).toBe('pattern is 5000 characters long; the limit is 1,000');
  });

  it.each([
    ['(', 'Unterminated group'],
    ['[a-', 'Unterminated character class'],
    ['a{', 'Incomplete quantifier'],
    ['\\', '\\ at end of pattern'],
    [']', 'Lone quantifier brackets'],
    ['{1}', 'Nothing to repeat'],
    ['*a', 'Nothing to repeat'],
    ['a**', 'Nothing to repeat'],
    ['[z-a]', 'Range out of order in character class'],
    ['\\q', 'Invalid escape'],
    ['(?<a>x)(?<a>y)', 'Duplicate capture group name'],
    ['\\2', 'Invalid escape'],
    ['(?=a)+', 'Invalid quantifier'],
    ['\\p{NotAProperty}', 'Invalid property name'],
  ])('refuses %j as invalid in Unicode mode', (pattern, message) => {
    const reason = reasonOf(pattern);
    expect(reason.startsWith('pattern is not a valid regular expression (Unicode mode): ')).toBe(true);
    expect(reason).toContain(message);
    expect(reason).not.toContain('Invalid regular expression: Invalid regular expression');
  });

  it.each([
    ['(a)\\1', '\\1'],
    ['(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10', '\\10'],
    ['(?<q>[\'"]).*?\\k<q>', '\\k<q>'],
    ['^(\\w+)\\s+\\1$', '\\1'],
  ])('refuses the backreference in %j', (pattern, backref) => {
    expect(reasonOf(pattern)).toBe(
      `pattern uses a backreference (${backref}); backreferences are not allowed because they can make matching take exponential time`,
    );
  });

  it.each([
    ['(a+)+', '"(a+)+"', '"a+"'],
    ['^(a+)+$', '"(a+)+"', '"a+"'],
    ['(\\w*)*', '"(\\\\w*)*"', '"\\\\w*"'],
    ['(a|b+)*', '"(a|b+)*"', '"b+"'],
    ['((ab)*c)*', '"((ab)*c)*"', '"(ab)*"'],
    ['(?:a*)+', '"(?:a*)+"', '"a*"'],
    ['(a+)+?', '"(a+)+?"', '"a+"'],
    ['(a+){2,}', '"(a+){2,}"', '"a+"'],
    ['(a+){1,11}', '"(a+){1,11}"', '"a+"'],
    ['(a{2,})*', '"(a{2,})*"', '"a{2,}"'],
    ['(?<name>x.*y)+', '"(?<name>x.*y)+"', '".*"'],
    ['(((a+)))*', '"(((a+)))*"', '"a+"'],
    ['^(?:[a-z]+\\.)+example\\.org$', '"(?:[a-z]+\\\\.)+"', '"[a-z]+"'],
    ['(x(?=a+)y)*', '"(x(?=a+)y)*"', '"a+"'],
  ])('refuses %j: a repeated group with another unbounded quantifier', (pattern, group, inner) => {
    expect(reasonOf(pattern)).toBe(
      `pattern can backtrack catastrophically: the repeated group ${group} contains another unbounded quantifier ${inner}`,
    );
  });

  it.each([
    ['(a|a)*', '"a"', '"a"', '"(a|a)*"'],
    ['(a|ab)*', '"a"', '"ab"', '"(a|ab)*"'],
    ['(\\d|\\w)+', '"\\\\d"', '"\\\\w"', '"(\\\\d|\\\\w)+"'],
    ['(.|x)*', '"."', '"x"', '"(.|x)*"'],
    ['(x|[a-z])+', '"x"', '"[a-z]"', '"(x|[a-z])+"'],
    ['(\\s|\\t)*', '"\\\\s"', '"\\\\t"', '"(\\\\s|\\\\t)*"'],
    ['(ab|[^c])*', '"ab"', '"[^c]"', '"(ab|[^c])*"'],
    ['(\\p{L}|x)+', '"\\\\p{L}"', '"x"', '"(\\\\p{L}|x)+"'],
    ['(a?b|a)*', '"a?b"', '"a"', '"(a?b|a)*"'],
    ['(^a|a)*', '"^a"', '"a"', '"(^a|a)*"'],
    ['(x|y|ab|ac){11}', '"ab"', '"ac"', '"(x|y|ab|ac){11}"'],
    ['(x(a|ab)y)*', '"a"', '"ab"', '"(x(a|ab)y)*"'],
    // Compared case-insensitively, as conditions may set caseInsensitive.
    ['(a|A)*', '"a"', '"A"', '"(a|A)*"'],
    ['(é|É)+', '"é"', '"É"', '"(é|É)+"'],
    ['(k|\\u212A)+', '"k"', '"\\\\u212A"', '"(k|\\\\u212A)+"'],
    ['([^a-z]|q)+', '"[^a-z]"', '"q"', '"([^a-z]|q)+"'],
  ])('refuses %j: a repeated group with overlapping alternatives', (pattern, first, second, group) => {
    expect(reasonOf(pattern)).toBe(
      `pattern can backtrack catastrophically: the alternatives ${first} and ${second} in the repeated group ${group} can match the same text`,
    );
  });

  it.each([
    ['(aa?)+', '"(aa?)+"', '"a?"'],
    ['(a?a?)+', '"(a?a?)+"', '"a?"'],
    ['(a?b?)+', '"(a?b?)+"', '"a?"'],
    ['(a{1,2})+', '"(a{1,2})+"', '"a{1,2}"'],
    ['(a{0,2})*', '"(a{0,2})*"', '"a{0,2}"'],
    ['(\\w{1,20}\\w)+', '"(\\\\w{1,20}\\\\w)+"', '"\\\\w{1,20}"'],
    ['(ba?a?)+', '"(ba?a?)+"', '"a?"'],
    ['(x(b|)b)+', '"(x(b|)b)+"', '"(b|)"'],
    ['(a{1,3}){2,}', '"(a{1,3}){2,}"', '"a{1,3}"'],
    ['(aA?)+', '"(aA?)+"', '"A?"'],
  ])('refuses %j: a repeated group with an ambiguous variable part', (pattern, group, part) => {
    expect(reasonOf(pattern)).toBe(
      `pattern can backtrack catastrophically: in the repeated group ${group}, ${part} matches a variable amount of text and can match the same text as what follows it`,
    );
  });

  it('reports the outermost repeated group, shortened when long', () => {
    const pattern = `(${'x'.repeat(80)}(a+)+)*`;
    expect(reasonOf(pattern)).toBe(
      `pattern can backtrack catastrophically: the repeated group "${pattern.slice(0, 57)}..." contains another unbounded quantifier "(a+)+"`,
    );
  });
});

describe('checkRegexPattern: robustness', () => {
  it('never throws and refuses only with a reason, on generated patterns', () => {
    const unit = fc.constantFrom('a', 'b', '(', ')', '(?:', '(?=', '(?<n>', '|', '*', '+', '?', '{1,2}', '{2}', '{3,}', '[', ']', '^', '-', '\\', 'd', 'w', '1', '.', 'k<n>');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 20 }), (pattern) => {
        const result = checkRegexPattern(pattern);
        if (!result.ok) expect(result.reason).toMatch(/^pattern /);
        let valid = true;
        try {
          new RegExp(pattern, 'u');
        } catch {
          valid = false;
        }
        if (!valid) expect(result.ok).toBe(false);
        // The analysis understands every valid pattern it is given.
        if (!result.ok) expect(result.reason).not.toContain('cannot analyse');
      }),
      { numRuns: 5000 },
    );
  });

  it('checks a hostile 1,000-character pattern quickly', () => {
    const patterns = [
      `${'('.repeat(333)}a?${')'.repeat(333)}`.slice(0, 1000),
      `(${'[\\u0100-\\u04ff]?'.repeat(55)})+`,
      `(${'(a|b)'.repeat(160)})+`,
      `(${'a?'.repeat(490)}b)+`,
    ];
    for (const pattern of patterns) {
      expect(pattern.length).toBeLessThanOrEqual(1000);
      const started = performance.now();
      checkRegexPattern(pattern);
      expect(performance.now() - started, pattern.slice(0, 40)).toBeLessThan(1000);
    }
  });
});
