/**
 * The sequential gate assessor: comparative gates (difference or relative vs
 * control) judged by always-valid sequential tests, so the controller may
 * check them every tick without inflating false alarms. Absolute gates and
 * sustained windows keep the point-estimate behaviour the seeds write
 * ("error > 2% for 1 hour"), and so do comparative gates whose aggregates
 * lack what a test needs (a variance for means, exceedance counts for
 * quantiles). docs/statistics.md explains each mapping.
 *
 * Role semantics:
 * - success criterion: `pass` only when the confidence sequence lies inside
 *   the criterion, `fail` when it lies outside, `inconclusive` otherwise
 *   (decide then waits: it never advances on an inconclusive criterion);
 * - alert and rollback: `fail` only when the sequential test rejects the
 *   threshold in the harmful direction at alpha, `pass` when the confidence
 *   sequence shows the breach does not hold, `inconclusive` otherwise.
 */
import type { CohortAggregate, Gate, GateAssessor, GateInput, GateResult, MetricDefinition, Plan, Stage } from '../rollouts/types.js';
import { assessGate, GATE_ROLE_LABELS } from '../rollouts/assess-gate.js';
import { formatNumber, formatValue } from '../rollouts/internal/format.js';
import {
  meanDifferenceTest,
  proportionDifferenceTest,
  relativeDifferenceTest,
  shareTest,
  type SequentialTestOptions,
  type SequentialTestResult,
} from './msprt.js';

/** Options of {@link sequentialGateAssessor}. */
export interface SequentialGateAssessorOptions {
  /**
   * Error rate per stage across its sequentially tested gates; default 0.05.
   * With `plan`, each gate gets alpha / (comparative gates of its stage)
   * (Bonferroni); without it, each gate gets alpha.
   */
  alpha?: number;
  /** The plan being decided, for the Bonferroni split. */
  plan?: Plan;
  /** Minimum samples per cohort before a sequential verdict (the burn-in); default 500. The larger of this and the gate's minSamples applies. */
  burnIn?: number;
  /**
   * Treatment samples expected when the stage decides; tunes the mixing
   * variance so the test is most powerful there. Default 10,000. The control
   * is assumed to keep its observed ratio to the treatment.
   */
  expectedSamples?: number | ((gate: Gate, input: GateInput) => number);
  /** The level q (0..1) of a quantile metric; default parsed from its key or name (`p95` -> 0.95). */
  quantileLevel?: (gate: Gate, definition: MetricDefinition | undefined) => number | undefined;
  /** Assessor for everything not tested sequentially; default the point-estimate `assessGate`. */
  fallback?: GateAssessor;
  /**
   * What a comparative success criterion needs to pass:
   * - `demonstrate` (default): the confidence sequence lies inside the criterion;
   * - `guardrail`: the point estimate meets it and the sequential test has not
   *   shown it broken (the confidence sequence is not wholly outside). A
   *   criterion such as "support tickets < +10% vs control" on a rare event
   *   would otherwise need far more samples than a stage sees to pass.
   * Either way a criterion shown broken fails, and one whose point estimate
   * misses it waits.
   */
  successCriteria?: 'demonstrate' | 'guardrail';
}

/**
 * Samples per cohort a comparative gate waits for before a sequential verdict
 * (the default burn-in): below it the normal approximations behind the tests
 * are loose for rare events (a 1% error rate is 5 events in 500), so a lower
 * `minSamples` does not lower it; a higher one raises it.
 */
export const SEQUENTIAL_BURN_IN = 500;

type Family = 'proportion' | 'mean' | 'quantile';

/** The tests behind one gate: `up` shows the compared quantity is above the threshold, `down` below. */
interface Tested {
  up: SequentialTestResult | undefined;
  down: SequentialTestResult | undefined;
  /** The test whose numbers the result reports. */
  report: SequentialTestResult;
  method: string;
  estimate: number;
  /** Interval on the compared quantity in the gate's units, when it has one. */
  interval?: { lower: number; upper: number };
  tested?: string;
}

function usable(a: CohortAggregate | undefined): a is CohortAggregate {
  return a !== undefined && a !== null && typeof a.value === 'number' && Number.isFinite(a.value) && typeof a.samples === 'number' && Number.isFinite(a.samples) && a.samples > 0;
}

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function familyOf(definition: MetricDefinition | undefined): Family | undefined {
  switch (definition?.kind) {
    case 'ratio':
    case 'unique':
      return 'proportion';
    case 'mean':
      return 'mean';
    case 'quantile':
      return 'quantile';
    default:
      // Gauges and counts have no per-sample distribution to test.
      return undefined;
  }
}

/** `p95` -> 0.95, `LCP p75` -> 0.75. */
function defaultQuantileLevel(_gate: Gate, definition: MetricDefinition | undefined): number | undefined {
  const text = `${definition?.key ?? ''} ${definition?.name ?? ''}`;
  const m = /\bp(\d{1,2}(?:\.\d+)?)\b/i.exec(text.replace(/-/g, ' '));
  if (!m) return undefined;
  const q = Number(m[1]) / 100;
  return q > 0 && q < 1 ? q : undefined;
}

function stagesOf(plan: Plan | undefined): readonly Stage[] {
  return Array.isArray(plan?.stages) ? (plan?.stages ?? []) : [];
}

function gatesOf(stage: Stage | undefined): readonly Gate[] {
  return Array.isArray(stage?.gates) ? (stage?.gates ?? []) : [];
}

function comparisonsByGate(plan: Plan | undefined): Map<Gate, number> {
  const out = new Map<Gate, number>();
  for (const stage of stagesOf(plan)) {
    const tested = gatesOf(stage).filter((g) => g?.condition?.type !== 'absolute' && g?.sustainedFor === undefined);
    for (const g of tested) out.set(g, tested.length);
  }
  return out;
}

function comparisonsFor(gate: Gate, plan: Plan | undefined, byGate: Map<Gate, number>): number {
  const direct = byGate.get(gate);
  if (direct !== undefined) return direct;
  // A copy of the plan's gate: match by id, taking the largest stage, which is conservative.
  let best = 1;
  for (const stage of stagesOf(plan)) {
    const gates = gatesOf(stage);
    if (gates.some((g) => g?.id === gate.id)) best = Math.max(best, gates.filter((g) => g?.condition?.type !== 'absolute' && g?.sustainedFor === undefined).length);
  }
  return best;
}

/**
 * A `GateAssessor` for `decide` that judges comparative gates with
 * always-valid sequential tests (mSPRT and confidence sequences).
 *
 * @example
 * const assessGate = sequentialGateAssessor({ plan: SEED_001_STAGED_ROLLOUT });
 * decide(SEED_001_STAGED_ROLLOUT, state, observations, now, { assessGate });
 */
export function sequentialGateAssessor(options: SequentialGateAssessorOptions = {}): GateAssessor {
  const alpha = finite(options.alpha) && options.alpha > 0 && options.alpha < 1 ? options.alpha : 0.05;
  const burnIn = finite(options.burnIn) && options.burnIn >= 1 ? options.burnIn : SEQUENTIAL_BURN_IN;
  const fallback = options.fallback ?? assessGate;
  const quantileLevel = options.quantileLevel ?? defaultQuantileLevel;
  const byGate = comparisonsByGate(options.plan);

  return (gate: Gate, input: GateInput): GateResult => {
    const condition = gate?.condition;
    if (condition?.type !== 'difference' && condition?.type !== 'relative') return fallback(gate, input);
    if (gate.sustainedFor !== undefined) return fallback(gate, input);
    const definition = input.definition;
    const family = familyOf(definition);
    const t = input.observation?.treatment;
    const c = input.observation?.control;
    // Missing data is told the same way whatever the method.
    if (family === undefined || !usable(t) || !usable(c) || !finite(condition.value)) return fallback(gate, input);
    if (family === 'mean' && !(finite(t.variance) && t.variance >= 0 && finite(c.variance) && c.variance >= 0)) return note(fallback(gate, input), 'no variance for a sequential test');
    const q = family === 'quantile' ? quantileLevel(gate, definition) : undefined;
    if (family === 'quantile' && (q === undefined || !Array.isArray(t.exceeding) || t.exceeding.length === 0)) {
      return note(fallback(gate, input), 'no exceedance counts for a sequential test');
    }

    const need = Math.max(burnIn, finite(gate.minSamples) ? gate.minSamples : finite(input.minSamples) ? input.minSamples : 1, 1);
    const base = {
      gateId: gate.id,
      metric: gate.metric,
      role: gate.role,
      condition,
      treatment: t,
      control: c,
    };
    const label = `${GATE_ROLE_LABELS[gate.role] ?? gate.role} ${gate.id}`;
    for (const [cohort, agg] of [
      ['treatment', t],
      ['control', c],
    ] as const) {
      if (agg.samples < need) {
        return {
          ...base,
          verdict: 'inconclusive',
          shortfall: { cohort, reason: 'samples', samples: agg.samples, required: need },
          method: 'msprt',
          summary: `${gate.metric} has ${formatNumber(agg.samples)} of the ${formatNumber(need)} ${cohort} samples a sequential test needs before a verdict (${label}).`,
        };
      }
    }

    const m = comparisonsFor(gate, options.plan, byGate);
    const gateAlpha = alpha / m;
    const expectedT = expected(options.expectedSamples, gate, input);
    const ratio = c.samples / t.samples;
    const testOptions: SequentialTestOptions = { alpha: gateAlpha, expectedEffectiveSamples: 1 / (1 / expectedT + 1 / (expectedT * ratio)) };
    const tested = family === 'quantile' ? quantileTests(gate, t, c, q as number, gateAlpha, expectedT) : twoSample(gate, family, t, c, definition, testOptions);
    if (tested === undefined) return note(fallback(gate, input), 'no usable bound for a sequential test');

    const above = condition.op === '>' || condition.op === '>=';
    const shownUp = (cs: boolean): boolean => (tested.up ? (cs ? tested.up.lower > tested.up.nullValue : tested.up.rejects === 'above') : false);
    const shownDown = (cs: boolean): boolean => (tested.down ? (cs ? tested.down.upper < tested.down.nullValue : tested.down.rejects === 'below') : false);
    let verdict: GateResult['verdict'];
    let byEstimate = false;
    if (gate.role === 'success') {
      const holds = above ? shownUp(true) : shownDown(true);
      const fails = above ? shownDown(true) : shownUp(true);
      if (fails) verdict = 'fail';
      else if (holds) verdict = 'pass';
      else if (options.successCriteria === 'guardrail' && fallback(gate, input).verdict === 'pass') {
        verdict = 'pass';
        byEstimate = true;
      }
      else verdict = 'inconclusive';
    } else {
      const breached = above ? shownUp(false) : shownDown(false);
      const clear = above ? shownDown(true) : shownUp(true);
      verdict = breached ? 'fail' : clear ? 'pass' : 'inconclusive';
    }

    const result: GateResult = {
      ...base,
      verdict,
      estimate: tested.estimate,
      pValue: tested.report.pValue,
      alpha: gateAlpha,
      method: tested.method,
      summary: '',
    };
    if (tested.interval && finite(tested.interval.lower) && finite(tested.interval.upper)) {
      result.interval = { lower: tested.interval.lower, upper: tested.interval.upper, level: 1 - gateAlpha };
    }
    if (tested.tested !== undefined) result.tested = tested.tested;
    result.summary = summaryOf(gate, result, tested, t, c, definition, label, m, byEstimate);
    return result;
  };
}

function note(result: GateResult, why: string): GateResult {
  return { ...result, method: `${result.method} (${why})` };
}

function expected(option: SequentialGateAssessorOptions['expectedSamples'], gate: Gate, input: GateInput): number {
  const n = typeof option === 'function' ? option(gate, input) : option;
  return finite(n) && n >= 1 ? n : 10_000;
}

/** Percent metrics are 0..100; the tests work on fractions. */
function scaleOf(definition: MetricDefinition | undefined): number {
  return definition?.unit === 'percent' ? 100 : 1;
}

function twoSample(gate: Gate, family: 'proportion' | 'mean', t: CohortAggregate, c: CohortAggregate, definition: MetricDefinition | undefined, options: SequentialTestOptions): Tested {
  const { type, value } = gate.condition;
  if (family === 'proportion') {
    const scale = scaleOf(definition);
    const pt = clamp01(t.value / scale);
    const pc = clamp01(c.value / scale);
    const tc = { events: pt * t.samples, samples: t.samples };
    const cc = { events: pc * c.samples, samples: c.samples };
    if (type === 'difference') {
      const r = proportionDifferenceTest(tc, cc, value / scale, options);
      return { up: r, down: r, report: r, method: 'msprt-proportions', estimate: r.estimate * scale, interval: scaled(r, scale) };
    }
    const vt = smoothedVariance(pt, t.samples);
    const vc = smoothedVariance(pc, c.samples);
    const r = relativeDifferenceTest({ mean: pt, variance: vt }, { mean: pc, variance: vc }, t.samples, c.samples, value / 100, options);
    return { up: r, down: r, report: r, method: 'msprt-relative-proportions', estimate: r.estimate * 100, interval: scaled(r, 100) };
  }
  const summaryT = { mean: t.value, variance: t.variance ?? 0, samples: t.samples };
  const summaryC = { mean: c.value, variance: c.variance ?? 0, samples: c.samples };
  if (type === 'difference') {
    const r = meanDifferenceTest(summaryT, summaryC, value, options);
    return { up: r, down: r, report: r, method: 'msprt-welch', estimate: r.estimate, interval: scaled(r, 1) };
  }
  const r = relativeDifferenceTest(
    { mean: t.value, variance: (t.variance ?? 0) / t.samples },
    { mean: c.value, variance: (c.variance ?? 0) / c.samples },
    t.samples,
    c.samples,
    value / 100,
    options,
  );
  return { up: r, down: r, report: r, method: 'msprt-relative-welch', estimate: r.estimate * 100, interval: scaled(r, 100) };
}

/**
 * A quantile gate "q-quantile of treatment OP bound", where the bound is the
 * control's quantile plus the difference or times 1 + the relative
 * difference, becomes one-sample tests of the share of treatment samples
 * above the bound against 1 - q. The aggregate gives counts above some bounds
 * only; to stay conservative, "above" is shown at the smallest counted bound
 * at or above the gate's bound, and "below" at the largest at or below it.
 * The control's quantile is taken as known (a plug-in; docs/statistics.md).
 */
function quantileTests(gate: Gate, t: CohortAggregate, c: CohortAggregate, q: number, alpha: number, expectedT: number): Tested | undefined {
  const { type, value } = gate.condition;
  if (type === 'relative' && !(c.value > 0)) return undefined;
  const bound = type === 'relative' ? c.value * (1 + value / 100) : c.value + value;
  const entries = (t.exceeding ?? []).filter((e) => e !== null && typeof e === 'object' && finite(e.bound) && finite(e.count) && e.count >= 0);
  const atOrAbove = entries.filter((e) => e.bound >= bound).sort((a, b) => a.bound - b.bound)[0];
  const atOrBelow = entries.filter((e) => e.bound <= bound).sort((a, b) => b.bound - a.bound)[0];
  const options: SequentialTestOptions = { alpha, expectedEffectiveSamples: expectedT };
  const share = (e: { bound: number; count: number } | undefined): SequentialTestResult | undefined =>
    e === undefined ? undefined : shareTest({ events: Math.min(e.count, t.samples), samples: t.samples }, 1 - q, options);
  const up = share(atOrAbove);
  const down = share(atOrBelow);
  const reportEntry = (gate.condition.op === '>' || gate.condition.op === '>=') === (gate.role !== 'success') ? (atOrAbove ?? atOrBelow) : (atOrBelow ?? atOrAbove);
  const report = reportEntry === atOrAbove ? up : down;
  if (report === undefined || reportEntry === undefined) return undefined;
  const estimate = type === 'relative' ? ((t.value - c.value) / Math.abs(c.value)) * 100 : t.value - c.value;
  return {
    up,
    down,
    report,
    method: 'msprt-quantile-share',
    estimate,
    tested: `share of treatment samples above ${formatNumber(reportEntry.bound)} (gate bound ${formatNumber(bound)}): ${formatNumber(report.estimate * 100)}% vs the ${formatNumber((1 - q) * 100)}% a p${formatNumber(q * 100)} at the bound allows; interval ${formatNumber(Math.max(0, report.lower) * 100)}% to ${formatNumber(Math.min(1, report.upper) * 100)}% at level ${formatNumber(1 - alpha)}`,
  };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function smoothedVariance(p: number, n: number): number {
  const s = (p * n + 1) / (n + 2);
  return (s * (1 - s)) / n;
}

function scaled(r: SequentialTestResult, scale: number): { lower: number; upper: number } | undefined {
  if (!finite(r.lower) || !finite(r.upper)) return undefined;
  return { lower: r.lower * scale, upper: r.upper * scale };
}

function signedText(n: number, percent: boolean, d: MetricDefinition | undefined): string {
  const s = percent ? `${formatNumber(n)}%` : formatValue(n, d);
  return n > 0 ? `+${s}` : s;
}

function summaryOf(
  gate: Gate,
  result: GateResult,
  tested: Tested,
  t: CohortAggregate,
  c: CohortAggregate,
  d: MetricDefinition | undefined,
  label: string,
  comparisons: number,
  byEstimate: boolean,
): string {
  const relative = gate.condition.type === 'relative';
  const est = signedText(result.estimate ?? 0, relative, d);
  const threshold = `${gate.condition.op} ${signedText(gate.condition.value, relative, d)}`;
  const observed = `${gate.metric} ${est} vs control (${formatValue(t.value, d)} vs ${formatValue(c.value, d)})`;
  const level = formatNumber((1 - (result.alpha ?? 0.05)) * 100);
  const interval = result.interval
    ? `${level}% confidence sequence ${signedText(result.interval.lower, relative, d)} to ${signedText(result.interval.upper, relative, d)}`
    : tested.tested !== undefined
      ? tested.tested
      : `${level}% confidence sequence still unbounded`;
  const p = (result.pValue ?? 1) < 1e-4 ? (result.pValue ?? 1).toExponential(1) : formatNumber(result.pValue ?? 1);
  const stats = `${interval}; always-valid p = ${p} at alpha ${formatNumber(result.alpha ?? 0.05)}${comparisons > 1 ? ` (0.05 split over ${comparisons} gates)` : ''}; samples: treatment ${formatNumber(t.samples)}, control ${formatNumber(c.samples)}`;
  if (gate.role === 'success') {
    if (result.verdict === 'pass' && byEstimate) return `${observed} meets ${threshold} by its estimate, and the sequential test does not show it broken: ${stats} (${label}).`;
    if (result.verdict === 'pass') return `${observed} meets ${threshold}: ${stats} (${label}).`;
    if (result.verdict === 'fail') return `${observed} does not meet ${threshold}: ${stats} (${label}).`;
    return `${observed} is not yet shown to meet ${threshold}: ${stats} (${label}).`;
  }
  if (result.verdict === 'fail') return `${observed} breaches ${threshold} by sequential test: ${stats} (${label}).`;
  if (result.verdict === 'pass') return `${observed} is within ${label.replace(` ${gate.id}`, '')} ${threshold}: ${stats} (${label}).`;
  return `${observed} is not yet distinguishable from ${threshold}: ${stats} (${label}).`;
}
