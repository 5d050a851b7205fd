/**
 * The rollout controller: every tick, the leader (the replica holding the
 * controller's advisory lock) loads every active rollout and its plan version
 * in two queries, asks the observation source, calls the pure `decide`, and
 * applies each decision that changes something in its own transaction.
 *
 * Applying is idempotent: a decision carries the rollout version it was made
 * from, the rollout row is updated only at that version, and the decision log
 * is unique per (rollout, from version). A decision made from a stale version
 * (a person acted, another replica applied) is dropped; one that failed
 * half-way rolled back and is made again on the next tick.
 */
import { guardedDecide, recordExperiments, type Decision, type GuardOptions, type MetricDefinition, type Observations, type Plan, type RolloutState } from '@rollgate/core';
import type { Database } from '../../db/database.js';
import { LOCKS } from '../../db/database.js';
import type { Logger } from '../../internal/logger.js';
import type { Clock } from '../../internal/time.js';
import { applyTransition, CONTROLLER_META, stageEnvironment, type ApplyHooks, type Transition } from './rollout-apply.js';
import type { CatalogLoader, ObservationRequest, ObservationSource } from './observation-source.js';
import { getRollout, listTicked, loadPlanVersions, type RolloutRecord } from './rollout-store.js';

/** What one tick did. */
export interface TickResult {
  /** False when another replica holds the controller lock (this one did nothing). */
  leader: boolean;
  evaluated: number;
  /** Decisions applied. */
  applied: number;
  /** Decisions dropped because the rollout changed since it was read. */
  stale: number;
  failed: number;
  /** Milliseconds spent, by phase. */
  timings: { load: number; decide: number; apply: number; total: number };
}

/**
 * A state at the start of stage `stageIndex`: the previous stage's ticks,
 * approvals, escalations, requests and resume are dropped (the decision log
 * keeps them), so that none made in the same millisecond counts for the new stage.
 */
export function enterStage(s: RolloutState, status: RolloutState['status'], stageIndex: number, now: number): RolloutState {
  const state: RolloutState = { ...s, status, stageIndex, stageStartedAt: now, lastDecisionAt: now, checklist: [], approvals: [], escalations: [], monitored: [] };
  delete state.advanceRequest;
  delete state.resumedAt;
  delete state.heldBy;
  delete state.heldByName;
  delete state.heldAt;
  delete state.heldReason;
  return state;
}

/**
 * The transition a decision asks for, or undefined when it changes nothing
 * (`none`, a hold that waits for data or samples, an await that is already
 * recorded). A rollback-matrix band that enters "monitor" is recorded in the
 * decision log once per stage and matrix (kind `monitor`), with the band,
 * value and thresholds in its reason.
 */
export function transitionFor(rollout: RolloutRecord, plan: Plan, decision: Decision, now: number): Transition | undefined {
  const t = decisionTransition(rollout, plan, decision, now);
  const s = rollout.state;
  const known = (s.monitored ?? []).filter((m) => m.at >= s.stageStartedAt);
  const entering = decision.evidence.matrices.filter((m) => m.action === 'monitor' && !known.some((k) => k.matrixId === m.matrixId));
  if (entering.length === 0) return t;
  const monitored = [...known, ...entering.map((m) => ({ matrixId: m.matrixId, at: now }))];
  if (t === undefined) {
    return { kind: 'monitor', reason: decision.reason, status: rollout.status, state: { ...s, monitored, lastDecisionAt: now }, decision: { ...decision } as unknown as Record<string, unknown> };
  }
  // A transition that stays in the stage carries the record with it; one that leaves starts the next stage afresh.
  return t.state.stageIndex === s.stageIndex && t.state.stageStartedAt === s.stageStartedAt ? { ...t, state: { ...t.state, monitored } } : t;
}

function decisionTransition(rollout: RolloutRecord, plan: Plan, decision: Decision, now: number): Transition | undefined {
  // A decision that ends an experiment stage keeps its final analysis with the rollout.
  const experiments = recordExperiments(plan, rollout.state, {
    kind: decision.kind,
    ...(decision.evidence.experiment !== undefined ? { outcome: decision.evidence.experiment } : {}),
    ...(decision.kind === 'advance' ? { toStage: decision.toStage, ...(decision.variation !== undefined ? { variation: decision.variation } : {}) } : {}),
  }, now);
  const s: RolloutState = experiments === undefined ? rollout.state : { ...rollout.state, experiments };
  const record = { ...decision } as unknown as Record<string, unknown>;
  const base = { kind: decision.kind, reason: decision.reason, decision: record };
  switch (decision.kind) {
    case 'advance': {
      const state = enterStage(s, 'running', decision.toStage, now);
      const enable = stageEnvironment(plan, rollout, decision.toStage) !== stageEnvironment(plan, rollout, s.stageIndex);
      return { ...base, status: 'running', state, flag: { mode: 'stage', stageIndex: decision.toStage, enable } };
    }
    case 'complete':
      return { ...base, status: 'completed', state: { ...s, status: 'completed', lastDecisionAt: now } };
    case 'rollback':
      if (decision.to === 'previous' && decision.toStage !== null) {
        return {
          ...base,
          status: 'running',
          state: enterStage(s, 'running', decision.toStage, now),
          flag: { mode: 'stage', stageIndex: decision.toStage, enable: false },
        };
      }
      return { ...base, status: 'rolled_back', state: { ...s, status: 'rolled_back', lastDecisionAt: now }, flag: { mode: 'zero' } };
    case 'disable':
      return { ...base, status: 'rolled_back', state: { ...s, status: 'rolled_back', lastDecisionAt: now }, flag: { mode: 'disable' } };
    case 'escalate':
      return { ...base, status: rollout.status, state: { ...s, escalations: [...(s.escalations ?? []), { gateIds: decision.gateIds, raisedAt: now }], lastDecisionAt: now } };
    case 'await_approval':
      if (rollout.status === 'awaiting_approval') return undefined;
      return { ...base, status: 'awaiting_approval', state: { ...s, status: 'awaiting_approval', lastDecisionAt: now } };
    case 'hold':
      if (!decision.requiresPerson || rollout.status === 'held') return undefined;
      return { ...base, status: 'held', state: { ...s, status: 'held', heldBy: CONTROLLER_META.actor.id, heldByName: CONTROLLER_META.actor.name, heldAt: now, heldReason: decision.reason, lastDecisionAt: now } };
    case 'none':
      return undefined;
  }
}

/**
 * How the controller judges gates (see docs/statistics.md): comparative gates
 * by always-valid sequential tests at alpha 0.03 per stage, with the mixing
 * variance tuned to 2,000 treatment samples (ten minutes of a 10% canary at
 * 200 requests a minute: bench/guard measured these to catch a doubled error
 * rate within minutes while keeping false rollbacks on A/A under 1% across
 * all of a seed plan's gates); comparative success criteria as guardrails (met by the
 * estimate and not shown broken); the cohorts' sizes against the stage's
 * split (an assignment problem holds the rollout); and a cohort whose data
 * stopped arriving 10 minutes ago counts as no data (it holds, never
 * advancing on stale totals).
 */
export const DEFAULT_GUARD: GuardOptions = Object.freeze({
  sequential: Object.freeze({ successCriteria: 'guardrail' as const, alpha: 0.03, expectedSamples: 2_000 }),
  staleAfterMs: 10 * 60_000,
});

export interface ControllerOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  source: () => ObservationSource;
  hooks?: ApplyHooks;
  /** Default {@link DEFAULT_GUARD}. */
  guard?: GuardOptions;
  /** Each project's metric catalog (its own definitions give kinds, units and directions); default the built-in catalog. */
  catalogs?: CatalogLoader;
}

export class RolloutController {
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Test hooks; see {@link ApplyHooks}. */
  hooks: ApplyHooks;

  constructor(private readonly options: ControllerOptions) {
    this.hooks = options.hooks ?? {};
  }

  /** Ticks every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) => this.options.logger.error({ err: error }, 'rollout controller tick failed'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.catch(() => undefined);
  }

  /** The guard's decision for one rollout, judged with its project's metric `catalog` when given. */
  decide(plan: Plan, state: RolloutState, observations: Observations, now: number, catalog?: readonly MetricDefinition[]): Decision {
    const guard = this.options.guard ?? DEFAULT_GUARD;
    return guardedDecide(plan, state, observations, now, catalog === undefined ? guard : { ...guard, catalog });
  }

  /** The metric catalogs of `projectIds`; on a failure, none (the built-in catalog applies and the tick goes on). */
  async catalogs(projectIds: readonly string[]): Promise<ReadonlyMap<string, readonly MetricDefinition[]>> {
    if (this.options.catalogs === undefined || projectIds.length === 0) return new Map();
    try {
      return await this.options.catalogs(projectIds);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'loading project metric definitions failed; deciding with the built-in catalog');
      return new Map();
    }
  }

  /** The metric catalog of one project (undefined: the built-in catalog applies). */
  async catalogOf(projectId: string): Promise<readonly MetricDefinition[] | undefined> {
    return (await this.catalogs([projectId])).get(projectId);
  }

  /** Lets a batching source read the whole tick at once; a failure leaves each rollout to its own read. */
  private async prefetch(requests: readonly ObservationRequest[], now: number): Promise<void> {
    const source = this.options.source();
    if (typeof source.prefetch !== 'function' || requests.length === 0) return;
    try {
      await source.prefetch(requests, now);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'reading the tick\'s observations at once failed; reading them one rollout at a time');
    }
  }

  /** Observations of a rollout's current stage; a failing source counts as no data. */
  async observe(rollout: RolloutRecord, plan: Plan, now: number): Promise<Observations> {
    const stage = plan.stages[rollout.state.stageIndex];
    if (stage === undefined) return { metrics: {} };
    try {
      return await this.options.source()(rollout, plan, stage, now);
    } catch (error) {
      this.options.logger.warn({ err: error, rolloutId: rollout.id }, 'observation source failed; treating it as no data');
      return { metrics: {} };
    }
  }

  /**
   * One tick at `now` (default: the clock). Ticks of this process run one at
   * a time; across replicas only the lock holder decides.
   */
  tick(now: Date = this.options.clock()): Promise<TickResult> {
    const run = this.queue.then(async () => {
      const started = performance.now();
      const locked = await this.options.db.tryAdvisoryLock(LOCKS.rolloutController, () => this.decideAll(now));
      if (locked.acquired) return locked.result;
      return { leader: false, evaluated: 0, applied: 0, stale: 0, failed: 0, timings: { load: 0, decide: 0, apply: 0, total: performance.now() - started } };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async decideAll(now: Date): Promise<TickResult> {
    const t0 = performance.now();
    const { db } = this.options;
    const rollouts = await listTicked(db);
    const plans = await loadPlanVersions(
      db,
      rollouts.map((r) => ({ planId: r.planId, version: r.planVersion })),
    );
    const ms = now.getTime();
    const requests: ObservationRequest[] = [];
    for (const rollout of rollouts) {
      const plan = plans.get(`${rollout.planId}:${rollout.planVersion}`);
      const stage = plan?.stages[rollout.state.stageIndex];
      if (plan !== undefined && stage !== undefined) requests.push({ rollout, plan, stage });
    }
    const catalogs = await this.catalogs([...new Set(requests.map((r) => r.rollout.projectId))]);
    await this.prefetch(requests, ms);
    const t1 = performance.now();
    const work: { rollout: RolloutRecord; plan: Plan; transition: Transition }[] = [];
    for (const rollout of rollouts) {
      const plan = plans.get(`${rollout.planId}:${rollout.planVersion}`);
      if (plan === undefined) continue;
      const decision = this.decide(plan, rollout.state, await this.observe(rollout, plan, ms), ms, catalogs.get(rollout.projectId));
      const transition = transitionFor(rollout, plan, decision, ms);
      if (transition !== undefined) work.push({ rollout, plan, transition });
    }
    const t2 = performance.now();
    let applied = 0;
    let stale = 0;
    let failed = 0;
    for (const w of work) {
      try {
        if (await this.apply(w.rollout, w.plan, w.transition, now)) applied++;
        else stale++;
      } catch (error) {
        failed++;
        this.options.logger.error({ err: error, rolloutId: w.rollout.id }, 'applying a rollout decision failed; it is made again next tick');
      }
    }
    const t3 = performance.now();
    return { leader: true, evaluated: rollouts.length, applied, stale, failed, timings: { load: t1 - t0, decide: t2 - t1, apply: t3 - t2, total: t3 - t0 } };
  }

  /**
   * Applies one transition in one transaction; false when it was made from a
   * stale version. `requestId`: the request that caused it (a person's
   * action), recorded with the decision's audit event; null on ticks.
   */
  async apply(rollout: RolloutRecord, plan: Plan, transition: Transition, now: Date, requestId: string | null = null): Promise<boolean> {
    const meta = requestId === null ? CONTROLLER_META : { ...CONTROLLER_META, requestId };
    try {
      return (await this.options.db.transaction((tx) => applyTransition(tx, rollout, plan, transition, meta, now, this.hooks))) !== false;
    } catch (error) {
      // Another applier recorded a decision from the same version first.
      if ((error as { code?: unknown }).code === '23505') return false;
      throw error;
    }
  }

  /**
   * Decides and applies for one rollout now (after a person's action, whose
   * `requestId` the decision is audited with); returns the decision.
   */
  async evaluate(rolloutId: string, requestId: string | null = null, now: Date = this.options.clock()): Promise<Decision | undefined> {
    const rollout = await getRollout(this.options.db, rolloutId);
    if (rollout === undefined) return undefined;
    const plans = await loadPlanVersions(this.options.db, [{ planId: rollout.planId, version: rollout.planVersion }]);
    const plan = plans.get(`${rollout.planId}:${rollout.planVersion}`);
    if (plan === undefined) return undefined;
    const ms = now.getTime();
    const decision = this.decide(plan, rollout.state, await this.observe(rollout, plan, ms), ms, await this.catalogOf(rollout.projectId));
    const transition = transitionFor(rollout, plan, decision, ms);
    if (transition !== undefined) await this.apply(rollout, plan, transition, now, requestId);
    return decision;
  }
}
