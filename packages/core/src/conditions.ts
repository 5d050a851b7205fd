/**
 * Compiles conditions into matcher functions. Compared values are parsed once
 * here (sets for `in`, RegExp objects, parsed versions, CIDR blocks, instants),
 * so evaluation only reads the context.
 */
import type { Condition, EvaluationContext } from './types.js';
import { cidrContains, parseCidr, parseIp } from './internal/ip.js';
import { parseInstant } from './internal/dates.js';
import { compareSemver, parseSemver, type ParsedSemver } from './internal/semver.js';
import { toFiniteNumber } from './validate.js';
import { checkRegexPattern, type CompiledRegex, type RegexEngine } from './regex.js';

/** A compiled test of a context. */
export type Matcher = (context: EvaluationContext) => boolean;

type ValueTest = (value: unknown) => boolean;

/**
 * Applies `test` to the attribute (to each element of an array attribute).
 * A missing attribute fails, negated or not: only `exists` sees absence.
 */
function onAttribute(attribute: string, negate: boolean, test: ValueTest): Matcher {
  return (context) => {
    const v = context[attribute];
    if (v === undefined || v === null) return false;
    let hit = false;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (e !== undefined && e !== null && test(e)) {
          hit = true;
          break;
        }
      }
    } else {
      hit = test(v);
    }
    return hit !== negate;
  };
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return undefined;
}

function anyOf<T>(values: readonly T[], test: (v: T) => boolean): boolean {
  for (let i = 0; i < values.length; i++) if (test(values[i] as T)) return true;
  return false;
}

function stringOperator(values: readonly string[], caseInsensitive: boolean, op: 'startsWith' | 'endsWith' | 'contains'): ValueTest {
  const vs = caseInsensitive ? values.map((v) => v.toLowerCase()) : values;
  return (value) => {
    let s = asText(value);
    if (s === undefined) return false;
    if (caseInsensitive) s = s.toLowerCase();
    const text = s;
    switch (op) {
      case 'startsWith':
        return anyOf(vs, (v) => text.startsWith(v));
      case 'endsWith':
        return anyOf(vs, (v) => text.endsWith(v));
      default:
        return anyOf(vs, (v) => text.includes(v));
    }
  };
}

type NumberOp = 'lt' | 'lte' | 'gt' | 'gte' | 'numEq' | 'before' | 'after';

function compareNumbers(n: number, b: number, op: NumberOp): boolean {
  return op === 'lt' || op === 'before' ? n < b : op === 'lte' ? n <= b : op === 'gt' || op === 'after' ? n > b : op === 'gte' ? n >= b : n === b;
}

function numberOperator(values: readonly number[], op: NumberOp, parse: (v: unknown) => number | undefined): ValueTest {
  return (value) => {
    const n = parse(value);
    if (n === undefined) return false;
    for (let i = 0; i < values.length; i++) {
      const b = values[i] as number;
      if (compareNumbers(n, b, op)) return true;
    }
    return false;
  };
}

const SEMVER_TESTS = {
  semverEq: (c: number) => c === 0,
  semverLt: (c: number) => c < 0,
  semverLte: (c: number) => c <= 0,
  semverGt: (c: number) => c > 0,
  semverGte: (c: number) => c >= 0,
} as const;

function compilePattern(pattern: string, engine: RegexEngine | undefined, caseInsensitive: boolean): CompiledRegex {
  const check = checkRegexPattern(pattern, engine, caseInsensitive);
  if (!check.ok) throw new Error(check.reason);
  return check.regex;
}

/**
 * Compiles one condition, which must be valid (see `validateCondition`).
 * `regex` is the linear-time engine that runs `matches` patterns; without one
 * a `matches` condition cannot be compiled (it throws).
 *
 * @example
 * const m = compileCondition({ attribute: 'country', operator: 'in', values: ['US', 'CA'] });
 * m({ country: 'CA' }); // true
 * compileCondition({ attribute: 'email', operator: 'matches', values: ['@corp\\.com$'] }, RE2JS);
 */
export function compileCondition(condition: Condition, regex?: RegexEngine): Matcher {
  if (condition.dialect === 'unleash') return compileUnleashConstraint(condition, regex);
  const { attribute, operator } = condition;
  const negate = condition.negate === true;
  const ci = condition.caseInsensitive === true;
  const values = condition.values ?? [];
  switch (operator) {
    case 'exists':
      return (context) => {
        const v = context[attribute];
        return (v !== undefined && v !== null) !== negate;
      };
    case 'in':
    case 'notIn':
    case 'equals': {
      const set = new Set(values.map((v) => (ci ? String(v).toLowerCase() : String(v))));
      const test: ValueTest = (value) => {
        if (typeof value === 'string') return set.has(ci ? value.toLowerCase() : value);
        if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
          return set.has(ci ? String(value).toLowerCase() : String(value));
        }
        return false;
      };
      return onAttribute(attribute, operator === 'notIn' ? !negate : negate, test);
    }
    case 'startsWith':
    case 'endsWith':
    case 'contains':
      return onAttribute(attribute, negate, stringOperator(values.map(String), ci, operator));
    case 'matches': {
      const patterns = values.map((v) => compilePattern(String(v), regex, ci));
      return onAttribute(attribute, negate, (value) => {
        const s = asText(value);
        return s !== undefined && anyOf(patterns, (re) => re.test(s));
      });
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
    case 'numEq':
      return onAttribute(attribute, negate, numberOperator(values.map((v) => toFiniteNumber(v) as number), operator, toFiniteNumber));
    case 'before':
    case 'after':
      return onAttribute(attribute, negate, numberOperator(values.map((v) => parseInstant(v) as number), operator, parseInstant));
    case 'semverEq':
    case 'semverLt':
    case 'semverLte':
    case 'semverGt':
    case 'semverGte': {
      const versions = values.map((v) => parseSemver(String(v)) as ParsedSemver);
      const accept = SEMVER_TESTS[operator];
      return onAttribute(attribute, negate, (value) => {
        if (typeof value !== 'string') return false;
        const parsed = parseSemver(value);
        return parsed !== undefined && anyOf(versions, (v) => accept(compareSemver(parsed, v)));
      });
    }
    case 'cidr': {
      const blocks = values.map((v) => parseCidr(String(v)));
      return onAttribute(attribute, negate, (value) => {
        if (typeof value !== 'string') return false;
        const ip = parseIp(value);
        return ip !== undefined && anyOf(blocks, (b) => b !== undefined && cidrContains(b, ip));
      });
    }
    default:
      return () => false;
  }
}

/** JavaScript's `Number()` of a context value, as Unleash reads numbers; NaN as undefined. */
function unleashNumber(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * One condition with the semantics of an Unleash constraint (the Node SDK's
 * `unleash-client`, which Unleash's other SDKs follow): the attribute's value
 * is tested as it is, and a missing one makes every operator false before
 * `negate` (Unleash's `inverted`), except `notIn`, which it makes true.
 */
function compileUnleashConstraint(condition: Condition, regex: RegexEngine | undefined): Matcher {
  const { attribute, operator } = condition;
  const negate = condition.negate === true;
  const ci = condition.caseInsensitive === true;
  const values = condition.values ?? [];
  // A missing attribute fails the operator's own test: `in` is false, so `notIn` is true; then `negate`.
  const flip = operator === 'notIn' ? !negate : negate;
  let test: ValueTest;
  switch (operator) {
    case 'in':
    case 'notIn':
    case 'equals': {
      const set = new Set(values.map(String));
      test = (value) => typeof value === 'string' && set.has(value);
      break;
    }
    case 'startsWith':
    case 'endsWith':
    case 'contains': {
      const strings = stringOperator(values.map(String), ci, operator);
      test = (value) => typeof value === 'string' && strings(value);
      break;
    }
    case 'matches': {
      const patterns = values.map((v) => compilePattern(String(v), regex, ci));
      test = (value) => typeof value === 'string' && anyOf(patterns, (re) => re.test(value));
      break;
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
    case 'numEq':
      test = numberOperator(values.map((v) => Number(v)), operator, unleashNumber);
      break;
    case 'before':
    case 'after':
      test = numberOperator(values.map((v) => parseInstant(v) as number), operator, parseInstant);
      break;
    case 'semverEq':
    case 'semverLt':
    case 'semverLte':
    case 'semverGt':
    case 'semverGte': {
      // Unleash refuses a leading "v" that SemVer tools commonly allow.
      const semver = compileCondition({ attribute, operator, values });
      test = (value) => typeof value === 'string' && !value.startsWith('v') && semver({ [attribute]: value });
      break;
    }
    default: {
      const rest = compileCondition({ attribute, operator, values, caseInsensitive: ci });
      test = (value) => rest({ [attribute]: value });
    }
  }
  return (context) => {
    const v = context[attribute];
    if (v === undefined || v === null) return flip;
    return test(v) !== flip;
  };
}

/** A matcher that holds when every one of `matchers` holds (and for none). */
export function allOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 0) return () => true;
  if (matchers.length === 1) return matchers[0] as Matcher;
  return (context) => {
    for (let i = 0; i < matchers.length; i++) if (!(matchers[i] as Matcher)(context)) return false;
    return true;
  };
}
