/**
 * The guard: `decide` with comparative gates judged by always-valid
 * sequential tests and the stage's cohort sizes checked against its split.
 * The controller calls this every tick; bench/guard measures it.
 */
import { decide } from '../rollouts/decide.js';
import type { Decision, MetricDefinition, Observations, Plan, RolloutState } from '../rollouts/types.js';
import { sequentialGateAssessor, type SequentialGateAssessorOptions } from './gate-assessor.js';
import { preferSrmHold, sequentialSrmTest, srmCheck, type SrmHold, type SrmOptions } from './srm.js';

/** Options of {@link guardedDecide}. */
export interface GuardOptions {
  /** Options of the sequential gate assessor (`plan` is filled in). */
  sequential?: Omit<SequentialGateAssessorOptions, 'plan'>;
  /** Options of the sample-ratio check; `false` turns it off. */
  srm?: SrmOptions | false;
  /** Metric definitions (the catalog and a project's own metrics); default the built-in catalog. */
  catalog?: readonly MetricDefinition[];
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
 * `decide` with the sequential assessor, then the SRM check. A rollback or
 * disable from the gates stands (it rests on the treatment's own numbers);
 * otherwise a mismatch of the cohorts' sizes holds the rollout for a person
 * with "assignment problem". The check runs while the stage is running and
 * until a person resumes it in this stage (the resume acknowledges it).
 *
 * @example
 * guardedDecide(plan, state, { metrics, assignments: { treatment: 1200, control: 8800 } }, now).kind; // 'hold' when the split is 10/90
 */
export function guardedDecide(plan: Plan, state: RolloutState, observations: Observations, now: number, options: GuardOptions = {}): Decision {
  const assessGate = sequentialGateAssessor({ ...options.sequential, plan });
  const decision = decide(plan, state, observations, now, options.catalog === undefined ? { assessGate } : { assessGate, catalog: options.catalog });
  if (options.srm === false || state.status !== 'running') return decision;
  const a = observations.assignments;
  if (a === undefined) return decision;
  const resumedThisStage = typeof state.resumedAt === 'number' && state.resumedAt >= state.stageStartedAt;
  if (resumedThisStage) return decision;
  const share = expectedTreatmentShare(plan, state);
  const srmOptions = options.srm ?? {};
  const cohorts = srmCheck({ treatment: a.treatment, control: a.control, expectedTreatmentShare: share }, srmOptions);
  return preferSrmHold(decision, cohorts ?? groupSrmCheck(plan, state, observations, srmOptions));
}

const percent = (x: number): string => `${String(Math.round(x * 1000) / 10)}%`;

/**
 * An experiment stage's groups against their weights: within the treatment,
 * each group should hold its weight's share of the assigned contexts.
 */
export function groupSrmCheck(plan: Plan, state: RolloutState, observations: Observations, options: SrmOptions = {}): SrmHold | undefined {
  const experiment = plan.stages[state.stageIndex]?.experiment;
  const assigned = observations.assignments?.variants;
  if (experiment === undefined || assigned === undefined) return undefined;
  const srm = sequentialSrmTest(
    experiment.groups.map((g) => assigned[g.variation] ?? 0),
    experiment.groups.map((g) => g.weight),
    options,
  );
  if (!srm.mismatch) return undefined;
  const p = srm.pValue < 1e-6 ? srm.pValue.toExponential(1) : String(Math.round(srm.pValue * 1e6) / 1e6);
  const shares = experiment.groups.map((g, i) => `${g.variation} ${percent(srm.observedShares[i] ?? 0)} (expected ${percent(srm.expectedShares[i] ?? 0)})`).join(', ');
  return {
    kind: 'hold',
    requiresPerson: true,
    trigger: 'srm',
    reason: `Holding: assignment problem: the experiment's groups do not match their weights: ${shares} (sequential SRM test p = ${p} <= ${String(srm.alpha)}); every comparison between the groups is suspect until the assignment is fixed.`,
    evidence: { gates: [], matrices: [] },
    health: 'yellow',
    waitingFor: [{ kind: 'resume' }],
    srm,
  };
}
