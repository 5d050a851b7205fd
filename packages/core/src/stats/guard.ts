/**
 * The guard: `decide` with comparative gates judged by always-valid
 * sequential tests and the stage's cohort sizes checked against its split.
 * The controller calls this every tick; bench/guard measures it.
 */
import { decide } from '../rollouts/decide.js';
import type { Cohort, DataEvidence, Decision, MetricDefinition, MetricObservation, Observations, Plan, RolloutState } from '../rollouts/types.js';
import { sequentialGateAssessor, type SequentialGateAssessorOptions } from './gate-assessor.js';
import { groupSrm } from './experiment.js';
import { withExperimentOutcome } from './experiment-decision.js';
import { percent, preferSrmHold, srmCheck, srmHold, type SrmHold, type SrmOptions } from './srm.js';

/** Options of {@link guardedDecide}. */
export interface GuardOptions {
  /** Options of the sequential gate assessor (`plan` is filled in). */
  sequential?: Omit<SequentialGateAssessorOptions, 'plan'>;
  /** Options of the sample-ratio check; `false` turns it off. */
  srm?: SrmOptions | false;
  /** Metric definitions (the catalog and a project's own metrics); default the built-in catalog. */
  catalog?: readonly MetricDefinition[];
  /**
   * A cohort whose newest data in a metric's series is older than this (ms)
   * has no data for that metric: when a source stops sending, its stage
   * totals stay but are stale, and deciding on them would advance on silence.
   * Metrics without a series are left as they are. Default: no limit.
   */
  staleAfterMs?: number;
}

/**
 * `observations` without the cohorts whose newest series data ended more
 * than `staleAfterMs` before `now` (see {@link GuardOptions.staleAfterMs}).
 *
 * @example
 * withoutStaleData({ metrics: { 'error-rate': { treatment, series: [{ start: 0, end: 60_000, treatment }] } } }, 3_600_000, 600_000).metrics['error-rate']?.treatment; // undefined
 */
export function withoutStaleData(observations: Observations, now: number, staleAfterMs: number): Observations {
  let changed = false;
  const metrics: Record<string, MetricObservation | undefined> = {};
  for (const [key, o] of Object.entries(observations.metrics)) {
    metrics[key] = o;
    if (o === undefined || !Array.isArray(o.series) || o.series.length === 0) continue;
    const next: MetricObservation = { ...o };
    for (const cohort of ['treatment', 'control'] as const) {
      if (next[cohort] === undefined) continue;
      let newest = -Infinity;
      for (const interval of o.series) if ((interval[cohort]?.samples ?? 0) > 0 && interval.end > newest) newest = interval.end;
      if (newest < now - staleAfterMs) {
        delete next[cohort];
        changed = true;
      }
    }
    metrics[key] = next;
  }
  return changed ? { ...observations, metrics } : observations;
}

/**
 * The share of assigned contexts a stage's split sends to treatment, when it
 * has one: a percentage strictly between 0 and 100 and no segments (segment
 * members are chosen, not drawn, so their share is not a split).
 */
export function expectedTreatmentShare(plan: Plan, state: RolloutState): number | undefined {
  const stage = plan.stages[state.stageIndex];
  if (stage === undefined || (stage.audience.segments?.length ?? 0) > 0) return undefined;
  const pct = stage.audience.percentage ?? 0;
  return pct > 0 && pct < 100 ? pct / 100 : undefined;
}

/**
 * `decide` with the sequential assessor, then the checks of the data itself.
 * A rollback or disable from the gates stands (it rests on the treatment's
 * own numbers); otherwise a cohort with reported drops holds the rollout for
 * a person with "incomplete data", and a mismatch of the cohorts' sizes with
 * "assignment problem". The evidence's `data` says which window was read,
 * what was dropped and which count metrics were observed at zero. With `staleAfterMs`, a cohort whose data stopped
 * arriving has no data (so the stage holds instead of reading stale totals). The check runs while the stage is running and
 * until a person resumes it in this stage (the resume acknowledges it).
 *
 * @example
 * guardedDecide(plan, state, { metrics, assignments: { treatment: 1200, control: 8800 } }, now).kind; // 'hold' when the split is 10/90
 */
export function guardedDecide(plan: Plan, state: RolloutState, given: Observations, now: number, options: GuardOptions = {}): Decision {
  // A decision that ends an experiment stage carries its final analysis; one entering a stage that serves its winner, the winner.
  return withExperimentOutcome(plan, state, given, guardedDecision(plan, state, given, now, options), options.catalog === undefined ? {} : { catalog: options.catalog });
}

function guardedDecision(plan: Plan, state: RolloutState, given: Observations, now: number, options: GuardOptions): Decision {
  const stale = options.staleAfterMs;
  const observations = typeof stale === 'number' && Number.isFinite(stale) && stale > 0 ? withoutStaleData(given, now, stale) : given;
  const assessGate = sequentialGateAssessor({ ...options.sequential, plan });
  const decision = withDataEvidence(decide(plan, state, observations, now, options.catalog === undefined ? { assessGate } : { assessGate, catalog: options.catalog }), observations);
  if (state.status !== 'running' && state.status !== 'awaiting_approval') return decision;
  const incomplete = droppedHold(decision, state, observations);
  if (incomplete !== undefined || options.srm === false || state.status !== 'running') return incomplete ?? decision;
  const a = observations.assignments;
  if (a === undefined) return decision;
  const resumedThisStage = typeof state.resumedAt === 'number' && state.resumedAt >= state.stageStartedAt;
  if (resumedThisStage) return decision;
  const share = expectedTreatmentShare(plan, state);
  const srmOptions = options.srm ?? {};
  const cohorts = srmCheck({ treatment: a.treatment, control: a.control, expectedTreatmentShare: share }, srmOptions);
  return preferSrmHold(decision, cohorts ?? groupSrmCheck(plan, state, observations, srmOptions));
}

/** The decision with `evidence.data`: the observations' window, reported drops and count metrics observed at zero. */
function withDataEvidence(decision: Decision, observations: Observations): Decision {
  const data: { -readonly [K in keyof DataEvidence]: DataEvidence[K] } = {};
  if (observations.window !== undefined) data.window = observations.window;
  if (observations.dropped !== undefined && Object.keys(observations.dropped).length > 0) data.dropped = observations.dropped;
  const zero: { metric: string; cohort: Cohort; exposures: number }[] = [];
  for (const [metric, o] of Object.entries(observations.metrics)) {
    for (const cohort of ['treatment', 'control'] as const) {
      const agg = o?.[cohort];
      if (agg?.observedZero === true) zero.push({ metric, cohort, exposures: agg.samples });
    }
  }
  if (zero.length > 0) data.observedZero = zero;
  if (Object.keys(data).length === 0) return decision;
  return { ...decision, evidence: { ...decision.evidence, data } };
}

/**
 * A cohort with drops reported in this stage is incomplete: its counts
 * (exposures, samples, the sample-ratio check) are short by what was dropped,
 * so nothing is decided on it. Holds for a person unless the decision is a
 * rollback or disable (which act on the numbers that did arrive); a resume
 * acknowledges the drops reported until then, and newer ones hold again.
 */
function droppedHold(decision: Decision, state: RolloutState, observations: Observations): Decision | undefined {
  if (decision.kind === 'rollback' || decision.kind === 'disable') return undefined;
  const resumedAt = typeof state.resumedAt === 'number' && state.resumedAt >= state.stageStartedAt ? state.resumedAt : undefined;
  const parts: string[] = [];
  for (const cohort of ['treatment', 'control'] as const) {
    const d = observations.dropped?.[cohort];
    if (d === undefined || d.exposures + d.metrics <= 0 || (resumedAt !== undefined && d.lastAt <= resumedAt)) continue;
    const what = [d.exposures > 0 ? `${d.exposures} exposure${d.exposures === 1 ? '' : 's'}` : '', d.metrics > 0 ? `${d.metrics} metric observation${d.metrics === 1 ? '' : 's'}` : ''].filter((x) => x !== '');
    parts.push(`the ${cohort} cohort (${what.join(' and ')})`);
  }
  if (parts.length === 0) return undefined;
  return {
    kind: 'hold',
    requiresPerson: true,
    trigger: 'dropped',
    reason: `Holding: incomplete data: SDKs reported dropping data of ${parts.join(' and ')} in this stage, so its counts are short and cannot be decided on; give the SDKs more room (metrics.maxQueue) and resume.`,
    evidence: decision.evidence,
    health: 'yellow',
    waitingFor: [{ kind: 'resume' }],
  };
}

/**
 * An experiment stage's groups against their weights: within the treatment,
 * each group should hold its weight's share of the assigned contexts.
 */
export function groupSrmCheck(plan: Plan, state: RolloutState, observations: Observations, options: SrmOptions = {}): SrmHold | undefined {
  const experiment = plan.stages[state.stageIndex]?.experiment;
  const assigned = observations.assignments?.variants;
  if (experiment === undefined || assigned === undefined) return undefined;
  const srm = groupSrm(experiment, assigned, options);
  if (!srm.mismatch) return undefined;
  const shares = experiment.groups.map((g, i) => `${g.variation} ${percent(srm.observedShares[i] ?? 0)} (expected ${percent(srm.expectedShares[i] ?? 0)})`).join(', ');
  return srmHold(srm, `the experiment's groups do not match their weights: ${shares}`, 'groups');
}
