/**
 * The guard: `decide` with comparative gates judged by always-valid
 * sequential tests and the stage's cohort sizes checked against its split.
 * The controller calls this every tick; bench/guard measures it.
 */
import { decide } from '../rollouts/decide.js';
import type { Decision, Observations, Plan, RolloutState } from '../rollouts/types.js';
import { sequentialGateAssessor, type SequentialGateAssessorOptions } from './gate-assessor.js';
import { preferSrmHold, srmCheck, type SrmOptions } from './srm.js';

/** Options of {@link guardedDecide}. */
export interface GuardOptions {
  /** Options of the sequential gate assessor (`plan` is filled in). */
  sequential?: Omit<SequentialGateAssessorOptions, 'plan'>;
  /** Options of the sample-ratio check; `false` turns it off. */
  srm?: SrmOptions | false;
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
  const decision = decide(plan, state, observations, now, { assessGate });
  if (options.srm === false || state.status !== 'running') return decision;
  const a = observations.assignments;
  if (a === undefined) return decision;
  const resumedThisStage = typeof state.resumedAt === 'number' && state.resumedAt >= state.stageStartedAt;
  if (resumedThisStage) return decision;
  const share = expectedTreatmentShare(plan, state);
  return preferSrmHold(decision, srmCheck({ treatment: a.treatment, control: a.control, expectedTreatmentShare: share }, options.srm ?? {}));
}
