/**
 * SemVer 2.0.0 parsing and precedence, for the `semver*` condition operators.
 *
 * Strict on purpose: every evaluator (core, SDKs, server, playground) must agree
 * on which strings are versions, so nothing "almost a version" is coerced.
 * The only leniency is one leading `v` or `V`, which the evaluation contract
 * allows because release tags are commonly written that way.
 *
 * The parser is a single hand-written scan: no regular expression, no
 * substrings for the numeric parts, and a shared empty array for the
 * (common) versions without a pre-release, because attribute values are
 * parsed on every evaluation.
 */

/**
 * A parsed version. Build metadata is dropped: it never affects precedence.
 *
 * Invariants kept by `parseSemver`: `major`, `minor`, `patch` and numeric
 * pre-release identifiers are non-negative safe integers; string identifiers
 * are non-empty and contain at least one non-digit in `[0-9A-Za-z-]`.
 */
export interface ParsedSemver {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers in order; numeric ones as numbers. Empty for a release. Never mutate it: it may be shared. */
  prerelease: readonly (string | number)[];
}

/** Shared by every release version so that parsing one allocates only the result. */
const NO_PRERELEASE: readonly (string | number)[] = Object.freeze([]);

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_DASH = 45;
const CH_PLUS = 43;

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

/** `[0-9A-Za-z-]`, the SemVer identifier alphabet. */
function isIdentChar(c: number): boolean {
  return (c >= CH_0 && c <= CH_9) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === CH_DASH;
}

// Scan state shared by the helpers below. Parsing is synchronous and not
// re-entrant, so one module-level cursor is safe and avoids allocating one.
let pos = 0;

/**
 * Reads a numeric part (major, minor or patch) at `pos`: digits with no
 * leading zero, at most Number.MAX_SAFE_INTEGER. Returns -1 when invalid.
 */
function readNumericPart(s: string): number {
  const start = pos;
  let n = 0;
  while (pos < s.length) {
    const c = s.charCodeAt(pos);
    if (!isDigit(c)) break;
    n = n * 10 + (c - CH_0);
    // Checked at each digit, so `n` stays exact until it is known to be too large.
    if (n > Number.MAX_SAFE_INTEGER) return -1;
    pos++;
  }
  const length = pos - start;
  if (length === 0) return -1;
  if (length > 1 && s.charCodeAt(start) === CH_0) return -1;
  return n;
}

/**
 * Parses a SemVer 2.0.0 version (https://semver.org/spec/v2.0.0.html), with
 * an optional single leading `v` or `V`. Build metadata (`+...`) is checked
 * for syntax and dropped.
 *
 * Returns undefined for anything else: surrounding whitespace, leading zeros
 * in numeric parts or numeric pre-release identifiers, empty identifiers,
 * characters outside `[0-9A-Za-z-]`, missing parts (`1.0`), or a numeric part
 * or numeric identifier above Number.MAX_SAFE_INTEGER (which could not be
 * compared exactly).
 */
export function parseSemver(input: string): ParsedSemver | undefined {
  if (typeof input !== 'string') return undefined;
  const s = input;
  const len = s.length;
  pos = 0;
  if (len > 0) {
    const first = s.charCodeAt(0);
    if (first === 118 /* v */ || first === 86 /* V */) pos = 1;
  }

  const major = readNumericPart(s);
  if (major < 0 || pos >= len || s.charCodeAt(pos) !== CH_DOT) return undefined;
  pos++;
  const minor = readNumericPart(s);
  if (minor < 0 || pos >= len || s.charCodeAt(pos) !== CH_DOT) return undefined;
  pos++;
  const patch = readNumericPart(s);
  if (patch < 0) return undefined;

  let prerelease = NO_PRERELEASE;
  if (pos < len && s.charCodeAt(pos) === CH_DASH) {
    pos++;
    const ids: (string | number)[] = [];
    for (;;) {
      const start = pos;
      let allDigits = true;
      let n = 0;
      while (pos < len) {
        const c = s.charCodeAt(pos);
        if (!isIdentChar(c)) break;
        if (allDigits) {
          if (isDigit(c)) n = n * 10 + (c - CH_0);
          else allDigits = false;
        }
        pos++;
      }
      const length = pos - start;
      if (length === 0) return undefined;
      if (allDigits) {
        if (length > 1 && s.charCodeAt(start) === CH_0) return undefined;
        // A numeric identifier must be compared numerically, so it must be exact.
        if (n > Number.MAX_SAFE_INTEGER) return undefined;
        ids.push(n);
      } else {
        ids.push(s.slice(start, pos));
      }
      if (pos < len && s.charCodeAt(pos) === CH_DOT) {
        pos++;
        continue;
      }
      break;
    }
    prerelease = ids;
  }

  if (pos < len && s.charCodeAt(pos) === CH_PLUS) {
    pos++;
    for (;;) {
      const start = pos;
      while (pos < len && isIdentChar(s.charCodeAt(pos))) pos++;
      // Build identifiers may have leading zeros, but may not be empty.
      if (pos === start) return undefined;
      if (pos < len && s.charCodeAt(pos) === CH_DOT) {
        pos++;
        continue;
      }
      break;
    }
  }

  if (pos !== len) return undefined;
  return { major, minor, patch, prerelease };
}

function compareNumbers(a: number, b: number): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * SemVer 2.0.0 precedence (spec item 11): major, minor, patch numerically;
 * then a version with a pre-release is lower than the same version without;
 * then identifiers left to right, numeric ones numerically and below
 * alphanumeric ones, alphanumeric ones in ASCII order; then the longer list
 * wins when all shared identifiers are equal. Build metadata plays no part
 * (it is not even kept), so `1.0.0+a` and `1.0.0+b` compare equal.
 *
 * A total preorder consistent with equality of (major, minor, patch,
 * prerelease): callers may sort with it.
 */
export function compareSemver(a: ParsedSemver, b: ParsedSemver): -1 | 0 | 1 {
  if (a.major !== b.major) return compareNumbers(a.major, b.major);
  if (a.minor !== b.minor) return compareNumbers(a.minor, b.minor);
  if (a.patch !== b.patch) return compareNumbers(a.patch, b.patch);

  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0) return pb.length === 0 ? 0 : 1;
  if (pb.length === 0) return -1;

  const shared = pa.length < pb.length ? pa.length : pb.length;
  for (let i = 0; i < shared; i++) {
    const x = pa[i] as string | number;
    const y = pb[i] as string | number;
    if (x === y) continue;
    const xNumeric = typeof x === 'number';
    const yNumeric = typeof y === 'number';
    if (xNumeric && yNumeric) return compareNumbers(x, y);
    if (xNumeric) return -1;
    if (yNumeric) return 1;
    // Identifiers are ASCII, so UTF-16 code unit order is ASCII order.
    return x < y ? -1 : 1;
  }
  return compareNumbers(pa.length, pb.length);
}
