/**
 * Experiments in rollout decisions: a decision that ends an experiment stage
 * carries the experiment's final analysis in its evidence (and says who won),
 * and a stage that serves an experiment's winner is entered with that
 * variation, or waits for a person to choose one when there is no winner.
 */
import type { Decision, Observations, Plan, RolloutState, StageServe } from '../rollouts/types.js';
import { metricsReadBy } from '../rollouts/validate-plan.js';
import { listInWords } from '../rollouts/internal/format.js';
import { analyzeExperiment, experimentWinner, type ExperimentOptions, type ExperimentOutcome } from './experiment.js';

/**
 * The current stage's experiment analysed on `observations`, with its winner;
 * undefined when the stage runs no experiment.
 *
 * @example
 * experimentOutcome(SEED_002_AB_EXPERIMENT, running(1, t0), observations)?.winner; // 'choice'
 */
export function experimentOutcome(plan: Plan, state: RolloutState, observations: Observations, options: ExperimentOptions = {}): ExperimentOutcome | undefined {
  const index = state.stageIndex;
  const stage = plan.stages[index];
  if (stage?.experiment === undefined) return undefined;
  const result = analyzeExperiment(stage.experiment, metricsReadBy(stage), observations, options);
  return { stageIndex: index, stageId: stage.id, stageName: stage.name, ...result, ...experimentWinner(result) };
}

function serveAt(plan: Plan, index: number): StageServe | undefined {
  for (let i = Math.min(index, plan.stages.length - 1); i >= 0; i--) {
    const serve = plan.stages[i]?.serve;
    if (serve !== undefined) return serve;
  }
  return undefined;
}

/**
 * The variation stage `index` serves: the `serve` of that stage or the
 * latest earlier one that has one (an experiment's winner as recorded in
 * `state.experiments`), else `rolloutVariation`.
 *
 * @example
 * stageVariation(SEED_002_AB_EXPERIMENT, { ...state, experiments: [{ stageId: 'controlled', chosen: 'choice', ... }] }, 2, 'automatic'); // 'choice'
 */
export function stageVariation(plan: Plan, state: Pick<RolloutState, 'experiments'>, index: number, rolloutVariation: string): string {
  const serve = serveAt(plan, index);
  if (serve === undefined) return rolloutVariation;
  if (serve.variation !== undefined) return serve.variation;
  return state.experiments?.find((e) => e.stageId === serve.experimentWinner)?.chosen ?? rolloutVariation;
}

const ENDS_STAGE: ReadonlySet<Decision['kind']> = new Set(['advance', 'complete', 'rollback', 'disable']);

/**
 * `decision` with the experiment's final analysis when it ends an experiment
 * stage, and, when it advances to a stage that serves an experiment's
 * winner, that variation; with no winner and no person's choice (an advance
 * request naming one of the groups), it awaits that choice instead.
 */
export function withExperimentOutcome(plan: Plan, state: RolloutState, observations: Observations, decision: Decision, options: ExperimentOptions = {}): Decision {
  const outcome = ENDS_STAGE.has(decision.kind) ? experimentOutcome(plan, state, observations, options) : undefined;
  let d: Decision = decision;
  if (outcome !== undefined) {
    d = { ...d, evidence: { ...d.evidence, experiment: outcome }, reason: `${d.reason.trim()} Experiment of ${JSON.stringify(outcome.stageName)}: ${outcome.verdict}.` };
  }
  if (d.kind !== 'advance') return d;
  const next = plan.stages[d.toStage];
  const sourceId = next?.serve?.experimentWinner;
  if (next === undefined || sourceId === undefined || next.serve?.variation !== undefined) return d;
  const source = plan.stages.find((s) => s.id === sourceId);
  const choices = (source?.experiment?.groups ?? []).map((g) => g.variation);
  const record = state.experiments?.find((e) => e.stageId === sourceId);
  const request = state.advanceRequest;
  const asked = request !== undefined && request.at >= state.stageStartedAt && typeof request.variation === 'string' && choices.includes(request.variation) ? request : undefined;
  const found = outcome?.stageId === sourceId ? outcome : record;
  const chosen = asked?.variation ?? (outcome?.stageId === sourceId ? outcome.winner : (record?.chosen ?? record?.winner));
  const sourceName = JSON.stringify(source?.name ?? sourceId);
  if (chosen !== undefined) {
    const why = asked !== undefined ? `chosen by ${asked.name ?? asked.by}` : `the winner of the experiment of ${sourceName}`;
    return { ...d, variation: chosen, reason: `${d.reason.trim()} ${JSON.stringify(next.name)} serves ${JSON.stringify(chosen)}, ${why}.` };
  }
  const why = found === undefined ? `the experiment of ${sourceName} has no analysis` : `the experiment of ${sourceName} has ${found.verdict}`;
  return {
    kind: 'await_approval',
    reason: `Ready to advance to ${JSON.stringify(next.name)}, which serves the experiment's winner, but ${why}. A person chooses what it serves: one of ${listInWords(choices.map((c) => JSON.stringify(c)))} (advance with {"variation": ...}).`,
    evidence: d.evidence,
    health: d.health,
    waitingFor: [{ kind: 'variation', stageId: sourceId, choices }],
  };
}

/** How a stage ended, for {@link recordExperiments}. */
export interface StageEnding {
  /** The decision or action that ended it (`advance`, `rollback`, `abort`...). */
  kind: string;
  /** The ended stage's experiment analysed at that moment. */
  outcome?: ExperimentOutcome;
  /** Advances: the stage entered and the variation it serves. */
  toStage?: number;
  variation?: string;
}

/**
 * `state.experiments` after a stage ended: the ended stage's final analysis
 * kept (replacing an earlier run of the same stage), and the variation the
 * entered stage serves recorded as the choice of the experiment it names,
 * with who chose it when it is not the winner. Undefined when nothing changes.
 *
 * @example
 * recordExperiments(plan, state, { kind: 'advance', outcome, toStage: 2, variation: 'choice' }, now)?.at(-1)?.chosen; // 'choice'
 */
export function recordExperiments(plan: Plan, state: RolloutState, ending: StageEnding, now: number): RolloutState['experiments'] {
  let list = [...(state.experiments ?? [])];
  let changed = false;
  const outcome = ending.outcome;
  if (outcome !== undefined) {
    list = list.filter((e) => e.stageId !== outcome.stageId);
    list.push({ ...outcome, endedAt: now, endedBy: ending.kind, ...(outcome.winner !== undefined ? { chosen: outcome.winner } : {}) });
    changed = true;
  }
  const sourceId = ending.toStage === undefined ? undefined : plan.stages[ending.toStage]?.serve?.experimentWinner;
  if (ending.variation !== undefined && sourceId !== undefined) {
    const request = state.advanceRequest;
    const by = request?.variation === ending.variation ? (request.name ?? request.by) : undefined;
    list = list.map((e) => {
      if (e.stageId !== sourceId || (e.chosen === ending.variation && by === undefined)) return e;
      changed = true;
      return { ...e, chosen: ending.variation as string, ...(by !== undefined ? { chosenBy: by } : {}) };
    });
  }
  return changed ? list : undefined;
}
