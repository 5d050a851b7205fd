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

function numberOperator(values: readonly number[], op: 'lt' | 'lte' | 'gt' | 'gte' | 'before' | 'after', parse: (v: unknown) => number | undefined): ValueTest {
  return (value) => {
    const n = parse(value);
    if (n === undefined) return false;
    for (let i = 0; i < values.length; i++) {
      const b = values[i] as number;
      if (op === 'lt' || op === 'before' ? n < b : op === 'lte' ? n <= b : op === 'gt' || op === 'after' ? n > b : n >= b) return true;
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

/**
 * Compiles one condition, which must be valid (see `validateCondition`).
 *
 * @example
 * const m = compileCondition({ attribute: 'country', operator: 'in', values: ['US', 'CA'] });
 * m({ country: 'CA' }); // true
 */
export function compileCondition(condition: Condition): Matcher {
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
      const patterns = values.map((v) => new RegExp(String(v), ci ? 'iu' : 'u'));
      return onAttribute(attribute, negate, (value) => {
        const s = asText(value);
        return s !== undefined && anyOf(patterns, (re) => re.test(s));
      });
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
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

/** A matcher that holds when every one of `matchers` holds (and for none). */
export function allOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 0) return () => true;
  if (matchers.length === 1) return matchers[0] as Matcher;
  return (context) => {
    for (let i = 0; i < matchers.length; i++) if (!(matchers[i] as Matcher)(context)) return false;
    return true;
  };
}
