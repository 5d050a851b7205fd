/**
 * The point-estimate gate assessor: compares the observed value (or the
 * treatment-control difference) with the gate's threshold. `decide` calls an
 * assessor through the `GateAssessor` type, so the metrics issue can replace
 * this one for comparative gates with always-valid sequential tests without
 * changing `decide` or its callers.
 */
import type { CohortAggregate, Gate, GateInput, GateResult, GateShortfall, GateVerdict, MetricDefinition, SeriesInterval } from './types.js';
import { compare, formatCondition, formatDuration, formatEstimate, formatNumber, formatValue } from './internal/format.js';

/** How the roles read in sentences. */
export const GATE_ROLE_LABELS = { success: 'success criterion', alert: 'alert threshold', rollback: 'rollback trigger' } as const;

function usable(a: CohortAggregate | undefined): a is CohortAggregate {
  return (
    a !== undefined &&
    a !== null &&
    typeof a.value === 'number' &&
    Number.isFinite(a.value) &&
    typeof a.samples === 'number' &&
    Number.isFinite(a.samples) &&
    a.samples > 0
  );
}

/**
 * The compared quantity of a condition, or undefined when it has none (a
 * relative difference against a control of 0, unless both are 0).
 */
function estimateOf(gate: Gate, treatment: number, control: number | undefined): number | undefined {
  switch (gate.condition.type) {
    case 'absolute':
      return treatment;
    case 'difference':
      return control === undefined ? undefined : treatment - control;
    case 'relative':
      if (control === undefined) return undefined;
      if (control === 0) return treatment === 0 ? 0 : undefined;
      return ((treatment - control) / Math.abs(control)) * 100;
    default:
      return undefined;
  }
}

/** For success gates the condition is the criterion; for the others it is the breach. */
function verdictOf(gate: Gate, holds: boolean): GateVerdict {
  return gate.role === 'success' ? (holds ? 'pass' : 'fail') : holds ? 'fail' : 'pass';
}

function isComparative(gate: Gate): boolean {
  return gate.condition.type !== 'absolute';
}

function observedText(gate: Gate, estimate: number, t: CohortAggregate, c: CohortAggregate | undefined, d: MetricDefinition | undefined): string {
  if (!isComparative(gate) || c === undefined) return `${gate.metric} ${formatValue(t.value, d)}`;
  return `${gate.metric} ${formatEstimate(estimate, gate.condition, d)} vs control (${formatValue(t.value, d)} vs ${formatValue(c.value, d)})`;
}

function samplesText(t: CohortAggregate | undefined, c: CohortAggregate | undefined, comparative: boolean): string {
  const parts = [`treatment ${formatNumber(t?.samples ?? 0)}`];
  if (comparative) parts.push(`control ${formatNumber(c?.samples ?? 0)}`);
  return `samples: ${parts.join(', ')}`;
}

function thresholdText(gate: Gate, d: MetricDefinition | undefined): string {
  // The condition without the metric name, e.g. "> 2%" or "vs control > +50%".
  return formatCondition(gate.metric, gate.condition, d).slice(gate.metric.length + 1);
}

function verdictText(gate: Gate, verdict: GateVerdict, d: MetricDefinition | undefined): string {
  const threshold = thresholdText(gate, d);
  if (gate.role === 'success') return verdict === 'pass' ? `meets ${threshold}` : `does not meet ${threshold}`;
  return verdict === 'fail' ? `breaches ${threshold}` : `is within ${GATE_ROLE_LABELS[gate.role]} ${threshold}`;
}

function base(gate: Gate): Pick<GateResult, 'gateId' | 'metric' | 'role' | 'condition' | 'sustainedFor' | 'method'> {
  const out: Pick<GateResult, 'gateId' | 'metric' | 'role' | 'condition' | 'sustainedFor' | 'method'> = {
    gateId: gate.id,
    metric: gate.metric,
    role: gate.role,
    condition: gate.condition,
    method: 'point-estimate',
  };
  if (gate.sustainedFor !== undefined) out.sustainedFor = gate.sustainedFor;
  return out;
}

function noData(gate: Gate, cohort: 'treatment' | 'control', detail = ''): GateResult {
  return {
    ...base(gate),
    verdict: 'no_data',
    shortfall: { cohort, reason: 'no_data' },
    summary: `No data for ${gate.metric} in the ${cohort} cohort${detail} (${GATE_ROLE_LABELS[gate.role]} ${gate.id}).`,
  };
}

function tooFewSamples(gate: Gate, shortfall: GateShortfall, t: CohortAggregate | undefined, c: CohortAggregate | undefined, where = ''): GateResult {
  const result: GateResult = {
    ...base(gate),
    verdict: 'inconclusive',
    shortfall,
    summary: `${gate.metric} has ${formatNumber(shortfall.samples ?? 0)} of the ${formatNumber(shortfall.required ?? 0)} ${shortfall.cohort} samples needed${where} (${GATE_ROLE_LABELS[gate.role]} ${gate.id}).`,
  };
  if (t) result.treatment = t;
  if (c) result.control = c;
  return result;
}

/**
 * Assesses one gate on point estimates. Without `sustainedFor` it reads the
 * aggregate over the current stage; with it, the per-interval series of the
 * current stage, and the condition must have held in every interval with data
 * for the whole window, up to the newest data. Each needed cohort must have
 * `minSamples` samples (over the stage, or over the window) before a verdict.
 *
 * @example
 * assessGate(
 *   { id: 'err', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } },
 *   { observation: { treatment: { value: 0.4, samples: 5000 } }, minSamples: 1000, stageStartedAt: 0, now: 1 },
 * ).verdict; // 'pass'
 */
export function assessGate(gate: Gate, input: GateInput): GateResult {
  const need = Math.max(1, finiteOr(gate.minSamples, input.minSamples));
  if (gate.sustainedFor !== undefined) return assessSustained(gate, input, need);
  const d = input.definition;
  const comparative = isComparative(gate);
  const t = input.observation?.treatment;
  const c = input.observation?.control;
  if (!usable(t)) return noData(gate, 'treatment');
  if (comparative && !usable(c)) return noData(gate, 'control');
  if (t.samples < need) return tooFewSamples(gate, { cohort: 'treatment', reason: 'samples', samples: t.samples, required: need }, t, c);
  if (comparative && c !== undefined && c.samples < need) {
    return tooFewSamples(gate, { cohort: 'control', reason: 'samples', samples: c.samples, required: need }, t, c);
  }
  const estimate = estimateOf(gate, t.value, comparative ? c?.value : undefined);
  const result: GateResult = { ...base(gate), verdict: 'inconclusive', treatment: t, summary: '' };
  if (comparative && c) result.control = c;
  if (estimate === undefined) {
    result.summary = `${gate.metric} cannot be compared relative to a control of 0 (${GATE_ROLE_LABELS[gate.role]} ${gate.id}).`;
    return result;
  }
  result.estimate = estimate;
  result.verdict = verdictOf(gate, compare(estimate, gate.condition.op, gate.condition.value));
  result.summary = `${observedText(gate, estimate, t, c, d)} ${verdictText(gate, result.verdict, d)} over the stage (${GATE_ROLE_LABELS[gate.role]} ${gate.id}; ${samplesText(t, c, comparative)}).`;
  return result;
}

function finiteOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.isFinite(fallback) ? fallback : 1;
}

function assessSustained(gate: Gate, input: GateInput, need: number): GateResult {
  const d = input.definition;
  const comparative = isComparative(gate);
  const window = gate.sustainedFor ?? 0;
  const series = Array.isArray(input.observation?.series) ? (input.observation?.series ?? []) : [];
  // Intervals of earlier stages served a different audience, and intervals
  // that have not started yet say nothing; both are left out.
  const inStage = series.filter(
    (i): i is SeriesInterval =>
      i !== null &&
      typeof i === 'object' &&
      Number.isFinite(i.start) &&
      Number.isFinite(i.end) &&
      i.end > i.start &&
      i.start >= input.stageStartedAt &&
      i.start <= input.now,
  );
  const withTreatment = inStage.filter((i) => usable(i.treatment));
  if (withTreatment.length === 0) return noData(gate, 'treatment', ' during this stage');
  const withData = comparative ? withTreatment.filter((i) => usable(i.control)) : withTreatment;
  if (withData.length === 0) return noData(gate, 'control', ' during this stage');
  // Newest first; ties broken by start so the order never depends on input order.
  const ordered = [...withData].sort((a, b) => b.end - a.end || b.start - a.start);
  const newest = ordered[0] as SeriesInterval;
  const newestEnd = Math.min(newest.end, input.now);
  const windowStart = newestEnd - window;

  let treatmentSamples = 0;
  let controlSamples = 0;
  for (const i of ordered) {
    if (i.end <= windowStart) break;
    treatmentSamples += i.treatment?.samples ?? 0;
    controlSamples += i.control?.samples ?? 0;
  }
  const t = newest.treatment as CohortAggregate;
  const c = comparative ? newest.control : undefined;
  if (treatmentSamples < need) {
    return tooFewSamples(gate, { cohort: 'treatment', reason: 'samples', samples: treatmentSamples, required: need }, t, c, ` in the last ${formatDuration(window)}`);
  }
  if (comparative && controlSamples < need) {
    return tooFewSamples(gate, { cohort: 'control', reason: 'samples', samples: controlSamples, required: need }, t, c, ` in the last ${formatDuration(window)}`);
  }

  // How long, back from the newest data, the condition held without a break.
  let runStart: number | undefined;
  let undefinedEstimate = false;
  for (const i of ordered) {
    const e = estimateOf(gate, (i.treatment as CohortAggregate).value, c === undefined ? undefined : i.control?.value);
    if (e === undefined) {
      undefinedEstimate = runStart === undefined;
      break;
    }
    if (!compare(e, gate.condition.op, gate.condition.value)) break;
    runStart = i.start;
  }
  const heldFor = runStart === undefined ? 0 : Math.max(0, newestEnd - runStart);
  const estimate = estimateOf(gate, t.value, c?.value);
  const result: GateResult = { ...base(gate), verdict: 'inconclusive', treatment: t, heldFor, summary: '' };
  if (c) result.control = c;
  if (estimate !== undefined) result.estimate = estimate;
  const label = `${GATE_ROLE_LABELS[gate.role]} ${gate.id}`;
  const condition = formatCondition(gate.metric, gate.condition, d);
  if (estimate === undefined || undefinedEstimate) {
    result.summary = `${gate.metric} cannot be compared relative to a control of 0 (${label}).`;
    return result;
  }
  const observed = observedText(gate, estimate, t, c, d);
  const held = heldFor >= window;
  if (gate.role === 'success') {
    if (held) {
      result.verdict = 'pass';
      result.summary = `${condition} has held for ${formatDuration(heldFor)}, at least the ${formatDuration(window)} required; now ${observed.slice(gate.metric.length + 1)} (${label}).`;
    } else if (runStart === undefined) {
      result.verdict = 'fail';
      result.summary = `${observed} ${verdictText(gate, 'fail', d)} in the latest interval; it must hold for ${formatDuration(window)} (${label}).`;
    } else {
      result.shortfall = { cohort: 'treatment', reason: 'window' };
      result.summary = `${condition} has held for ${formatDuration(heldFor)} of the ${formatDuration(window)} required (${label}).`;
    }
    return result;
  }
  result.verdict = held ? 'fail' : 'pass';
  result.summary = held
    ? `${observed} ${verdictText(gate, 'fail', d)} and has for ${formatDuration(heldFor)}, at least the ${formatDuration(window)} window (${label}; ${samplesText({ value: 0, samples: treatmentSamples }, { value: 0, samples: controlSamples }, comparative)} in the window).`
    : runStart === undefined
      ? `${observed} ${verdictText(gate, 'pass', d)} for ${formatDuration(window)} (${label}).`
      : `${condition} has held for ${formatDuration(heldFor)}, less than the ${formatDuration(window)} window (${label}).`;
  return result;
}
