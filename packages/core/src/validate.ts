/**
 * Validation of flag configurations and segments. The server calls it before
 * saving (a refused configuration is a 4xx with these issues); the compile step
 * calls it so that an invalid flag in a snapshot evaluates to PARSE_ERROR
 * instead of misbehaving. One function serves both, so they never disagree.
 */
import type { FlagConfig, Operator, Rollout, Segment, Serve } from './types.js';
import { parseCidr } from './internal/ip.js';
import { parseInstant } from './internal/dates.js';
import { checkRegexPattern, type RegexEngine } from './regex.js';
import { parseSemver } from './internal/semver.js';

/** One problem found in a configuration, located by a JSON path. */
export interface ValidationIssue {
  /** Dotted path from the validated object, e.g. `rules[0].conditions[1].values[0]`. */
  path: string;
  message: string;
}

/** Every operator, for validation and for API schemas. */
export const OPERATORS: readonly Operator[] = [
  'in',
  'notIn',
  'equals',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'numEq',
  'before',
  'after',
  'semverEq',
  'semverLt',
  'semverLte',
  'semverGt',
  'semverGte',
  'cidr',
  'exists',
];

const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);

/** Buckets per rollout under `rollgate/v1`: 100,000, so 0.001% resolution. */
export const BUCKETS = 100_000;

/** Longest prerequisite chain a flag may have. */
export const MAX_PREREQUISITE_DEPTH = 32;

const NUMERIC_STRING = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number, or a string holding a decimal number, as a finite number; else undefined. */
export function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && NUMERIC_STRING.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (isRecord(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  }
  return false;
}

/** Whether `value` may be served by a flag of `type`. */
export function valueMatchesType(type: string, value: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'json':
      return (value === null || typeof value === 'object') && isJsonValue(value);
    default:
      return false;
  }
}

/** What validation needs besides the configuration itself. */
export interface ValidationOptions {
  /** The linear-time engine `matches` patterns are checked with; without one, a `matches` condition is an issue. */
  regex?: RegexEngine;
}

class Issues {
  readonly list: ValidationIssue[] = [];
  constructor(readonly regex?: RegexEngine) {}
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function checkStringArray(issues: Issues, path: string, value: unknown, allowEmpty: boolean): value is string[] {
  if (!Array.isArray(value)) {
    issues.add(path, 'must be an array of strings');
    return false;
  }
  if (!allowEmpty && value.length === 0) issues.add(path, 'must not be empty');
  value.forEach((v, i) => {
    if (typeof v !== 'string') issues.add(`${path}[${i}]`, 'must be a string');
  });
  return true;
}

/** Validates one condition; the value checks depend on the operator. */
export function validateCondition(condition: unknown, path = '', options: ValidationOptions = {}): ValidationIssue[] {
  const issues = new Issues(options.regex);
  checkCondition(issues, path, condition);
  return issues.list;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function checkCondition(issues: Issues, path: string, c: unknown): void {
  if (!isRecord(c)) {
    issues.add(path, 'a condition must be an object {attribute, operator, values}');
    return;
  }
  if (!isNonEmptyString(c.attribute)) issues.add(join(path, 'attribute'), 'must be a non-empty string');
  if (typeof c.operator !== 'string' || !OPERATOR_SET.has(c.operator)) {
    issues.add(join(path, 'operator'), `must be one of: ${OPERATORS.join(', ')}`);
    return;
  }
  if (c.negate !== undefined && typeof c.negate !== 'boolean') issues.add(join(path, 'negate'), 'must be a boolean');
  if (c.dialect !== undefined && c.dialect !== 'rollgate' && c.dialect !== 'unleash') issues.add(join(path, 'dialect'), 'must be rollgate or unleash');
  if (c.caseInsensitive !== undefined && typeof c.caseInsensitive !== 'boolean') {
    issues.add(join(path, 'caseInsensitive'), 'must be a boolean');
  }
  const op = c.operator as Operator;
  const valuesPath = join(path, 'values');
  if (op === 'exists') {
    if (c.values !== undefined && !Array.isArray(c.values)) issues.add(valuesPath, 'must be an array (ignored by exists)');
    return;
  }
  if (!Array.isArray(c.values) || c.values.length === 0) {
    issues.add(valuesPath, 'must be a non-empty array');
    return;
  }
  c.values.forEach((v: unknown, i: number) => {
    const p = `${valuesPath}[${i}]`;
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      issues.add(p, 'must be a string, a finite number or a boolean');
      return;
    }
    switch (op) {
      case 'startsWith':
      case 'endsWith':
      case 'contains':
        if (typeof v !== 'string') issues.add(p, `${op} compares strings: give a string`);
        break;
      case 'matches': {
        if (typeof v !== 'string') {
          issues.add(p, 'matches takes regular expressions as strings');
          break;
        }
        const check = checkRegexPattern(v, issues.regex, c.caseInsensitive === true);
        if (!check.ok) issues.add(p, check.reason);
        break;
      }
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
      case 'numEq':
        if (toFiniteNumber(v) === undefined) issues.add(p, `${op} compares numbers: ${JSON.stringify(v)} is not a number`);
        break;
      case 'before':
      case 'after':
        if (parseInstant(v) === undefined) {
          issues.add(p, `${op} compares instants: give an ISO 8601 date or date-time with a zone, or epoch milliseconds`);
        }
        break;
      case 'semverEq':
      case 'semverLt':
      case 'semverLte':
      case 'semverGt':
      case 'semverGte':
        if (typeof v !== 'string' || parseSemver(v) === undefined) issues.add(p, `${JSON.stringify(v)} is not a SemVer 2.0.0 version`);
        break;
      case 'cidr':
        if (typeof v !== 'string' || parseCidr(v) === undefined) issues.add(p, `${JSON.stringify(v)} is not an IP address or CIDR block`);
        break;
      default:
        break;
    }
  });
}

export interface FlagContext extends ValidationOptions {
  /** Known segment keys; when given, references to others are issues. */
  segments?: ReadonlySet<string>;
}

function checkRollout(issues: Issues, path: string, r: unknown, variations: ReadonlySet<string>, inRule: boolean): void {
  if (!isRecord(r)) {
    issues.add(path, 'must be an object');
    return;
  }
  const rollout = r as Partial<Rollout> & Record<string, unknown>;
  const bucketing = rollout.bucketing ?? 'rollgate/v1';
  if (bucketing !== 'rollgate/v1' && bucketing !== 'unleash/v1') {
    issues.add(join(path, 'bucketing'), 'must be rollgate/v1 or unleash/v1');
  }
  const p = rollout.percentage;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) {
    issues.add(join(path, 'percentage'), 'must be a number from 0 to 100');
  } else if (bucketing === 'unleash/v1' && !Number.isInteger(p)) {
    issues.add(join(path, 'percentage'), 'unleash/v1 rollouts use whole percentages');
  } else if (Math.abs(p * 1000 - Math.round(p * 1000)) > 1e-6) {
    issues.add(join(path, 'percentage'), 'has more than three decimals (the resolution is 0.001%)');
  }
  const hasVariation = rollout.variation !== undefined;
  const hasVariants = rollout.variants !== undefined;
  if (hasVariation === hasVariants) {
    issues.add(path, 'give exactly one of variation and variants');
  }
  if (hasVariation && !variations.has(rollout.variation as string)) {
    issues.add(join(path, 'variation'), `unknown variation ${JSON.stringify(rollout.variation)}`);
  }
  if (hasVariants) {
    const vs = rollout.variants as unknown;
    if (!Array.isArray(vs) || vs.length === 0) {
      issues.add(join(path, 'variants'), 'must be a non-empty array of {variation, weight}');
    } else {
      let total = 0;
      vs.forEach((v: unknown, i: number) => {
        const vp = `${join(path, 'variants')}[${i}]`;
        if (!isRecord(v)) {
          issues.add(vp, 'must be {variation, weight}');
          return;
        }
        if (typeof v.variation !== 'string' || !variations.has(v.variation)) {
          issues.add(join(vp, 'variation'), `unknown variation ${JSON.stringify(v.variation)}`);
        }
        if (typeof v.weight !== 'number' || !Number.isInteger(v.weight) || v.weight < 0) {
          issues.add(join(vp, 'weight'), 'must be a whole number of thousandths of a percent, 0 or more');
        } else {
          total += v.weight;
        }
      });
      if (bucketing === 'rollgate/v1' && total !== BUCKETS) {
        issues.add(join(path, 'variants'), `weights must sum to ${BUCKETS} (100%), not ${total}`);
      } else if (bucketing === 'unleash/v1' && total <= 0) {
        issues.add(join(path, 'variants'), 'weights must sum to more than 0');
      }
    }
  }
  if (rollout.otherwise !== undefined && (typeof rollout.otherwise !== 'string' || !variations.has(rollout.otherwise))) {
    issues.add(join(path, 'otherwise'), `unknown variation ${JSON.stringify(rollout.otherwise)}`);
  }
  for (const key of ['stickiness', 'variantStickiness'] as const) {
    const list = rollout[key];
    if (list !== undefined && checkStringArray(issues, join(path, key), list, false)) {
      list.forEach((s, i) => {
        if (s === '') issues.add(`${join(path, key)}[${i}]`, 'must not be empty');
      });
    }
  }
  if (rollout.continueOutside !== undefined) {
    if (typeof rollout.continueOutside !== 'boolean') issues.add(join(path, 'continueOutside'), 'must be a boolean');
    else if (rollout.continueOutside && !inRule) issues.add(join(path, 'continueOutside'), 'only a rule can continue to the next rule; the fallthrough is the last');
  }
  for (const key of ['salt', 'variantSalt'] as const) {
    if (rollout[key] !== undefined && typeof rollout[key] !== 'string') issues.add(join(path, key), 'must be a string');
  }
}

function checkServe(issues: Issues, path: string, serve: unknown, variations: ReadonlySet<string>, inRule: boolean): void {
  if (!isRecord(serve)) {
    issues.add(path, 'must be {variation} or {rollout}');
    return;
  }
  const s = serve as Partial<Serve> & Record<string, unknown>;
  if ((s.variation === undefined) === (s.rollout === undefined)) {
    issues.add(path, 'give exactly one of variation and rollout');
    return;
  }
  if (s.variation !== undefined) {
    if (typeof s.variation !== 'string' || !variations.has(s.variation)) {
      issues.add(join(path, 'variation'), `unknown variation ${JSON.stringify(s.variation)}`);
    }
  } else {
    checkRollout(issues, join(path, 'rollout'), s.rollout, variations, inRule);
  }
}

/**
 * Validates one flag configuration. Prerequisite cycles span flags, so they
 * are checked by {@link validateSnapshot} and the compile step, not here.
 *
 * @example
 * validateFlag({ key: 'f', type: 'boolean', variations: [], enabled: true, offVariation: 'off', fallthrough: { variation: 'off' } });
 * // [{ path: 'variations', message: 'must be a non-empty array' }, ...]
 */
export function validateFlag(flag: unknown, context: FlagContext = {}): ValidationIssue[] {
  const issues = new Issues(context.regex);
  if (!isRecord(flag)) {
    issues.add('', 'a flag must be an object');
    return issues.list;
  }
  const f = flag as Partial<FlagConfig> & Record<string, unknown>;
  if (!isNonEmptyString(f.key)) issues.add('key', 'must be a non-empty string');
  const type = f.type;
  if (type !== 'boolean' && type !== 'string' && type !== 'number' && type !== 'json') {
    issues.add('type', 'must be one of boolean, string, number, json');
  }
  const variations = new Set<string>();
  if (!Array.isArray(f.variations) || f.variations.length === 0) {
    issues.add('variations', 'must be a non-empty array');
  } else {
    f.variations.forEach((v: unknown, i: number) => {
      const p = `variations[${i}]`;
      if (!isRecord(v)) {
        issues.add(p, 'must be {key, value}');
        return;
      }
      if (!isNonEmptyString(v.key)) issues.add(`${p}.key`, 'must be a non-empty string');
      else if (variations.has(v.key)) issues.add(`${p}.key`, `duplicate variation key ${JSON.stringify(v.key)}`);
      else variations.add(v.key);
      if (typeof type === 'string' && !valueMatchesType(type, v.value)) {
        issues.add(`${p}.value`, `must be a ${type === 'json' ? 'JSON object, array or null' : type} for a ${type} flag`);
      }
    });
  }
  if (typeof f.enabled !== 'boolean') issues.add('enabled', 'must be a boolean');
  if (typeof f.offVariation !== 'string' || !variations.has(f.offVariation)) {
    issues.add('offVariation', `unknown variation ${JSON.stringify(f.offVariation)}`);
  }
  if (f.salt !== undefined && typeof f.salt !== 'string') issues.add('salt', 'must be a string');
  if (f.prerequisites !== undefined) {
    if (!Array.isArray(f.prerequisites)) issues.add('prerequisites', 'must be an array');
    else
      f.prerequisites.forEach((pr: unknown, i: number) => {
        const p = `prerequisites[${i}]`;
        if (!isRecord(pr)) {
          issues.add(p, 'must be {flag, variations}');
          return;
        }
        if (!isNonEmptyString(pr.flag)) issues.add(`${p}.flag`, 'must be a non-empty string');
        checkStringArray(issues, `${p}.variations`, pr.variations, false);
        if (pr.negate !== undefined && typeof pr.negate !== 'boolean') issues.add(`${p}.negate`, 'must be a boolean');
      });
  }
  if (f.targets !== undefined) {
    if (!Array.isArray(f.targets)) issues.add('targets', 'must be an array');
    else
      f.targets.forEach((t: unknown, i: number) => {
        const p = `targets[${i}]`;
        if (!isRecord(t)) {
          issues.add(p, 'must be {variation, values}');
          return;
        }
        if (typeof t.variation !== 'string' || !variations.has(t.variation)) {
          issues.add(`${p}.variation`, `unknown variation ${JSON.stringify(t.variation)}`);
        }
        checkStringArray(issues, `${p}.values`, t.values, true);
        if (t.attribute !== undefined && !isNonEmptyString(t.attribute)) issues.add(`${p}.attribute`, 'must be a non-empty string');
      });
  }
  if (f.rules !== undefined) {
    if (!Array.isArray(f.rules)) issues.add('rules', 'must be an array');
    else {
      const ids = new Set<string>();
      f.rules.forEach((r: unknown, i: number) => {
        const p = `rules[${i}]`;
        if (!isRecord(r)) {
          issues.add(p, 'must be {id, conditions?, segments?, serve}');
          return;
        }
        if (!isNonEmptyString(r.id)) issues.add(`${p}.id`, 'must be a non-empty string');
        else if (ids.has(r.id)) issues.add(`${p}.id`, `duplicate rule id ${JSON.stringify(r.id)}`);
        else ids.add(r.id);
        if (r.conditions !== undefined) {
          if (!Array.isArray(r.conditions)) issues.add(`${p}.conditions`, 'must be an array');
          else r.conditions.forEach((c: unknown, j: number) => checkCondition(issues, `${p}.conditions[${j}]`, c));
        }
        if (r.segments !== undefined && checkStringArray(issues, `${p}.segments`, r.segments, true) && context.segments) {
          r.segments.forEach((s, j) => {
            if (!context.segments?.has(s)) issues.add(`${p}.segments[${j}]`, `unknown segment ${JSON.stringify(s)}`);
          });
        }
        checkServe(issues, `${p}.serve`, r.serve, variations, true);
      });
    }
  }
  checkServe(issues, 'fallthrough', f.fallthrough, variations, false);
  return issues.list;
}

/**
 * Validates one segment.
 *
 * @example
 * validateSegment({ key: 'internal-team', included: ['alice', 'bob'] }); // []
 */
export function validateSegment(segment: unknown, options: ValidationOptions = {}): ValidationIssue[] {
  const issues = new Issues(options.regex);
  if (!isRecord(segment)) {
    issues.add('', 'a segment must be an object');
    return issues.list;
  }
  const s = segment as Partial<Segment> & Record<string, unknown>;
  if (!isNonEmptyString(s.key)) issues.add('key', 'must be a non-empty string');
  if (s.included !== undefined) checkStringArray(issues, 'included', s.included, true);
  if (s.excluded !== undefined) checkStringArray(issues, 'excluded', s.excluded, true);
  if (s.attribute !== undefined && !isNonEmptyString(s.attribute)) issues.add('attribute', 'must be a non-empty string');
  if (s.rules !== undefined) {
    if (!Array.isArray(s.rules)) issues.add('rules', 'must be an array');
    else
      s.rules.forEach((r: unknown, i: number) => {
        if (!isRecord(r) || !Array.isArray(r.conditions)) {
          issues.add(`rules[${i}]`, 'must be {conditions: [...]}');
          return;
        }
        r.conditions.forEach((c: unknown, j: number) => checkCondition(issues, `rules[${i}].conditions[${j}]`, c));
      });
  }
  return issues.list;
}

/**
 * Finds prerequisite cycles and over-deep chains among `flags`. Returns, for
 * each flag that is on a cycle or too deep, a message saying why.
 */
export function findPrerequisiteProblems(flags: ReadonlyMap<string, Pick<FlagConfig, 'prerequisites'>>): Map<string, string> {
  const problems = new Map<string, string>();
  const depth = new Map<string, number>();
  const onStack: string[] = [];
  const stackIndex = new Map<string, number>();

  const visit = (key: string): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    const at = stackIndex.get(key);
    if (at !== undefined) {
      const cycle = [...onStack.slice(at), key];
      for (const k of onStack.slice(at)) {
        if (!problems.has(k)) problems.set(k, `prerequisite cycle: ${cycle.join(' -> ')}`);
      }
      return Infinity;
    }
    const flag = flags.get(key);
    const prereqs = Array.isArray(flag?.prerequisites) ? flag.prerequisites : [];
    stackIndex.set(key, onStack.length);
    onStack.push(key);
    let d = 0;
    for (const p of prereqs) {
      if (!isRecord(p) || typeof p.flag !== 'string' || !flags.has(p.flag)) continue;
      d = Math.max(d, visit(p.flag) + 1);
    }
    onStack.pop();
    stackIndex.delete(key);
    if (d > MAX_PREREQUISITE_DEPTH && d !== Infinity && !problems.has(key)) {
      problems.set(key, `prerequisite chain deeper than ${MAX_PREREQUISITE_DEPTH} flags`);
    }
    depth.set(key, d);
    return d;
  };
  for (const key of flags.keys()) visit(key);
  return problems;
}

/** Issues of a whole snapshot, each path prefixed with its flag or segment. */
export function validateSnapshot(snapshot: unknown, options: ValidationOptions = {}): ValidationIssue[] {
  if (!isRecord(snapshot) || !Array.isArray(snapshot.flags)) {
    return [{ path: '', message: 'a snapshot must be an object with a flags array' }];
  }
  const out: ValidationIssue[] = [];
  const segments = new Set<string>();
  if (snapshot.segments !== undefined && !Array.isArray(snapshot.segments)) {
    out.push({ path: 'segments', message: 'must be an array' });
  } else {
    ((snapshot.segments as unknown[] | undefined) ?? []).forEach((s, i) => {
      for (const issue of validateSegment(s, options)) out.push({ path: join(`segments[${i}]`, issue.path), message: issue.message });
      if (isRecord(s) && typeof s.key === 'string') segments.add(s.key);
    });
  }
  const byKey = new Map<string, FlagConfig>();
  snapshot.flags.forEach((f: unknown, i: number) => {
    for (const issue of validateFlag(f, { segments, regex: options.regex })) out.push({ path: join(`flags[${i}]`, issue.path), message: issue.message });
    if (isRecord(f) && typeof f.key === 'string') {
      if (byKey.has(f.key)) out.push({ path: `flags[${i}].key`, message: `duplicate flag key ${JSON.stringify(f.key)}` });
      byKey.set(f.key, f as unknown as FlagConfig);
    }
  });
  for (const [key, message] of findPrerequisiteProblems(byKey)) out.push({ path: `flags[${JSON.stringify(key)}].prerequisites`, message });
  return out;
}

