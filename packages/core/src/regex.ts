/**
 * Regular expressions of the `matches` operator.
 *
 * Patterns come from people and from imports and run on every evaluation, in
 * the server too, against context values that a public browser token
 * controls. A backtracking engine can be stalled by one pattern
 * (`(?:.*){10}x` on 24 characters takes seconds), and no analysis of
 * patterns can rule that out for good. So patterns are run by a linear-time
 * engine with RE2 semantics: matching time grows with the input's length
 * times the pattern's size, whatever either holds.
 *
 * The core has no dependencies, so the engine is a parameter: anything with
 * `compile(pattern)` returning `{ test(input) }` that matches in linear time.
 * The `RE2JS` class of the `re2js` package has exactly this shape and is
 * what the server, the Node SDK and the command line pass. Without an engine,
 * a flag with a `matches` condition evaluates to ERROR/PARSE_ERROR: the core
 * never falls back to a backtracking engine.
 */

/** One compiled pattern. `test` says whether the pattern matches anywhere in `input` (unanchored). */
export interface CompiledRegex {
  test(input: string): boolean;
}

/**
 * A linear-time regular expression engine with RE2 syntax and semantics.
 * `compile` throws an Error saying why when the pattern is not valid for it.
 *
 * @example
 * import { RE2JS } from 're2js';
 * const engine: RegexEngine = RE2JS;
 * compileSnapshot(snapshot, { regex: engine });
 */
export interface RegexEngine {
  compile(pattern: string): CompiledRegex;
}

/** The longest pattern accepted, in UTF-16 code units. */
export const MAX_PATTERN_LENGTH = 1000;

/** The verdict on one pattern. `reason` is a sentence meant for the person who wrote the pattern. */
export type RegexPatternCheck = { ok: true; regex: CompiledRegex } | { ok: false; reason: string };

/** Why a flag with a regex cannot be evaluated without an engine. */
export const NO_REGEX_ENGINE =
  'matches needs a linear-time regular expression engine: pass one (RE2JS from the re2js package) as the regex option';

const LOOKAROUND = /\(\?<?[=!]/;
const BACKREFERENCE = /\\(?:[1-9]|k<)/;

function explain(pattern: string, message: string): string {
  if (LOOKAROUND.test(pattern)) {
    return 'lookahead and lookbehind assertions ((?=, (?!, (?<=, (?<!) are not supported: patterns are matched in linear time with RE2 semantics, which have no lookaround; match the text itself instead, or use two conditions';
  }
  if (BACKREFERENCE.test(pattern)) {
    return 'backreferences (\\1, \\k<name>) are not supported: patterns are matched in linear time with RE2 semantics, which have no backreferences';
  }
  return `not a valid RE2 regular expression: ${message.replace(/^error parsing regexp: /, '')}`;
}

/**
 * Checks and compiles one pattern of a `matches` condition with `engine`.
 * `caseInsensitive` compiles it with RE2's `(?i)` flag. The server calls this
 * when a flag or segment is saved, the compile step when a snapshot is
 * compiled, so the two never disagree.
 *
 * @example
 * checkRegexPattern('^user-\\d+$', RE2JS);      // { ok: true, regex }
 * checkRegexPattern('(?<=a+)b', RE2JS).ok;      // false: RE2 has no lookbehind
 */
export function checkRegexPattern(pattern: string, engine: RegexEngine | undefined, caseInsensitive = false): RegexPatternCheck {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, reason: `a pattern is at most ${MAX_PATTERN_LENGTH} characters long (this one has ${pattern.length})` };
  }
  if (engine === undefined) return { ok: false, reason: NO_REGEX_ENGINE };
  try {
    return { ok: true, regex: engine.compile(caseInsensitive ? `(?i)${pattern}` : pattern) };
  } catch (e) {
    return { ok: false, reason: explain(pattern, e instanceof Error ? e.message : String(e)) };
  }
}
