/**
 * The compile step: turns a snapshot into an evaluation-ready form. Hash state
 * for each salt is precomputed, conditions become matchers, `in` lists become
 * sets, and every configured outcome becomes one frozen result object, so that
 * evaluation itself allocates close to nothing.
 */
import type {
  BucketingAlgorithm,
  EvaluationResult,
  FlagConfig,
  FlagType,
  JsonValue,
  Reason,
  Rollout,
  Segment,
  Serve,
  Snapshot,
  Variation,
} from './types.js';
import { allOf, compileCondition, type Matcher } from './conditions.js';
import { murmur3Prefix, type HashPrefix } from './murmur3.js';
import { BUCKETS, findPrerequisiteProblems, validateFlag, validateSegment } from './validate.js';
import type { RegexEngine } from './regex.js';

/** Options of {@link compileSnapshot}. */
export interface CompileOptions {
  /**
   * The linear-time engine (RE2 semantics) that runs `matches` patterns, e.g.
   * `RE2JS` from `re2js`. Without one, a flag with a `matches` condition
   * evaluates to ERROR/PARSE_ERROR; the core never runs a backtracking engine.
   */
  regex?: RegexEngine;
}

/** Unleash's seed for variant hashing. */
export const UNLEASH_VARIANT_SEED = 86028157;

const DEFAULT_STICKINESS: readonly string[] = ['userId', 'sessionId'];
const UNLEASH_DEFAULT_STICKINESS: readonly string[] = ['userId', 'sessionId', 'random'];

/** How a rule or the fallthrough picks its result. */
export type CompiledServe =
  | { readonly kind: 'fixed'; readonly result: EvaluationResult }
  | {
      readonly kind: 'rollout';
      readonly algorithm: BucketingAlgorithm;
      /** In iff bucket < threshold (`rollgate/v1`) or normalized value <= threshold (`unleash/v1`). */
      readonly threshold: number;
      readonly stickiness: readonly string[];
      readonly salt: HashPrefix;
      /** Results for contexts in the rollout, one per variant (one entry for a single variation). */
      readonly inResults: readonly EvaluationResult[];
      /** Upper bounds of each variant's share of the variant buckets, cumulative. */
      readonly cumulativeWeights: readonly number[];
      readonly totalWeight: number;
      readonly variantSalt: HashPrefix;
      /** Attributes for the variant choice when they differ from `stickiness`. */
      readonly variantStickiness: readonly string[] | undefined;
      /** Undefined when the rollout continues to the next rule (`continueOutside`). */
      readonly outResult: EvaluationResult | undefined;
      /** Served when the context has no stickiness value; undefined when it continues. */
      readonly missingResult: EvaluationResult | undefined;
    };

/** A flag ready for evaluation; `error` set means it evaluates to that error. */
export interface CompiledFlag {
  readonly key: string;
  readonly type: FlagType;
  readonly error?: { readonly code: 'PARSE_ERROR' | 'GENERAL'; readonly message: string };
  readonly enabled: boolean;
  readonly disabledResult: EvaluationResult;
  readonly prerequisites: readonly { readonly flag: string; readonly variations: ReadonlySet<string>; readonly negate: boolean; readonly failed: EvaluationResult }[];
  readonly targets: readonly { readonly attribute: string; readonly values: ReadonlySet<string>; readonly result: EvaluationResult }[];
  readonly rules: readonly { readonly id: string; readonly match: Matcher; readonly serve: CompiledServe }[];
  readonly fallthrough: CompiledServe;
}

const brand = Symbol('rollgate.compiled');

/** A snapshot compiled for evaluation. Immutable; build a new one per snapshot version. */
export interface CompiledSnapshot {
  readonly [brand]: true;
  readonly version: number | string | undefined;
  readonly flags: ReadonlyMap<string, CompiledFlag>;
  /** The regex engine it was compiled with. */
  readonly regex: RegexEngine | undefined;
  /** Set when the input was not a snapshot at all: every evaluation is a PARSE_ERROR. */
  readonly error?: string;
}

/** Whether `value` is the output of {@link compileSnapshot}. */
export function isCompiledSnapshot(value: unknown): value is CompiledSnapshot {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

function deepFreeze<T extends JsonValue>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const copy: JsonValue = Array.isArray(value)
    ? value.map((v) => deepFreeze(v))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepFreeze(v)]));
  return Object.freeze(copy) as T;
}

function makeResult(variation: Variation, value: JsonValue, reason: Reason, ruleId?: string, prerequisite?: string): EvaluationResult {
  const result: { value: JsonValue; variant: string; reason: Reason; ruleId?: string; prerequisite?: string } = {
    value,
    variant: variation.key,
    reason,
  };
  if (ruleId !== undefined) result.ruleId = ruleId;
  if (prerequisite !== undefined) result.prerequisite = prerequisite;
  return Object.freeze(result);
}

class ResultBuilder {
  private readonly values = new Map<string, { variation: Variation; value: JsonValue }>();
  constructor(variations: readonly Variation[]) {
    for (const v of variations) this.values.set(v.key, { variation: v, value: deepFreeze(v.value) });
  }
  result(variationKey: string, reason: Reason, ruleId?: string, prerequisite?: string): EvaluationResult {
    const entry = this.values.get(variationKey);
    if (entry === undefined) throw new Error(`unknown variation ${variationKey}`);
    return makeResult(entry.variation, entry.value, reason, ruleId, prerequisite);
  }
}

function compileServe(flag: FlagConfig, serve: Serve, results: ResultBuilder, fixedReason: Reason, ruleId: string | undefined): CompiledServe {
  if (serve.variation !== undefined) {
    return { kind: 'fixed', result: results.result(serve.variation, fixedReason, ruleId) };
  }
  const r: Rollout = serve.rollout;
  const algorithm = r.bucketing ?? 'rollgate/v1';
  const unleash = algorithm === 'unleash/v1';
  const salt = r.salt ?? flag.salt ?? flag.key;
  const variantSalt = r.variantSalt ?? (unleash ? flag.key : `${salt}:variants`);
  const variants = r.variants ?? [{ variation: r.variation as string, weight: BUCKETS }];
  const cumulativeWeights: number[] = [];
  let total = 0;
  for (const v of variants) {
    total += v.weight;
    cumulativeWeights.push(total);
  }
  const outVariation = r.otherwise ?? flag.offVariation;
  return {
    kind: 'rollout',
    algorithm,
    threshold: unleash ? r.percentage : Math.round(r.percentage * 1000),
    stickiness: r.stickiness ?? (unleash ? UNLEASH_DEFAULT_STICKINESS : DEFAULT_STICKINESS),
    salt: murmur3Prefix(`${salt}:`, 0, unleash ? 'charCodes' : 'utf8'),
    inResults: variants.map((v) => results.result(v.variation, 'SPLIT', ruleId)),
    cumulativeWeights,
    totalWeight: total,
    variantSalt: murmur3Prefix(`${variantSalt}:`, unleash ? UNLEASH_VARIANT_SEED : 0, unleash ? 'charCodes' : 'utf8'),
    variantStickiness: r.variantStickiness,
    outResult: r.continueOutside === true ? undefined : results.result(outVariation, 'SPLIT', ruleId),
    missingResult: r.continueOutside === true ? undefined : results.result(outVariation, fixedReason === 'STATIC' ? 'DEFAULT' : fixedReason, ruleId),
  };
}

interface CompiledSegment {
  readonly match: Matcher;
}

function compileSegment(segment: Segment, regex: RegexEngine | undefined): CompiledSegment {
  const attribute = segment.attribute ?? 'userId';
  const included = new Set(segment.included ?? []);
  const excluded = new Set(segment.excluded ?? []);
  const rules = allRulesOf(segment, regex);
  return {
    match: (context) => {
      const raw = context[attribute];
      const id = typeof raw === 'string' ? raw : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : undefined;
      if (id !== undefined) {
        if (excluded.has(id)) return false;
        if (included.has(id)) return true;
      }
      for (let i = 0; i < rules.length; i++) if ((rules[i] as Matcher)(context)) return true;
      return false;
    },
  };
}

function allRulesOf(segment: Segment, regex: RegexEngine | undefined): Matcher[] {
  return (segment.rules ?? []).map((r) => allOf(r.conditions.map((c) => compileCondition(c, regex))));
}

const NEVER: Matcher = () => false;

function errorFlag(key: string, type: FlagType, code: 'PARSE_ERROR' | 'GENERAL', message: string): CompiledFlag {
  const none = Object.freeze({ value: null, variant: undefined, reason: 'ERROR' as const });
  return {
    key,
    type,
    error: { code, message },
    enabled: false,
    disabledResult: none,
    prerequisites: [],
    targets: [],
    rules: [],
    fallthrough: { kind: 'fixed', result: none },
  };
}

function compileFlag(flag: FlagConfig, segments: ReadonlyMap<string, CompiledSegment | string>, regex: RegexEngine | undefined): CompiledFlag {
  const results = new ResultBuilder(flag.variations);
  const hasTargeting = (flag.prerequisites?.length ?? 0) > 0 || (flag.targets?.length ?? 0) > 0 || (flag.rules?.length ?? 0) > 0;
  const rules = (flag.rules ?? []).map((rule) => {
    const matchers = (rule.conditions ?? []).map((c) => compileCondition(c, regex));
    for (const key of rule.segments ?? []) {
      const segment = segments.get(key);
      if (typeof segment === 'string') throw new SegmentError(`segment ${JSON.stringify(key)} is invalid: ${segment}`);
      matchers.push(segment === undefined ? NEVER : segment.match);
    }
    return { id: rule.id, match: allOf(matchers), serve: compileServe(flag, rule.serve, results, 'TARGETING_MATCH', rule.id) };
  });
  return {
    key: flag.key,
    type: flag.type,
    enabled: flag.enabled,
    disabledResult: results.result(flag.offVariation, 'DISABLED'),
    prerequisites: (flag.prerequisites ?? []).map((p) => ({
      flag: p.flag,
      variations: new Set(p.variations),
      negate: p.negate === true,
      failed: results.result(flag.offVariation, 'DEFAULT', undefined, p.flag),
    })),
    targets: (flag.targets ?? []).map((t) => ({
      attribute: t.attribute ?? 'userId',
      values: new Set(t.values),
      result: results.result(t.variation, 'TARGETING_MATCH'),
    })),
    rules,
    fallthrough: compileServe(flag, flag.fallthrough, results, hasTargeting ? 'DEFAULT' : 'STATIC', undefined),
  };
}

class SegmentError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flagTypeOf(flag: Record<string, unknown>): FlagType {
  const t = flag.type;
  return t === 'boolean' || t === 'string' || t === 'number' || t === 'json' ? t : 'json';
}

/**
 * Compiles a snapshot for evaluation. Never throws: an invalid flag compiles
 * to one that evaluates to PARSE_ERROR (GENERAL for a prerequisite cycle)
 * with the reason in `errorMessage`; the other flags are unaffected.
 *
 * @example
 * const compiled = compileSnapshot({ flags: [flag] }, { regex: RE2JS });
 * evaluate(compiled, flag.key, { userId: 'u1' }, false);
 */
export function compileSnapshot(snapshot: Snapshot | unknown, options: CompileOptions = {}): CompiledSnapshot {
  const flags = new Map<string, CompiledFlag>();
  const regex = options.regex;
  if (!isRecord(snapshot) || !Array.isArray(snapshot.flags)) {
    return { [brand]: true, version: undefined, flags, regex, error: 'the snapshot must be an object with a flags array' };
  }
  const version = typeof snapshot.version === 'number' || typeof snapshot.version === 'string' ? snapshot.version : undefined;
  const segments = new Map<string, CompiledSegment | string>();
  const rawSegments: unknown[] = Array.isArray(snapshot.segments) ? snapshot.segments : [];
  for (const s of rawSegments) {
    if (!isRecord(s) || typeof s.key !== 'string') continue;
    const issues = validateSegment(s, { regex });
    const first = issues[0];
    try {
      segments.set(s.key, first ? `${first.path}: ${first.message}` : compileSegment(s as unknown as Segment, regex));
    } catch (e) {
      segments.set(s.key, `cannot be compiled: ${String(e)}`);
    }
  }

  const valid = new Map<string, FlagConfig>();
  const seen = new Set<string>();
  for (const f of snapshot.flags as unknown[]) {
    if (!isRecord(f) || typeof f.key !== 'string') continue;
    const key = f.key;
    if (seen.has(key)) {
      valid.delete(key);
      flags.set(key, errorFlag(key, flagTypeOf(f), 'PARSE_ERROR', `the snapshot holds more than one flag with the key ${JSON.stringify(key)}`));
      continue;
    }
    seen.add(key);
    // Unknown segments are not an error here: a rule naming one does not match.
    const issues = validateFlag(f, { regex });
    const first = issues[0];
    if (first) {
      flags.set(key, errorFlag(key, flagTypeOf(f), 'PARSE_ERROR', `${first.path}: ${first.message}`));
      continue;
    }
    valid.set(key, f as unknown as FlagConfig);
  }
  const prerequisiteProblems = findPrerequisiteProblems(valid);
  for (const [key, flag] of valid) {
    const problem = prerequisiteProblems.get(key);
    if (problem !== undefined) {
      flags.set(key, errorFlag(key, flag.type, 'GENERAL', problem));
      continue;
    }
    try {
      flags.set(key, compileFlag(flag, segments, regex));
    } catch (e) {
      flags.set(key, errorFlag(key, flag.type, 'PARSE_ERROR', e instanceof SegmentError ? e.message : `cannot be compiled: ${String(e)}`));
    }
  }
  return { [brand]: true, version, flags, regex };
}
