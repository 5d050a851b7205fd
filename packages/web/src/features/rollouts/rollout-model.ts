/**
 * What the rollout page derives from the API's data: the stage timeline with
 * actual durations, the seed 000 daily metrics table, and what an action
 * does to whom. Pure functions, tested beside this file.
 */
import type { Plan, Stage } from '@rollgate/core';
import type { MetricSeries, RolloutDecision, RolloutDetail } from '../../api/types.js';
import { formatValue } from '../../components/format.js';

export interface TimelineStage {
  index: number;
  id: string;
  name: string;
  when: 'past' | 'current' | 'next' | 'later';
  audience: string;
  percentage: number;
  plannedMs: number;
  /** When the stage began and ended, from the decision log (epoch ms). */
  enteredAt?: number;
  leftAt?: number;
}

/** A stage's audience in words: "internal-team + 10% of everyone else". */
export function audienceText(stage: Stage): string {
  const segments = stage.audience.segments ?? [];
  const pct = stage.audience.percentage ?? 0;
  if (segments.length === 0) return `${pct}% of users`;
  return pct > 0 ? `${segments.join(', ')} + ${pct}% of everyone else` : segments.join(', ');
}

/** Past, current and next stages, with when each was entered and left (decisions are newest first). */
export function stageTimeline(plan: Plan, rollout: Pick<RolloutDetail, 'status' | 'stageIndex' | 'state'>, decisions: readonly RolloutDecision[]): TimelineStage[] {
  const state = rollout.state as { stageStartedAt?: number; startedAt?: number };
  const entered = new Map<number, number>();
  const left = new Map<number, number>();
  for (const d of [...decisions].reverse()) {
    const at = Date.parse(d.at);
    if (d.toStage !== null && d.toStage !== d.fromStage) {
      entered.set(d.toStage, at);
      if (d.fromStage !== null) left.set(d.fromStage, at);
    }
    if ((d.kind === 'complete' || d.kind === 'rollback' || d.kind === 'disable' || d.kind === 'abort') && d.fromStage !== null && d.toStage === null) left.set(d.fromStage, at);
  }
  if (state.startedAt !== undefined && !entered.has(0)) entered.set(0, state.startedAt);
  if (state.stageStartedAt !== undefined) entered.set(rollout.stageIndex, state.stageStartedAt);
  const finished = rollout.status === 'completed' || rollout.status === 'rolled_back' || rollout.status === 'aborted';
  return plan.stages.map((stage, index) => {
    const when = index < rollout.stageIndex ? 'past' : index === rollout.stageIndex ? (finished ? 'past' : 'current') : index === rollout.stageIndex + 1 ? 'next' : 'later';
    const e = entered.get(index);
    // A restarted rollout entered its stages again: an exit before the latest entry belongs to the earlier run.
    const l = e !== undefined && (left.get(index) ?? -Infinity) > e ? left.get(index) : undefined;
    return {
      index,
      id: stage.id,
      name: stage.name,
      when: rollout.status === 'draft' ? (index === 0 ? 'next' : 'later') : when,
      audience: audienceText(stage),
      percentage: stage.audience.percentage ?? 0,
      plannedMs: stage.minDuration,
      ...(e !== undefined && index <= rollout.stageIndex ? { enteredAt: e } : {}),
      ...(l !== undefined && index <= rollout.stageIndex ? { leftAt: l } : {}),
    };
  });
}

/** The seed 000 groups of the Daily Metrics table. */
export const METRIC_GROUPS: readonly { name: string; metrics: readonly string[] }[] = [
  { name: 'System health', metrics: ['error-rate', 'response-time-avg', 'response-time-p95', 'page-load-lcp', 'cache-hit-rate', 'db-query-time', 'uptime', 'cpu-usage', 'memory-usage', 'unhandled-exceptions', 'data-loss-events'] },
  { name: 'Feature adoption', metrics: ['adoption'] },
  { name: 'User feedback', metrics: ['satisfaction-score', 'nps', 'support-ticket-rate', 'support-tickets', 'user-complaints'] },
  { name: 'Forecast accuracy', metrics: ['forecast-accuracy'] },
];

export interface DailyRow {
  metric: string;
  name: string;
  target: string;
  actual: string;
  status: 'met' | 'missed' | 'no data' | 'no target';
}

const OPS = { '<': (a: number, b: number) => a < b, '<=': (a: number, b: number) => a <= b, '>': (a: number, b: number) => a > b, '>=': (a: number, b: number) => a >= b };

/** Days (UTC, `YYYY-MM-DD`) that have data in the current stage, oldest first. */
export function daysWithData(series: MetricSeries): string[] {
  const days = new Set<string>();
  for (const m of series.metrics) for (const r of m.raw) if (r.treatmentSamples > 0) days.add(new Date(r.t - 1).toISOString().slice(0, 10));
  return [...days].sort();
}

/**
 * The Daily Metrics table for `day`: per metric, the target (the success
 * criterion the plan sets, absolute or against control), the treatment's
 * value that day (sample-weighted) and whether it met the target.
 */
export function dailyMetrics(series: MetricSeries, day: string): { group: string; rows: DailyRow[] }[] {
  const rowFor = (m: MetricSeries['metrics'][number]): DailyRow => {
    let samples = 0;
    let sum = 0;
    let controlSamples = 0;
    let controlSum = 0;
    for (const r of m.raw) {
      if (new Date(r.t - 1).toISOString().slice(0, 10) !== day) continue;
      if (r.treatment !== null && r.treatmentSamples > 0) {
        samples += r.treatmentSamples;
        sum += r.treatment * r.treatmentSamples;
      }
      if (r.control !== null && r.controlSamples > 0) {
        controlSamples += r.controlSamples;
        controlSum += r.control * r.controlSamples;
      }
    }
    const gate = m.gates.find((g) => g.role === 'success') ?? m.gates[0];
    const name = m.name ?? m.metric;
    const unit = m.unit;
    const target =
      gate === undefined
        ? '–'
        : gate.condition.type === 'absolute'
          ? `${gate.condition.op} ${formatValue(gate.condition.value, unit)}`
          : `${gate.condition.op} ${gate.condition.type === 'relative' ? `${gate.condition.value}%` : formatValue(gate.condition.value, unit)} vs control`;
    if (samples === 0) return { metric: m.metric, name, target, actual: 'no data', status: 'no data' };
    const value = sum / samples;
    const actual = formatValue(value, unit);
    if (gate === undefined) return { metric: m.metric, name, target, actual, status: 'no target' };
    const c = gate.condition;
    let compared = value;
    if (c.type !== 'absolute') {
      if (controlSamples === 0) return { metric: m.metric, name, target, actual, status: 'no data' };
      const control = controlSum / controlSamples;
      compared = c.type === 'difference' ? value - control : ((value - control) / Math.abs(control)) * 100;
    }
    const holds = OPS[c.op](compared, c.value);
    // A success criterion is met when its condition holds; an alert or rollback condition, when it does not.
    const met = gate.role === 'success' ? holds : !holds;
    return { metric: m.metric, name, target, actual, status: met ? 'met' : 'missed' };
  };
  const known = new Set(METRIC_GROUPS.flatMap((g) => g.metrics));
  const groups = METRIC_GROUPS.map((g) => ({ group: g.name, rows: series.metrics.filter((m) => g.metrics.includes(m.metric)).map(rowFor) }));
  const other = series.metrics.filter((m) => !known.has(m.metric)).map(rowFor);
  if (other.length > 0) groups.push({ group: 'Other metrics', rows: other });
  return groups.filter((g) => g.rows.length > 0);
}

export type RolloutAction = 'advance' | 'hold' | 'resume' | 'rollback-previous' | 'rollback-zero' | 'disable' | 'restart' | 'abort';

/** What an action will do, to whom, in one or two sentences for its confirmation. */
export function actionConsequence(action: RolloutAction, plan: Plan, r: Pick<RolloutDetail, 'flagKey' | 'environmentKey' | 'variation' | 'stageIndex' | 'statusSummary'>): string {
  const stage = plan.stages[r.stageIndex];
  const now = stage === undefined ? 'nobody' : audienceText(stage);
  const next = plan.stages[r.stageIndex + 1];
  const previous = plan.stages[r.stageIndex - 1];
  const env = r.statusSummary.environment ?? r.environmentKey;
  const flag = `${r.flagKey} (${r.variation})`;
  switch (action) {
    case 'advance':
      return next === undefined
        ? `This is the last stage: the rollout completes once its checklist and approvals allow, and ${now} keep ${flag} in ${env}.`
        : `Asks to move on now: ${audienceText(next)} will start seeing ${flag} in ${env} (today: ${now}). The checklist and approvals still apply.`;
    case 'hold':
      return `Nothing moves until a person resumes: ${now} keep ${flag} in ${env}. Rollback triggers still act.`;
    case 'resume':
      return `The controller decides again on its next tick: ${now} see ${flag} in ${env}, and the stage advances when its criteria are met.`;
    case 'rollback-previous':
      return previous === undefined
        ? `There is no earlier stage: ${now} will stop seeing ${flag} in ${env} (back to 0%).`
        : `${now} will shrink to ${audienceText(previous)}: the rest stop seeing ${flag} in ${env} at once.`;
    case 'rollback-zero':
      return `${now} will stop seeing ${flag} in ${env} at once: everyone gets what they had before. The rollout ends as rolled back; it can be restarted.`;
    case 'disable':
      return `The kill switch of ${r.flagKey} in ${env} turns off: every user gets the off variation, not only the rollout's ${now}.`;
    case 'restart':
      return `Starts again at stage 1: ${plan.stages[0] === undefined ? 'nobody' : audienceText(plan.stages[0])} will see ${flag} in ${env}.`;
    case 'abort':
      return `Rollgate stops managing ${r.flagKey} in ${env} and leaves its rules as they are: ${now} keep ${flag}, and nothing guards it any more.`;
  }
}
