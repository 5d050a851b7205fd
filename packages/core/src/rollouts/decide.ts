/**
 * The rollout decision. The controller calls `decide` every tick with the
 * stored state and fresh observations and applies the one decision it returns
 * (CONVENTIONS.md 2: decide, then apply). `decide` is pure, total and
 * deterministic: the same inputs always give the same decision, and no input
 * makes it throw.
 *
 * Precedence (docs/rollouts.md explains each step):
 *  1. draft and terminal states: none;
 *  2. rollback triggers, matrix rollback/disable bands and a person's no-go act at once, even while held;
 *  3. held: none until a person resumes;
 *  4. alert thresholds: escalate, then wait for a person's go/no-go;
 *  5. maximum duration exceeded: the stage's onTimeout;
 *  6. missing data: hold;
 *  7. too few samples: hold;
 *  8. success criteria failing or not yet sustained;
 *  9. minimum duration not elapsed: none;
 * 10. checklist incomplete, 11. approvals missing: await_approval;
 * 12. advance, or complete after the last stage.
 */
import type {
  ApprovalRecord,
  ApproverRole,
  BreachAction,
  Decision,
  Evidence,
  Gate,
  GateAssessor,
  GateResult,
  Health,
  MatrixResult,
  MetricDefinition,
  Observations,
  Plan,
  RolloutState,
  RolloutSummary,
  Stage,
  WaitingFor,
} from './types.js';
import { assessGate } from './assess-gate.js';
import { assessMatrix } from './assess-matrix.js';
import { METRIC_CATALOG, metricDefinition } from './metrics-catalog.js';
import { DAY, formatDuration, formatNumber, listInWords } from './internal/format.js';

/** Options of {@link decide}. */
export interface DecideOptions {
  /** Replaces the point-estimate assessor (e.g. with sequential tests for comparative gates). */
  assessGate?: GateAssessor;
  /** Metric definitions for units in reasons; default the built-in catalog. */
  catalog?: readonly MetricDefinition[];
}

const ROLE_RANK: Readonly<Record<ApproverRole, number>> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Breach actions from least to most severe; when several fire, the most severe wins. */
const ACTION_SEVERITY: Readonly<Record<Exclude<BreachAction, 'escalate'>, number>> = {
  hold: 1,
  rollback_previous: 2,
  rollback_zero: 3,
  disable: 4,
};

type Act = Exclude<BreachAction, 'escalate'>;

interface Trigger {
  action: Act;
  /** Gate or matrix id, or `go/no-go`. */
  source: string;
  text: string;
}

interface Context {
  plan: Plan;
  state: RolloutState;
  stage: Stage;
  now: number;
  elapsed: number;
  evidence: Evidence;
  baseHealth: Health;
}

const EMPTY_EVIDENCE: Evidence = Object.freeze({ gates: Object.freeze([]), matrices: Object.freeze([]) }) as Evidence;

function arrayOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function worse(a: Health, b: Health): Health {
  const rank = { green: 0, yellow: 1, red: 2 } as const;
  return rank[b] > rank[a] ? b : a;
}

function sentence(text: string): string {
  const t = text.trim();
  return t.endsWith('.') ? t : `${t}.`;
}

function stageLabel(stage: Stage, index: number, count: number): string {
  return `stage ${index + 1} of ${count} (${JSON.stringify(stage.name)})`;
}

/**
 * Decides what a rollout should do now.
 *
 * @param plan the plan the rollout runs (the version it was started with)
 * @param state the stored rollout state
 * @param observations per metric, the current stage's aggregates and series
 * @param now epoch milliseconds
 *
 * @example
 * const d = decide(SEED_001_STAGED_ROLLOUT, state, { metrics: { 'error-rate': { treatment: { value: 6, samples: 5000 }, control: { value: 0.4, samples: 5000 } } } }, now);
 * d.kind;   // 'rollback'
 * d.reason; // 'Rolling back to 0%: error-rate 6% breaches > 5% over the stage (rollback trigger auto-error-rate; ...).'
 */
export function decide(plan: Plan, state: RolloutState, observations: Observations, now: number, options: DecideOptions = {}): Decision {
  try {
    return withMonitoring(decideOrThrow(plan, state, observations, now, options));
  } catch (error) {
    // Only malformed input that validation would have refused gets here; a
    // person must look, and nothing moves meanwhile.
    return {
      kind: 'hold',
      requiresPerson: true,
      reason: `Could not decide: ${error instanceof Error ? error.message : String(error)}. Check the plan with validatePlan.`,
      evidence: EMPTY_EVIDENCE,
      health: 'yellow',
      waitingFor: [{ kind: 'resume' }],
    };
  }
}

/**
 * A matrix band in "monitor" turns the rollout yellow without acting; the
 * reason says which band, value and thresholds did it, whatever else it says.
 */
function withMonitoring(decision: Decision): Decision {
  if (decision.kind === 'rollback' || decision.kind === 'disable') return decision;
  const texts = monitoringTexts(decision.evidence).filter((t) => !decision.reason.includes(t));
  if (texts.length === 0) return decision;
  return { ...decision, reason: `${decision.reason.trim()} Monitoring: ${texts.join('; ')}.` };
}

/**
 * What the matrices in a "monitor" band say (band, value and thresholds), one
 * phrase each; empty when none is.
 *
 * @example
 * monitoringTexts(decision.evidence); // ['error-rate 0.3% is at or above 0.1% and under 0.5% (band "Minor"): monitor (matrix error-rate-matrix; samples: treatment 5000)']
 */
export function monitoringTexts(evidence: Evidence): string[] {
  return arrayOf(evidence?.matrices)
    .filter((m) => m.action === 'monitor')
    .map((m) => m.summary.replace(/\.$/, ''));
}

function decideOrThrow(plan: Plan, state: RolloutState, observations: Observations, now: number, options: DecideOptions): Decision {
  const status = state?.status;
  switch (status) {
    case 'completed':
      return { kind: 'none', reason: 'The rollout is completed; nothing to decide.', evidence: EMPTY_EVIDENCE, health: 'green', waitingFor: [] };
    case 'rolled_back':
      return {
        kind: 'none',
        reason: 'The rollout was rolled back; restart it to run the plan again.',
        evidence: EMPTY_EVIDENCE,
        health: 'red',
        waitingFor: [],
      };
    case 'aborted':
      return { kind: 'none', reason: 'The rollout was aborted; nothing to decide.', evidence: EMPTY_EVIDENCE, health: 'yellow', waitingFor: [] };
    case 'draft': {
      const missing = missingItems(plan?.preStartChecklist, state, -Infinity);
      const waitingFor: WaitingFor[] = [{ kind: 'start' }];
      if (missing.length > 0) waitingFor.push({ kind: 'checklist', itemIds: missing.map((i) => i.id) });
      const reason =
        missing.length > 0
          ? `The rollout has not started; the pre-start checklist still needs: ${listInWords(missing.map((i) => JSON.stringify(i.text)))}.`
          : 'The rollout has not started; the pre-start checklist is complete.';
      return { kind: 'none', reason, evidence: EMPTY_EVIDENCE, health: 'green', waitingFor };
    }
    case 'running':
    case 'held':
    case 'awaiting_approval':
      break;
    default:
      return structural(`unknown rollout status ${JSON.stringify(status)}`);
  }
  if (!isFiniteNumber(now)) return structural('the current time is not a number');
  const stages = arrayOf(plan?.stages);
  const index = state.stageIndex;
  const stage = Number.isInteger(index) && index >= 0 ? stages[index] : undefined;
  if (!stage) {
    return structural(`stage index ${String(index)} is not one of the ${stages.length} stages of plan ${JSON.stringify(plan?.id)}`);
  }
  const stageStartedAt = isFiniteNumber(state.stageStartedAt) ? state.stageStartedAt : now;
  const elapsed = Math.max(0, now - stageStartedAt);
  const minSamples = Math.max(1, isFiniteNumber(stage.minSamples) ? stage.minSamples : 1);
  const catalog = options.catalog ?? METRIC_CATALOG;
  const assessor = options.assessGate ?? assessGate;
  const metrics = observations?.metrics ?? {};

  const gates = arrayOf(stage.gates);
  const gateResults = gates.map((gate) => safeAssess(assessor, gate, metrics, minSamples, stageStartedAt, now, catalog));
  const matrixResults = arrayOf(stage.matrices).map((m) => assessMatrix(m, { metrics }, minSamples, catalog));
  const evidence: Evidence = {
    stage: {
      index,
      id: stage.id,
      name: stage.name,
      elapsedMs: elapsed,
      minDuration: stage.minDuration,
      ...(stage.maxDuration !== undefined ? { maxDuration: stage.maxDuration } : {}),
    },
    gates: gateResults,
    matrices: matrixResults,
  };

  const escalations = arrayOf(state.escalations).filter((e) => isFiniteNumber(e?.raisedAt) && e.raisedAt >= stageStartedAt);
  const acknowledged = new Set(escalations.filter((e) => e.decision?.verdict === 'go').flatMap((e) => arrayOf(e.gateIds)));
  const pending = escalations.filter((e) => e.decision === undefined);
  const breachedAlerts = gateResults.filter((r) => r.role === 'alert' && r.verdict === 'fail');
  let baseHealth: Health = 'green';
  if (breachedAlerts.length > 0 || pending.length > 0 || matrixResults.some((m) => m.action === 'monitor')) baseHealth = 'yellow';
  const ctx: Context = { plan, state, stage, now, elapsed, evidence, baseHealth };
  const gateById = new Map(gates.map((g) => [g.id, g] as const));
  // A person's resume during this stage acknowledges the hold actions and the timeout that led to it.
  const resumedThisStage = isFiniteNumber(state.resumedAt) && state.resumedAt >= stageStartedAt;

  // 2. Rollback triggers, matrix bands and a no-go act at once, even while held.
  const triggers: Trigger[] = [];
  for (const r of gateResults) {
    if (r.role !== 'rollback' || r.verdict !== 'fail') continue;
    const action = breachAction(gateById.get(r.gateId));
    if (action === 'escalate') continue; // handled with the alerts
    if (action === 'hold' && (status === 'held' || resumedThisStage)) continue;
    triggers.push({ action, source: r.gateId, text: r.summary });
  }
  for (const m of matrixResults) {
    if (m.action === 'disable') triggers.push({ action: 'disable', source: m.matrixId, text: m.summary });
    if (m.action === 'rollback') {
      const to = arrayOf(stage.matrices).find((x) => x.id === m.matrixId)?.rollbackTo === 'previous' ? 'rollback_previous' : 'rollback_zero';
      triggers.push({ action: to, source: m.matrixId, text: m.summary });
    }
  }
  for (const e of escalations) {
    if (e.decision?.verdict !== 'no_go') continue;
    const action: Act = e.decision.action ?? 'rollback_zero';
    if (action === 'hold' && (status === 'held' || resumedThisStage)) continue;
    const comment = e.decision.comment ? `: ${JSON.stringify(e.decision.comment)}` : '';
    triggers.push({ action, source: 'go/no-go', text: `${e.decision.name ?? e.decision.by} decided no-go on ${listInWords(arrayOf(e.gateIds).map(String))}${comment}` });
  }
  if (triggers.length > 0) return act(ctx, triggers);

  // 3. Held: nothing moves until a person resumes.
  if (status === 'held') {
    const by = state.heldBy ? ` by ${state.heldByName ?? state.heldBy}` : '';
    const since = isFiniteNumber(state.heldAt) ? ` for ${formatDuration(now - state.heldAt)}` : '';
    const why = state.heldReason ? `: ${state.heldReason}` : '';
    return {
      kind: 'none',
      reason: sentence(`Held${by}${since}${why}; resume to continue ${stageLabel(stage, index, stages.length)}`),
      evidence,
      health: worse(baseHealth, 'yellow'),
      waitingFor: [{ kind: 'resume' }],
    };
  }

  const request = state.advanceRequest;
  const requested = request !== undefined && isFiniteNumber(request.at) && request.at >= stageStartedAt;
  const forced = requested && request?.force === true && request.role === 'admin';

  // 4. Alert thresholds.
  const alertTriggers: Trigger[] = [];
  const toEscalate: string[] = [];
  for (const r of breachedAlerts) {
    const action = breachAction(gateById.get(r.gateId));
    if (action === 'escalate') {
      if (!acknowledged.has(r.gateId) && !pending.some((e) => arrayOf(e.gateIds).includes(r.gateId))) toEscalate.push(r.gateId);
    } else if (!(action === 'hold' && resumedThisStage)) {
      alertTriggers.push({ action, source: r.gateId, text: r.summary });
    }
  }
  // Rollback gates whose action is escalate behave like alerts.
  for (const r of gateResults) {
    if (r.role === 'rollback' && r.verdict === 'fail' && breachAction(gateById.get(r.gateId)) === 'escalate') {
      if (!acknowledged.has(r.gateId) && !pending.some((e) => arrayOf(e.gateIds).includes(r.gateId))) toEscalate.push(r.gateId);
    }
  }
  if (alertTriggers.length > 0) return act(ctx, alertTriggers);
  if (toEscalate.length > 0) {
    const texts = gateResults.filter((r) => toEscalate.includes(r.gateId)).map((r) => r.summary);
    return {
      kind: 'escalate',
      gateIds: toEscalate,
      reason: `A person must decide go or no-go: ${texts.map((t) => t.replace(/\.$/, '')).join('; ')}.`,
      evidence,
      health: 'yellow',
      waitingFor: [{ kind: 'decision', gateIds: toEscalate }],
    };
  }
  if (pending.length > 0 && !forced) {
    const ids = pending.flatMap((e) => arrayOf(e.gateIds));
    const raised = Math.min(...pending.map((e) => e.raisedAt));
    return {
      kind: 'none',
      reason: `Waiting for a person's go/no-go on ${listInWords(ids)} (escalated ${formatDuration(now - raised)} ago); the rollout does not advance meanwhile.`,
      evidence,
      health: 'yellow',
      waitingFor: [{ kind: 'decision', gateIds: ids }],
    };
  }

  // 5. Maximum duration. Before the data checks, so that a stage whose data
  // never arrives still times out instead of waiting forever.
  const max = stage.maxDuration;
  if (!forced && isFiniteNumber(max) && elapsed >= max) {
    const acknowledgedTimeout = isFiniteNumber(state.resumedAt) && state.resumedAt >= stageStartedAt + max;
    if (!acknowledgedTimeout) {
      const text = `${stageLabel(stage, index, stages.length)} has run ${formatDuration(elapsed)}, past its maximum of ${formatDuration(max)} without advancing`;
      if (stage.onTimeout === 'rollback') return act(ctx, [{ action: 'rollback_previous', source: 'maxDuration', text }]);
      return {
        kind: 'hold',
        requiresPerson: true,
        trigger: 'maxDuration',
        reason: sentence(`${capitalize(text)}; a person must look${blockersText(gateResults, matrixResults)}`),
        evidence,
        health: 'yellow',
        waitingFor: [{ kind: 'resume' }],
      };
    }
  }

  // 6. Missing data: never advance on silence.
  const noData: WaitingFor[] = [];
  for (const r of gateResults) {
    if (r.verdict === 'no_data') pushUnique(noData, { kind: 'data', metric: r.metric, cohort: r.shortfall?.cohort ?? 'treatment' });
  }
  for (const m of matrixResults) {
    if (m.verdict === 'no_data') pushUnique(noData, { kind: 'data', metric: m.shortfall?.metric ?? m.metric, cohort: 'treatment' });
  }
  if (noData.length > 0) {
    // One phrase per cohort keeps the sentence readable when a whole source is silent.
    const phrases = (['treatment', 'control'] as const)
      .map((cohort) => {
        const names = noData.flatMap((w) => (w.kind === 'data' && w.cohort === cohort ? [w.metric] : []));
        return names.length > 0 ? `no data for ${listInWords(names)} in the ${cohort} cohort` : '';
      })
      .filter((p) => p !== '');
    return {
      kind: 'hold',
      requiresPerson: false,
      reason: sentence(`Holding: ${phrases.join('; ')}; no data is not healthy`),
      evidence,
      health: 'yellow',
      waitingFor: noData,
    };
  }

  // 7. Too few samples for a verdict.
  const samples: WaitingFor[] = [];
  const sampleTexts: string[] = [];
  for (const r of gateResults) {
    const s = r.shortfall;
    if (r.verdict === 'inconclusive' && s?.reason === 'samples') {
      pushUnique(samples, { kind: 'samples', metric: r.metric, cohort: s.cohort, samples: s.samples ?? 0, required: s.required ?? minSamples });
      sampleTexts.push(`${r.metric} has ${formatNumber(s.samples ?? 0)} of ${formatNumber(s.required ?? minSamples)} ${s.cohort} samples`);
    }
  }
  for (const m of matrixResults) {
    const s = m.shortfall;
    if (m.verdict === 'inconclusive' && s?.reason === 'samples') {
      pushUnique(samples, { kind: 'samples', metric: s.metric, cohort: s.cohort, samples: s.samples ?? 0, required: s.required ?? minSamples });
      sampleTexts.push(`${s.metric} has ${formatNumber(s.samples ?? 0)} of ${formatNumber(s.required ?? minSamples)} ${s.cohort} samples`);
    }
  }
  if (samples.length > 0) {
    return {
      kind: 'hold',
      requiresPerson: false,
      reason: sentence(`Holding for enough samples: ${listInWords(uniqueStrings(sampleTexts))}`),
      evidence,
      // Waiting for samples is how every stage begins; it is a concern only once the minimum duration has passed.
      health: elapsed >= stage.minDuration ? worse(baseHealth, 'yellow') : baseHealth,
      waitingFor: samples,
    };
  }

  // 8. Success criteria.
  const success = gateResults.filter((r) => r.role === 'success');
  const failing = success.filter((r) => r.verdict === 'fail');
  const unsettled = success.filter((r) => r.verdict === 'inconclusive');
  if (!forced && failing.length > 0) {
    return {
      kind: 'hold',
      requiresPerson: false,
      reason: sentence(`Holding: ${failing.map((r) => r.summary.replace(/\.$/, '')).join('; ')}`),
      evidence,
      health: worse(baseHealth, 'yellow'),
      waitingFor: [{ kind: 'criteria', gateIds: failing.map((r) => r.gateId) }],
    };
  }
  if (!forced && unsettled.length > 0) {
    const waitingFor: WaitingFor[] = [{ kind: 'criteria', gateIds: unsettled.map((r) => r.gateId) }];
    if (elapsed < stage.minDuration) waitingFor.push({ kind: 'time', remainingMs: stage.minDuration - elapsed });
    return {
      kind: 'none',
      reason: sentence(`Waiting: ${unsettled.map((r) => r.summary.replace(/\.$/, '')).join('; ')}`),
      evidence,
      health: baseHealth,
      waitingFor,
    };
  }

  // 9. Minimum duration; an advance request skips the rest of it.
  if (!requested && elapsed < stage.minDuration) {
    const remaining = stage.minDuration - elapsed;
    return {
      kind: 'none',
      reason: `${capitalize(stageLabel(stage, index, stages.length))} has run ${formatDuration(elapsed)} of its minimum ${formatDuration(stage.minDuration)}; ${formatDuration(remaining)} to go. ${healthText(gateResults, matrixResults)}`,
      evidence,
      health: baseHealth,
      waitingFor: [{ kind: 'time', remainingMs: remaining }],
    };
  }

  const last = index === stages.length - 1;
  const next = last ? undefined : stages[index + 1];
  const moving = last ? 'complete the rollout' : `advance to ${JSON.stringify(next?.name)}`;

  // 10. Checklist.
  if (!forced) {
    const missing = missingItems(stage.checklist, state, stageStartedAt);
    if (missing.length > 0) {
      return {
        kind: 'await_approval',
        reason: `Ready to ${moving} once the go/no-go checklist is ticked: ${listInWords(missing.map((i) => JSON.stringify(i.text)))} (${missing.length} of ${arrayOf(stage.checklist).filter((i) => i.required !== false).length} required items open).`,
        evidence,
        health: baseHealth,
        waitingFor: [{ kind: 'checklist', itemIds: missing.map((i) => i.id) }],
      };
    }
  }

  // 11. Approvals.
  const requirement = stage.approvals;
  if (!forced && requirement !== undefined && requirement !== null) {
    const tally = tallyApprovals(state.approvals, state.startedBy, requirement.role, stageStartedAt);
    const required = Math.max(1, isFiniteNumber(requirement.count) ? requirement.count : 1);
    if (tally.rejections.length > 0 || tally.approvers.length < required) {
      const parts: string[] = [];
      if (tally.rejections.length > 0) {
        parts.push(
          `rejected by ${listInWords(tally.rejections.map((r) => (r.comment ? `${r.name ?? r.by} (${JSON.stringify(r.comment)})` : (r.name ?? r.by))))}`,
        );
      }
      parts.push(`${tally.approvers.length} of ${required} approvals from ${/^[aeiou]/.test(requirement.role) ? 'an' : 'a'} ${requirement.role} or above`);
      if (tally.ignoredStarter) parts.push(`${state.startedByName ?? state.startedBy} started the rollout and cannot approve it`);
      return {
        kind: 'await_approval',
        reason: sentence(`Ready to ${moving}; ${parts.join('; ')}`),
        evidence,
        health: baseHealth,
        waitingFor: [{ kind: 'approval', approvals: tally.approvers.length, required, role: requirement.role }],
      };
    }
  }

  // 12. Advance or complete.
  const overrides = forced ? ` Forced by ${request?.name ?? request?.by} (admin): remaining wait, unmet criteria, checklist and approvals are overridden.` : '';
  const early = requested && !forced && elapsed < stage.minDuration ? ` ${request?.name ?? request?.by} asked to skip the remaining ${formatDuration(stage.minDuration - elapsed)}.` : '';
  const passed = `${healthText(gateResults, matrixResults)}${early}${overrides}`;
  if (last) {
    return {
      kind: 'complete',
      forced,
      reason: `Completing the rollout${partialText(stage)}: ${stageLabel(stage, index, stages.length)} ran ${formatDuration(elapsed)}. ${passed}`.trim(),
      evidence,
      health: baseHealth,
      waitingFor: [],
    };
  }
  return {
    kind: 'advance',
    toStage: index + 1,
    forced,
    reason: `Advancing to stage ${index + 2} of ${stages.length} (${JSON.stringify(next?.name)}${audienceText(next)}) after ${formatDuration(elapsed)}. ${passed}`.trim(),
    evidence,
    health: baseHealth,
    waitingFor: [],
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function uniqueStrings(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function pushUnique(list: WaitingFor[], item: WaitingFor): void {
  const key = JSON.stringify(item);
  if (!list.some((x) => JSON.stringify(x) === key)) list.push(item);
}

/** Said when the last stage serves less than everyone: completing leaves the flag there. */
function partialText(stage: Stage): string {
  const pct = isFiniteNumber(stage.audience?.percentage) ? stage.audience.percentage : 0;
  return pct < 100 ? ` at ${audienceText(stage).slice(2)} (the plan's last stage serves less than everyone, and the flag stays so)` : '';
}

function audienceText(stage: Stage | undefined): string {
  if (!stage) return '';
  const parts: string[] = [];
  const segments = arrayOf(stage.audience?.segments);
  if (segments.length > 0) parts.push(listInWords([...segments]));
  if (isFiniteNumber(stage.audience?.percentage)) parts.push(`${formatNumber(stage.audience.percentage)}%`);
  return parts.length > 0 ? `: ${parts.join(' + ')}` : '';
}

/** Gates and rollback matrices are counted apart: a matrix is not a gate. */
function healthText(gates: readonly GateResult[], matrices: readonly MatrixResult[]): string {
  if (gates.length + matrices.length === 0) return 'The stage has no gates.';
  const parts: string[] = [];
  if (gates.length > 0) parts.push(`${gates.filter((g) => g.verdict === 'pass').length} of ${gates.length} ${gates.length === 1 ? 'gate passes' : 'gates pass'}`);
  if (matrices.length > 0) {
    const calm = matrices.filter((m) => m.action === 'continue').length;
    parts.push(`${calm} of ${matrices.length} rollback ${matrices.length === 1 ? 'matrix says' : 'matrices say'} continue`);
  }
  return `${capitalize(parts.join('; '))}.`;
}

function blockersText(gates: readonly GateResult[], matrices: readonly MatrixResult[]): string {
  const open = [
    ...gates.filter((g) => g.verdict !== 'pass').map((g) => g.summary.replace(/\.$/, '')),
    ...matrices.filter((m) => m.action !== 'continue' || m.verdict === 'no_data').map((m) => m.summary.replace(/\.$/, '')),
  ];
  return open.length > 0 ? `: ${open.join('; ')}` : '';
}

function breachAction(gate: Gate | undefined): BreachAction {
  if (gate?.onBreach !== undefined) return gate.onBreach;
  return gate?.role === 'alert' ? 'escalate' : 'rollback_zero';
}

function safeAssess(
  assessor: GateAssessor,
  gate: Gate,
  metrics: Observations['metrics'],
  minSamples: number,
  stageStartedAt: number,
  now: number,
  catalog: readonly MetricDefinition[],
): GateResult {
  try {
    const definition = metricDefinition(gate.metric, catalog);
    const input = { observation: metrics[gate.metric], minSamples, stageStartedAt, now, ...(definition ? { definition } : {}) };
    return assessor(gate, input);
  } catch (error) {
    // An assessor that fails knows nothing: treat it as no data, which holds.
    return {
      gateId: gate?.id,
      metric: gate?.metric,
      role: gate?.role,
      condition: gate?.condition,
      verdict: 'no_data',
      shortfall: { cohort: 'treatment', reason: 'no_data' },
      method: 'error',
      summary: `Gate ${gate?.id} could not be assessed: ${error instanceof Error ? error.message : String(error)}.`,
    };
  }
}

/** Turns the most severe of several triggers into a decision. */
function act(ctx: Context, triggers: readonly Trigger[]): Decision {
  const sorted = [...triggers].sort((a, b) => ACTION_SEVERITY[b.action] - ACTION_SEVERITY[a.action]);
  const top = sorted[0] as Trigger;
  const others = sorted.slice(1).map((t) => t.text.replace(/\.$/, ''));
  const also = others.length > 0 ? ` Also: ${others.join('; ')}.` : '';
  const because = sentence(top.text);
  const { evidence, stage, state } = ctx;
  switch (top.action) {
    case 'disable':
      return {
        kind: 'disable',
        trigger: top.source,
        reason: `Disabling the flag (kill switch): ${because}${also}`,
        evidence,
        health: 'red',
        waitingFor: [],
      };
    case 'rollback_zero':
    case 'rollback_previous': {
      const index = state.stageIndex;
      const previous = top.action === 'rollback_previous' && index > 0 ? index - 1 : null;
      const where =
        previous === null
          ? top.action === 'rollback_previous'
            ? 'Rolling back to 0% (there is no previous stage)'
            : 'Rolling back to 0%'
          : `Rolling back to stage ${previous + 1} (${JSON.stringify(ctx.plan.stages[previous]?.name)})`;
      return {
        kind: 'rollback',
        to: previous === null ? 'zero' : 'previous',
        toStage: previous,
        trigger: top.source,
        reason: `${where}: ${because}${also}`,
        evidence,
        health: 'red',
        waitingFor: [],
      };
    }
    case 'hold':
    default:
      return {
        kind: 'hold',
        requiresPerson: true,
        trigger: top.source,
        reason: `Holding ${stageLabel(stage, state.stageIndex, ctx.plan.stages.length)} until a person resumes: ${because}${also}`,
        evidence,
        health: worse(ctx.baseHealth, 'yellow'),
        waitingFor: [{ kind: 'resume' }],
      };
  }
}

function structural(problem: string): Decision {
  return {
    kind: 'hold',
    requiresPerson: true,
    reason: `Cannot run the rollout: ${problem}. A person must fix the rollout or its plan.`,
    evidence: EMPTY_EVIDENCE,
    health: 'yellow',
    waitingFor: [{ kind: 'resume' }],
  };
}

function missingItems(items: Stage['checklist'], state: RolloutState, since: number): { id: string; text: string }[] {
  const ticked = new Set(
    arrayOf(state?.checklist)
      .filter((t) => isFiniteNumber(t?.at) && t.at >= since)
      .map((t) => t.itemId),
  );
  return arrayOf(items).filter((i) => i.required !== false && !ticked.has(i.id));
}

interface Tally {
  approvers: string[];
  rejections: ApprovalRecord[];
  ignoredStarter: boolean;
}

/**
 * Counts approvals of the current stage: each person's latest verdict counts
 * once; the starter never counts; a standing rejection blocks (like "changes
 * requested") until its author approves.
 */
function tallyApprovals(records: RolloutState['approvals'], startedBy: string, role: ApproverRole, since: number): Tally {
  const latest = new Map<string, ApprovalRecord>();
  const ordered = arrayOf(records)
    .filter((r) => r !== null && typeof r === 'object' && isFiniteNumber(r.at) && r.at >= since && typeof r.by === 'string')
    .map((r, i) => ({ r, i }))
    // Stable by time, then by position, so equal timestamps resolve the same way every time.
    .sort((a, b) => a.r.at - b.r.at || a.i - b.i);
  for (const { r } of ordered) latest.set(r.by, r);
  const tally: Tally = { approvers: [], rejections: [], ignoredStarter: false };
  const need = ROLE_RANK[role] ?? ROLE_RANK.admin;
  for (const [by, r] of latest) {
    if (r.verdict === 'reject') {
      tally.rejections.push(r);
      continue;
    }
    if (r.verdict !== 'approve') continue;
    if (by === startedBy) {
      tally.ignoredStarter = true;
      continue;
    }
    if ((ROLE_RANK[r.role] ?? -1) >= need) tally.approvers.push(by);
  }
  return tally;
}

/**
 * The seed 000 dashboard's "Current Status": phase n of m, percentage, start
 * date, days in the current phase, overall colour and what the rollout is
 * waiting for. Pass the decision of the same tick so both agree.
 *
 * @example
 * const decision = decide(plan, state, observations, now);
 * rolloutStatus(plan, state, decision, now);
 * // { status: 'running', health: 'green', phase: 2, phases: 4, percentage: 5, daysInPhase: 3, startDate: '2025-03-01', ... }
 */
export function rolloutStatus(plan: Plan, state: RolloutState, decision: Decision, now: number): RolloutSummary {
  const stages = arrayOf(plan?.stages);
  const index = Number.isInteger(state?.stageIndex) ? Math.min(Math.max(state.stageIndex, 0), Math.max(stages.length - 1, 0)) : 0;
  const stage = stages[index];
  const off = state?.status === 'draft' || state?.status === 'rolled_back' || state?.status === 'aborted';
  const summary: RolloutSummary = {
    status: state?.status,
    health: decision?.health ?? 'yellow',
    phase: index + 1,
    phases: stages.length,
    percentage: off ? 0 : isFiniteNumber(stage?.audience?.percentage) ? stage.audience.percentage : 0,
    segments: off ? [] : [...arrayOf(stage?.audience?.segments)],
    daysInPhase: off || !isFiniteNumber(state?.stageStartedAt) || !isFiniteNumber(now) ? 0 : Math.max(0, Math.floor((now - state.stageStartedAt) / DAY)),
    waitingFor: decision?.waitingFor ?? [],
    summary: decision?.reason ?? '',
  };
  if (stage?.name !== undefined) summary.stageName = stage.name;
  if (stage?.environment !== undefined) summary.environment = stage.environment;
  // Dates beyond ±8.64e15 ms cannot be formatted; such a start is left out rather than thrown on.
  if (isFiniteNumber(state?.startedAt) && Math.abs(state.startedAt) <= 8.64e15) {
    summary.startedAt = state.startedAt;
    summary.startDate = new Date(state.startedAt).toISOString().slice(0, 10);
  }
  return summary;
}
