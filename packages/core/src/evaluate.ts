/**
 * `evaluate`: the one evaluator every Rollgate component runs.
 */
import type { ErrorCode, EvaluationContext, EvaluationResult, JsonValue, Snapshot } from './types.js';
import { compileSnapshot, isCompiledSnapshot, type CompiledFlag, type CompiledServe, type CompiledSnapshot } from './compile.js';
import { murmur3ContinueMod } from './murmur3.js';
import { BUCKETS } from './validate.js';
import type { RegexEngine } from './regex.js';

/** Options of one evaluation. */
export interface EvaluateOptions {
  /**
   * Source of random numbers in [0, 1) for rollouts whose stickiness lists
   * `random`. Without it such a context is not in the rollout: the core never
   * draws random numbers itself.
   */
  random?: () => number;
  /**
   * The linear-time regex engine used when `snapshot` is a plain snapshot that
   * must be compiled first (see `CompileOptions.regex`). A compiled snapshot
   * keeps the engine it was compiled with.
   */
  regex?: RegexEngine;
}

const cache = new WeakMap<object, CompiledSnapshot>();
const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});
const NO_OPTIONS: EvaluateOptions = Object.freeze({});

function errorResult<T>(defaultValue: T, errorCode: ErrorCode, errorMessage: string): EvaluationResult<T> {
  return { value: defaultValue, variant: undefined, reason: 'ERROR', errorCode, errorMessage };
}

function typeMatches(type: CompiledFlag['type'], value: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    default:
      return typeof value === 'object';
  }
}

const RANDOM = -1;
const MISSING = -2;
const FOUND = 0;

/** The stickiness value found by the last `findStickiness` that returned FOUND. */
let stickyValue = '';

function findStickiness(attributes: readonly string[], context: EvaluationContext): number {
  for (let i = 0; i < attributes.length; i++) {
    const name = attributes[i] as string;
    if (name === 'random') return RANDOM;
    const v = context[name];
    if (typeof v === 'string') {
      if (v !== '') {
        stickyValue = v;
        return FOUND;
      }
    } else if (typeof v === 'number' && Number.isFinite(v)) {
      stickyValue = String(v);
      return FOUND;
    }
  }
  return MISSING;
}

function draw(random: (() => number) | undefined): number | undefined {
  if (random === undefined) return undefined;
  const r = random();
  return typeof r === 'number' && r >= 0 && r < 1 ? r : undefined;
}

function pickVariant(serve: Extract<CompiledServe, { kind: 'rollout' }>, target: number, unleash: boolean): EvaluationResult {
  const cumulative = serve.cumulativeWeights;
  const results = serve.inResults;
  for (let i = 0; i < cumulative.length; i++) {
    const upTo = cumulative[i] as number;
    // Unleash walks with `target <= running total` over 1-based targets, skipping weight 0.
    if (unleash ? target <= upTo && (i === 0 ? upTo : upTo - (cumulative[i - 1] as number)) > 0 : target < upTo) {
      return results[i] as EvaluationResult;
    }
  }
  return results[results.length - 1] as EvaluationResult;
}

/** The rollout's result; undefined when the context is outside a rollout that continues to the next rule. */
function serveRollout(serve: Extract<CompiledServe, { kind: 'rollout' }>, context: EvaluationContext, options: EvaluateOptions): EvaluationResult | undefined {
  const found = findStickiness(serve.stickiness, context);
  if (found === MISSING) return serve.missingResult;
  const unleash = serve.algorithm === 'unleash/v1';
  let inRollout: boolean;
  let value = '';
  if (found === RANDOM) {
    const r = draw(options.random);
    if (r === undefined) return serve.missingResult;
    inRollout = unleash ? Math.floor(r * 100) + 1 <= serve.threshold : Math.floor(r * BUCKETS) < serve.threshold;
  } else {
    value = stickyValue;
    inRollout = unleash
      ? murmur3ContinueMod(serve.salt, value, 100) + 1 <= serve.threshold
      : murmur3ContinueMod(serve.salt, value, BUCKETS) < serve.threshold;
  }
  if (!inRollout) return serve.outResult;
  if (serve.inResults.length === 1) return serve.inResults[0] as EvaluationResult;
  let variantFound = found;
  if (serve.variantStickiness !== undefined) {
    variantFound = findStickiness(serve.variantStickiness, context);
    if (variantFound === MISSING) return serve.missingResult;
    value = stickyValue;
  }
  let variantTarget: number;
  if (variantFound === RANDOM) {
    const v = draw(options.random);
    if (v === undefined) return serve.missingResult;
    variantTarget = unleash ? Math.floor(v * serve.totalWeight) + 1 : Math.floor(v * BUCKETS);
  } else {
    variantTarget = unleash
      ? murmur3ContinueMod(serve.variantSalt, value, serve.totalWeight) + 1
      : murmur3ContinueMod(serve.variantSalt, value, BUCKETS);
  }
  return pickVariant(serve, variantTarget, unleash);
}

function serveOf(serve: CompiledServe, context: EvaluationContext, options: EvaluateOptions): EvaluationResult | undefined {
  return serve.kind === 'fixed' ? serve.result : serveRollout(serve, context, options);
}

/** Evaluates a compiled, valid, enabled-or-not flag. Recurses through prerequisites (acyclic by compilation). */
function evaluateFlag(snapshot: CompiledSnapshot, flag: CompiledFlag, context: EvaluationContext, options: EvaluateOptions): EvaluationResult | undefined {
  if (flag.error !== undefined) return undefined;
  if (!flag.enabled) return flag.disabledResult;
  const prerequisites = flag.prerequisites;
  for (let i = 0; i < prerequisites.length; i++) {
    const p = prerequisites[i] as CompiledFlag['prerequisites'][number];
    const pf = snapshot.flags.get(p.flag);
    const pr = pf === undefined ? undefined : evaluateFlag(snapshot, pf, context, options);
    if (pr === undefined || pf === undefined) return p.failed;
    const served = pr.variant !== undefined && pf.enabled && p.variations.has(pr.variant);
    if (served === p.negate) return p.failed;
  }
  const targets = flag.targets;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as CompiledFlag['targets'][number];
    const v = context[t.attribute];
    const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    if (id !== undefined && t.values.has(id)) return t.result;
  }
  const rules = flag.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledFlag['rules'][number];
    if (rule.match(context)) {
      const result = serveOf(rule.serve, context, options);
      if (result !== undefined) return result;
    }
  }
  return serveOf(flag.fallthrough, context, options) as EvaluationResult;
}

function compiledOf(snapshot: unknown, regex: RegexEngine | undefined): CompiledSnapshot | undefined {
  if (isCompiledSnapshot(snapshot)) return snapshot;
  if (typeof snapshot !== 'object' || snapshot === null) return undefined;
  let compiled = cache.get(snapshot);
  if (compiled === undefined || compiled.regex !== regex) {
    compiled = compileSnapshot(snapshot, { regex });
    cache.set(snapshot, compiled);
  }
  return compiled;
}

/**
 * Evaluates one flag for one context. Never throws: on any problem it returns
 * `defaultValue` with reason `ERROR` and an error code.
 *
 * `snapshot` is a compiled snapshot (fastest) or a plain one, which is compiled
 * on first use and cached for as long as the object lives. Do not mutate a
 * plain snapshot after evaluating with it.
 *
 * @example
 * const r = evaluate(compileSnapshot(snapshot), 'new-checkout', { userId: 'user-42', country: 'US' }, false);
 * if (r.value) showNewCheckout();
 */
export function evaluate<T = JsonValue>(
  snapshot: CompiledSnapshot | Snapshot | unknown,
  flagKey: string,
  context: EvaluationContext | null | undefined,
  defaultValue: T,
  options: EvaluateOptions = NO_OPTIONS,
): EvaluationResult<T> {
  try {
    const compiled = compiledOf(snapshot, options.regex);
    if (compiled === undefined || compiled.error !== undefined) {
      return errorResult(defaultValue, 'PARSE_ERROR', compiled?.error ?? 'the snapshot must be an object with a flags array');
    }
    const flag = compiled.flags.get(flagKey);
    if (flag === undefined) return errorResult(defaultValue, 'FLAG_NOT_FOUND', `no flag ${JSON.stringify(flagKey)} in this snapshot`);
    if (flag.error !== undefined) return errorResult(defaultValue, flag.error.code, flag.error.message);
    if (defaultValue !== undefined && !typeMatches(flag.type, defaultValue)) {
      return errorResult(defaultValue, 'TYPE_MISMATCH', `flag ${JSON.stringify(flagKey)} is a ${flag.type} flag; the default given is a ${typeof defaultValue}`);
    }
    const ctx = typeof context === 'object' && context !== null ? context : EMPTY_CONTEXT;
    return evaluateFlag(compiled, flag, ctx, options) as EvaluationResult<T>;
  } catch (e) {
    return errorResult(defaultValue, 'GENERAL', `evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
