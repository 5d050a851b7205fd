/**
 * People's side of staged rollouts: start one, act on it (advance, hold,
 * resume, roll back, disable, abort, restart, tick checklist items, approve,
 * reject, go/no-go), and read it (state, status, decision log, rollback
 * history). Every action checks the state transition, then applies it in one
 * transaction with the decision record, audit event and outbox row (see
 * rollout-apply.ts); actions that may let the rollout move on are followed by
 * an immediate evaluation, as the controller's next tick would do.
 */
import type { z } from 'zod';
import type { RolloutExperiment, rolloutDecisionSchema, rolloutRollbackSchema, rolloutStatusSummarySchema, stagedRolloutDetailSchema, stagedRolloutSchema } from '@rollgate/contract';
import { experimentOutcome, recordExperiments, rolloutStatus, validatePlan, type AdvanceRequest, type ApproverRole, type ExperimentOutcome, type Plan, type RolloutState, type RolloutStatus } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import type { Principal } from '../../http/auth.js';
import { ApiError, notFound } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import type { Clock } from '../../internal/time.js';
import type { WriteMeta } from '../audit/audit-store.js';
import { lockEnvironments, sqlEnvironmentStore } from '../environments/environment-store.js';
import { sqlFlagStore } from '../flags/flag-store.js';
import type { ProjectStore, Project } from '../projects/project-store.js';
import { applyTransition, type Transition } from './rollout-apply.js';
import { enterStage, type RolloutController } from './rollout-controller.js';
import { loadPlanVersion, planValidationContext } from '../plans/plan-store.js';
import { ACTIVE_STATUSES, getRollout, insertRollout, listDecisions, listRollouts, loadPlanVersions, type DecisionRecord, type RolloutRecord } from './rollout-store.js';

export type RolloutView = z.infer<typeof stagedRolloutSchema>;
export type RolloutDetailView = z.infer<typeof stagedRolloutDetailSchema>;
export type DecisionView = z.infer<typeof rolloutDecisionSchema>;
export type RollbackView = z.infer<typeof rolloutRollbackSchema>;
type StatusSummaryView = z.infer<typeof rolloutStatusSummarySchema>;

type User = Extract<Principal, { kind: 'user' }>;

export const toRolloutView = (r: RolloutRecord): RolloutView => ({
  id: r.id,
  projectKey: r.projectKey,
  flagKey: r.flagKey,
  environmentKey: r.environmentKey,
  planKey: r.planKey,
  planVersion: r.planVersion,
  variation: r.variation,
  status: r.status,
  stageIndex: r.state.stageIndex,
  state: r.state as unknown as Record<string, unknown>,
  version: r.version,
  startedBy: r.startedBy,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

const toDecisionView = (d: DecisionRecord): DecisionView => ({
  id: d.id,
  seq: d.seq,
  at: d.at,
  kind: d.kind,
  actor: { kind: d.actorKind, id: d.actorId, ...(d.actorName === null ? {} : { name: d.actorName }) },
  reason: d.reason,
  fromVersion: d.fromVersion,
  fromStage: d.fromStage,
  toStage: d.toStage,
  fromPercentage: d.fromPercentage,
  toPercentage: d.toPercentage,
  decision: d.decision,
});

interface EvidenceLike {
  gates?: { gateId: string; metric: string; verdict: string; role: string; condition: { type: string; op: string; value: number }; treatment?: { value: number }; control?: { value: number }; summary: string }[];
  matrices?: { matrixId: string; metric: string; action: string; treatment?: { value: number }; band?: { below?: number; label?: string }; range?: { from?: number; below?: number }; summary: string }[];
}

/** A rollback record with the metric values and thresholds that triggered it. */
function toRollbackView(d: DecisionRecord): RollbackView {
  const evidence = (d.decision.evidence ?? {}) as EvidenceLike;
  const trigger = typeof d.decision.trigger === 'string' ? d.decision.trigger : d.actorKind === 'user' ? 'manual' : d.kind;
  const metrics: RollbackView['metrics'] = [];
  for (const g of evidence.gates ?? []) {
    if (g.verdict !== 'fail' || g.role === 'success') continue;
    metrics.push({
      source: g.gateId,
      metric: g.metric,
      treatment: g.treatment?.value ?? null,
      control: g.control?.value ?? null,
      threshold: `${g.condition.type === 'absolute' ? '' : `${g.condition.type} `}${g.condition.op} ${g.condition.value}`,
      summary: g.summary,
    });
  }
  for (const m of evidence.matrices ?? []) {
    if (m.action !== 'rollback' && m.action !== 'disable') continue;
    metrics.push({ source: m.matrixId, metric: m.metric, treatment: m.treatment?.value ?? null, control: null, threshold: `band ${m.band?.label ?? m.action}${m.range?.from !== undefined ? ` >= ${m.range.from}` : ''}${m.range?.below !== undefined ? ` < ${m.range.below}` : ''}`, summary: m.summary });
  }
  return {
    id: d.id,
    at: d.at,
    kind: d.kind === 'disable' ? 'disable' : 'rollback',
    fromStage: d.fromStage,
    toStage: d.toStage,
    fromPercentage: d.fromPercentage,
    toPercentage: d.toPercentage,
    trigger,
    reason: d.reason,
    actor: { kind: d.actorKind, id: d.actorId, ...(d.actorName === null ? {} : { name: d.actorName }) },
    metrics,
  };
}

const list = (items: readonly string[]) => items.map((i) => JSON.stringify(i)).join(', ');

/** What an action does, given the locked rollout and its plan. */
type Action = (r: RolloutRecord, plan: Plan, now: number, tx: Sql) => Transition | Promise<Transition>;

export class RolloutService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly clock: Clock,
    private readonly controller: RolloutController,
  ) {}

  private async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  private async rollout(sql: Sql, projectKey: string, id: string, forUpdate = false): Promise<RolloutRecord> {
    const r = await getRollout(sql, id, { forUpdate });
    if (r === undefined || r.projectKey !== projectKey) throw notFound('rollout', `${projectKey}/${id}`);
    return r;
  }

  private async plan(sql: Sql, r: RolloutRecord): Promise<Plan> {
    const plan = (await loadPlanVersions(sql, [{ planId: r.planId, version: r.planVersion }])).get(`${r.planId}:${r.planVersion}`);
    if (plan === undefined) throw notFound('plan version', `${r.planKey}@${r.planVersion}`);
    return plan;
  }

  async start(
    meta: WriteMeta,
    user: User,
    projectKey: string,
    input: { flagKey: string; environmentKey: string; planKey: string; planVersion?: number; variation?: string; preStartChecklist: string[] },
  ): Promise<RolloutView> {
    const now = this.clock();
    const id = await this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const environments = await sqlEnvironmentStore.list(tx, project.id);
      const env = environments.find((e) => e.key === input.environmentKey);
      if (env === undefined) throw notFound('environment', `${projectKey}/${input.environmentKey}`);
      await lockEnvironments(tx, project.id);
      const flag = await sqlFlagStore.getByKey(tx, project.id, input.flagKey);
      if (flag === undefined) throw notFound('flag', `${projectKey}/${input.flagKey}`);
      if (flag.archived) throw new ApiError('INVALID_STATE', `Flag ${flag.key} is archived: unarchive it before starting a rollout`, { state: 'archived' });
      const pv = await loadPlanVersion(tx, project.id, input.planKey, input.planVersion);
      if (pv === undefined) throw notFound('plan', `${projectKey}/${input.planKey}${input.planVersion === undefined ? '' : `@${input.planVersion}`}`);
      if (pv.archived) throw new ApiError('INVALID_STATE', `Plan ${input.planKey} is archived: unarchive it, or pick another plan`, { state: 'archived' });
      // Segments may have been deleted since the plan was saved: validate again.
      const issues = validatePlan(pv.plan, await planValidationContext(tx, project.id));
      if (issues.length > 0) {
        throw new ApiError('INVALID_CONFIGURATION', `Plan ${input.planKey} version ${pv.version} cannot run in this project: ${issues[0]?.path}: ${issues[0]?.message}`, { issues });
      }
      const fe = await sqlFlagStore.getEnvironment(tx, flag.id, env.id);
      const off = fe?.config.offVariation;
      const variation =
        input.variation ?? (flag.variations.find((v) => v.key === 'on' && v.key !== off) ?? flag.variations.find((v) => v.key !== off))?.key;
      if (variation === undefined || !flag.variations.some((v) => v.key === variation)) {
        throw new ApiError('VALIDATION_FAILED', `Invalid body: variation: flag ${flag.key} has no variation ${JSON.stringify(variation ?? '')}`, {
          where: 'body',
          issues: [{ path: 'variation', message: `one of ${list(flag.variations.map((v) => v.key))}` }],
        });
      }
      // An experiment's groups are variations of the flag; none may be its off variation, which the unexposed get.
      for (const [i, stage] of pv.plan.stages.entries()) {
        const served = stage.serve?.variation;
        if (served !== undefined && !flag.variations.some((v) => v.key === served)) {
          const problem = `flag ${flag.key} has no variation ${JSON.stringify(served)} (it has ${list(flag.variations.map((v) => v.key))})`;
          throw new ApiError('INVALID_CONFIGURATION', `Plan ${input.planKey} version ${pv.version} cannot run on flag ${flag.key}: stages[${i}].serve.variation: ${problem}`, {
            issues: [{ path: `stages[${i}].serve.variation`, message: problem }],
          });
        }
        for (const [j, group] of (stage.experiment?.groups ?? []).entries()) {
          const problem = !flag.variations.some((v) => v.key === group.variation)
            ? `flag ${flag.key} has no variation ${JSON.stringify(group.variation)} (it has ${list(flag.variations.map((v) => v.key))})`
            : group.variation === off
              ? `${JSON.stringify(group.variation)} is the flag's off variation, which contexts outside the experiment get; give the group its own variation`
              : undefined;
          if (problem !== undefined) {
            throw new ApiError('INVALID_CONFIGURATION', `Plan ${input.planKey} version ${pv.version} cannot run on flag ${flag.key}: stages[${i}].experiment.groups[${j}]: ${problem}`, {
              issues: [{ path: `stages[${i}].experiment.groups[${j}].variation`, message: problem }],
            });
          }
        }
      }
      const [active] = await tx.query<{ id: string; status: string }>(
        `select id, status from rollouts where flag_id = $1 and environment_id = $2 and status = any($3::text[])`,
        [flag.id, env.id, [...ACTIVE_STATUSES]],
      );
      if (active !== undefined) {
        throw new ApiError('INVALID_STATE', `Flag ${flag.key} already has rollout ${active.id} (${active.status}) in ${env.key}: abort it or let it finish first`, {
          state: active.status,
          rolloutId: active.id,
        });
      }
      const items = pv.plan.preStartChecklist ?? [];
      const unknown = input.preStartChecklist.filter((i) => !items.some((x) => x.id === i));
      if (unknown.length > 0) {
        throw new ApiError('VALIDATION_FAILED', `Invalid body: preStartChecklist: plan ${input.planKey} has no pre-start item ${list(unknown)}`, {
          where: 'body',
          issues: [{ path: 'preStartChecklist', message: `unknown items: ${unknown.join(', ')}` }],
        });
      }
      const ms = now.getTime();
      const draft: RolloutState = {
        status: 'draft',
        stageIndex: 0,
        stageStartedAt: ms,
        startedBy: user.userId,
        startedByName: user.name,
        planVersion: pv.version,
        checklist: input.preStartChecklist.map((itemId) => ({ itemId, by: user.userId, at: ms })),
      };
      const rolloutId = newId('rlo', ms);
      await insertRollout(
        tx,
        { id: rolloutId, projectId: project.id, environmentId: env.id, flagId: flag.id, planId: pv.planId, planVersion: pv.version, variation, status: 'draft', state: draft, startedBy: user.userId },
        now,
      );
      const record = (await getRollout(tx, rolloutId)) as RolloutRecord;
      const missing = items.filter((i) => i.required !== false && !input.preStartChecklist.includes(i.id));
      const t: Transition =
        missing.length === 0
          ? this.startTransition(draft, ms, `Started by ${user.name} on plan ${input.planKey} version ${pv.version}`)
          : {
              kind: 'create',
              reason: `Created by ${user.name} as a draft: the pre-start checklist still needs ${list(missing.map((i) => i.text))}`,
              status: 'draft',
              state: draft,
              decision: { action: 'create', missing: missing.map((i) => i.id) },
            };
      await applyTransition(tx, record, pv.plan, t, meta, now);
      return rolloutId;
    });
    return toRolloutView(await this.rollout(this.db, projectKey, id));
  }

  private startTransition(state: RolloutState, ms: number, reason: string): Transition {
    return {
      kind: 'start',
      reason,
      status: 'running',
      state: { ...state, status: 'running', stageIndex: 0, stageStartedAt: ms, startedAt: ms, checklist: state.checklist ?? [] },
      flag: { mode: 'stage', stageIndex: 0, enable: true },
      decision: { action: 'start' },
    };
  }

  /** Runs an action: locks the rollout, checks its status, applies the transition. */
  private async act(meta: WriteMeta, projectKey: string, id: string, allowed: readonly RolloutStatus[], what: string, action: Action): Promise<RolloutRecord> {
    const now = this.clock();
    await this.db.transaction(async (tx) => {
      const r = await this.rollout(tx, projectKey, id, true);
      if (!allowed.includes(r.status)) {
        throw new ApiError('INVALID_STATE', `Rollout ${id} is ${r.status}: ${what} needs a rollout that is ${allowed.join(' or ')}`, { state: r.status, allowed });
      }
      const plan = await this.plan(tx, r);
      const t = await action(r, plan, now.getTime(), tx);
      if ((await applyTransition(tx, r, plan, t, meta, now)) === false) throw new ApiError('VERSION_CONFLICT', `Rollout ${id} changed meanwhile; try again`, { currentVersion: r.version });
    });
    return this.rollout(this.db, projectKey, id);
  }

  /** The current stage's experiment analysed now, on the observations the controller reads. */
  private async outcomeOf(r: RolloutRecord, plan: Plan, now: number): Promise<ExperimentOutcome | undefined> {
    if (plan.stages[r.state.stageIndex]?.experiment === undefined || r.status === 'draft') return undefined;
    const catalog = await this.controller.catalogOf(r.projectId);
    return experimentOutcome(plan, r.state, await this.controller.observe(r, plan, now), catalog === undefined ? {} : { catalog });
  }

  /**
   * The rollout as it is now, read outside any transaction, with its plan:
   * observations (and the source behind them) are read before an action's
   * transaction opens, never inside it. An action that relies on the read
   * refuses to go on when the rollout changed meanwhile.
   */
  private async preview(projectKey: string, id: string): Promise<{ r: RolloutRecord; plan: Plan }> {
    const r = await this.rollout(this.db, projectKey, id);
    return { r, plan: await this.plan(this.db, r) };
  }

  /**
   * `action` (a person's rollback, disable or abort), keeping the final
   * analysis of the experiment of the stage it ends, analysed before the
   * action's transaction.
   */
  private async endingStage(projectKey: string, id: string, action: Action): Promise<Action> {
    const { r: before, plan: planBefore } = await this.preview(projectKey, id);
    const outcome = await this.outcomeOf(before, planBefore, this.clock().getTime());
    return async (r, plan, now, tx) => {
      const t = await action(r, plan, now, tx);
      if (outcome === undefined) return t;
      if (r.version !== before.version) throw new ApiError('VERSION_CONFLICT', `Rollout ${id} changed meanwhile; try again`, { currentVersion: r.version });
      const experiments = recordExperiments(plan, t.state, { kind: t.kind, outcome }, now);
      return experiments === undefined ? t : { ...t, state: { ...t.state, experiments } };
    };
  }

  private async actAndEvaluate(meta: WriteMeta, projectKey: string, id: string, allowed: readonly RolloutStatus[], what: string, action: Action): Promise<RolloutView> {
    await this.act(meta, projectKey, id, allowed, what, action);
    await this.controller.evaluate(id, meta.requestId);
    return toRolloutView(await this.rollout(this.db, projectKey, id));
  }

  advance(meta: WriteMeta, user: User, projectKey: string, id: string, input: { force: boolean; comment?: string; variation?: string }): Promise<RolloutView> {
    if (input.force && user.role !== 'admin') {
      throw new ApiError('FORBIDDEN', `Forcing an advance needs the admin role; your role is ${user.role}. Without force, advance skips only the remaining wait.`, { required: 'admin', role: user.role });
    }
    const request = (now: number): AdvanceRequest => ({
      by: user.userId,
      name: user.name,
      role: user.role as ApproverRole,
      at: now,
      ...(input.force ? { force: true } : {}),
      ...(input.variation !== undefined ? { variation: input.variation } : {}),
    });
    // Force never skips missing data, too few samples or rollback triggers: refuse it then (decided on what the controller reads now), and record nothing.
    const checked = input.force ? this.forcible(projectKey, id, request) : Promise.resolve(undefined);
    return checked.then((version) => this.actAndEvaluate(meta, projectKey, id, ['running', 'awaiting_approval'], 'advance', (r, plan, now) => {
      if (input.variation !== undefined) assertChoosable(plan, r.state.stageIndex, input.variation);
      if (version !== undefined && r.version !== version) throw new ApiError('VERSION_CONFLICT', `Rollout ${id} changed meanwhile; try again`, { currentVersion: r.version });
      const state: RolloutState = { ...r.state, advanceRequest: request(now) };
      return {
        kind: input.force ? 'force_advance_request' : 'advance_request',
        reason: `${user.name} asked to advance${input.force ? ' (forced: wait, criteria, checklist and approvals are overridden)' : ' (skipping the remaining wait)'}${input.comment ? `: ${input.comment}` : ''}`,
        status: r.status,
        state,
        decision: { action: 'advance', force: input.force, comment: input.comment ?? null, ...(input.variation !== undefined ? { variation: input.variation } : {}) },
      };
    }));
  }

  /** The rollout's version when a forced advance would advance it now; a 409 with the controller's reason when it would not. */
  private async forcible(projectKey: string, id: string, request: (now: number) => AdvanceRequest): Promise<number> {
    const { r, plan } = await this.preview(projectKey, id);
    const now = this.clock().getTime();
    if (r.status !== 'running' && r.status !== 'awaiting_approval') return r.version; // the action refuses it with the state
    const state: RolloutState = { ...r.state, advanceRequest: request(now) };
    const decision = this.controller.decide(plan, state, await this.controller.observe(r, plan, now), now, await this.controller.catalogOf(r.projectId));
    if (decision.kind !== 'advance' && decision.kind !== 'complete') {
      throw new ApiError('INVALID_STATE', `Rollout ${id} cannot be forced on: ${decision.reason}`, { state: r.status, decision: decision.kind, waitingFor: decision.waitingFor });
    }
    return r.version;
  }

  async hold(meta: WriteMeta, user: User, projectKey: string, id: string, reason: string): Promise<RolloutView> {
    return toRolloutView(
      await this.act(meta, projectKey, id, ['running', 'awaiting_approval'], 'hold', (r, _plan, now) => ({
        kind: 'hold',
        reason: `Held by ${user.name}: ${reason}`,
        status: 'held',
        state: { ...r.state, status: 'held', heldBy: user.userId, heldByName: user.name, heldAt: now, heldReason: reason },
        decision: { action: 'hold', reason },
      })),
    );
  }

  resume(meta: WriteMeta, user: User, projectKey: string, id: string, comment?: string): Promise<RolloutView> {
    return this.actAndEvaluate(meta, projectKey, id, ['held'], 'resume', (r, _plan, now) => {
      const state: RolloutState = { ...r.state, status: 'running', resumedAt: now };
      delete state.heldBy;
      delete state.heldByName;
      delete state.heldAt;
      delete state.heldReason;
      return { kind: 'resume', reason: `Resumed by ${user.name}${comment ? `: ${comment}` : ''}`, status: 'running', state, decision: { action: 'resume', comment: comment ?? null } };
    });
  }

  async rollback(meta: WriteMeta, user: User, projectKey: string, id: string, input: { to: 'previous' | 'zero'; reason?: string }): Promise<RolloutView> {
    return toRolloutView(
      await this.act(meta, projectKey, id, ['running', 'held', 'awaiting_approval'], 'roll back', await this.endingStage(projectKey, id, (r, plan, now) => {
        const why = input.reason ? `: ${input.reason}` : '';
        const previous = r.state.stageIndex - 1;
        if (input.to === 'previous' && previous >= 0) {
          return {
            kind: 'rollback',
            reason: `Rolled back by ${user.name} to stage ${previous + 1} (${JSON.stringify(plan.stages[previous]?.name)})${why}`,
            status: 'running',
            state: enterStage(r.state, 'running', previous, now),
            flag: { mode: 'stage', stageIndex: previous, enable: false },
            decision: { action: 'rollback', to: 'previous', toStage: previous, trigger: 'manual', reason: input.reason ?? null },
          };
        }
        return {
          kind: 'rollback',
          reason: `Rolled back to 0% by ${user.name}${input.to === 'previous' ? ' (there is no previous stage)' : ''}${why}`,
          status: 'rolled_back',
          state: { ...r.state, status: 'rolled_back' },
          flag: { mode: 'zero' },
          decision: { action: 'rollback', to: 'zero', toStage: null, trigger: 'manual', reason: input.reason ?? null },
        };
      })),
    );
  }

  async disable(meta: WriteMeta, user: User, projectKey: string, id: string, comment?: string): Promise<RolloutView> {
    return toRolloutView(
      await this.act(meta, projectKey, id, ['running', 'held', 'awaiting_approval'], 'disable', await this.endingStage(projectKey, id, (r) => ({
        kind: 'disable',
        reason: `Flag disabled (kill switch) by ${user.name}${comment ? `: ${comment}` : ''}`,
        status: 'rolled_back',
        state: { ...r.state, status: 'rolled_back' },
        flag: { mode: 'disable' },
        decision: { action: 'disable', trigger: 'manual', comment: comment ?? null },
      }))),
    );
  }

  async abort(meta: WriteMeta, user: User, projectKey: string, id: string, comment?: string): Promise<RolloutView> {
    return toRolloutView(
      await this.act(meta, projectKey, id, ACTIVE_STATUSES, 'abort', await this.endingStage(projectKey, id, (r) => ({
        kind: 'abort',
        reason: `Aborted by ${user.name}; the rollout's rules are removed, so the flag serves its own configuration again (off again where the rollout turned it on)${comment ? `: ${comment}` : ''}`,
        status: 'aborted',
        state: { ...r.state, status: 'aborted' },
        flag: { mode: 'release' },
        decision: { action: 'abort', comment: comment ?? null },
      }))),
    );
  }

  async restart(meta: WriteMeta, user: User, projectKey: string, id: string, comment?: string): Promise<RolloutView> {
    return toRolloutView(
      await this.act(meta, projectKey, id, ['rolled_back'], 'restart', async (r, _plan, now, tx) => {
        const [active] = await tx.query<{ id: string }>('select id from rollouts where flag_id = $1 and environment_id = $2 and id <> $3 and status = any($4::text[])', [
          r.flagId,
          r.environmentId,
          r.id,
          [...ACTIVE_STATUSES],
        ]);
        if (active !== undefined) throw new ApiError('INVALID_STATE', `Flag ${r.flagKey} has another active rollout, ${active.id}: it cannot be restarted meanwhile`, { state: r.status, rolloutId: active.id });
        const state: RolloutState = { ...enterStage(r.state, 'running', 0, now), startedAt: now };
        return { ...this.startTransition(state, now, `Restarted by ${user.name}${comment ? `: ${comment}` : ''}`), kind: 'restart', decision: { action: 'restart', comment: comment ?? null } };
      }),
    );
  }

  async tick(meta: WriteMeta, user: User, projectKey: string, id: string, itemId: string): Promise<RolloutView> {
    await this.act(meta, projectKey, id, ['draft', 'running', 'held', 'awaiting_approval'], 'ticking a checklist item', (r, plan, now) => {
      const items = r.status === 'draft' ? (plan.preStartChecklist ?? []) : (plan.stages[r.state.stageIndex]?.checklist ?? []);
      const item = items.find((i) => i.id === itemId);
      if (item === undefined) {
        throw notFound(r.status === 'draft' ? 'pre-start checklist item' : `checklist item of stage ${JSON.stringify(plan.stages[r.state.stageIndex]?.name)}`, itemId);
      }
      const checklist = [...(r.state.checklist ?? []), { itemId, by: user.userId, at: now }];
      const state: RolloutState = { ...r.state, checklist };
      if (r.status === 'draft') {
        const ticked = new Set(checklist.map((c) => c.itemId));
        if (items.every((i) => i.required === false || ticked.has(i.id))) {
          return this.startTransition(state, now, `Started: ${user.name} ticked the last pre-start item ${JSON.stringify(item.text)}`);
        }
      }
      return { kind: 'checklist', reason: `${user.name} ticked ${JSON.stringify(item.text)}`, status: r.status, state, decision: { action: 'checklist', itemId } };
    });
    await this.controller.evaluate(id, meta.requestId);
    return toRolloutView(await this.rollout(this.db, projectKey, id));
  }

  /**
   * Records an approval or rejection of the current stage (or, for a draft in
   * an environment that requires approval, of the start: an approval of a
   * draft whose pre-start checklist is complete starts it).
   */
  verdict(meta: WriteMeta, user: User, projectKey: string, id: string, verdict: 'approve' | 'reject', comment: string): Promise<RolloutView> {
    return this.actAndEvaluate(meta, projectKey, id, ['draft', 'running', 'held', 'awaiting_approval'], verdict, (r, plan, now) => {
      if (verdict === 'approve' && r.state.startedBy === user.userId) {
        throw new ApiError('SELF_APPROVAL', `You started rollout ${id}: another person must approve it`, { startedBy: r.state.startedBy });
      }
      const reason = `${verdict === 'approve' ? 'Approved' : 'Rejected'} by ${user.name} (${user.role})${comment ? `: ${comment}` : ''}`;
      const state: RolloutState = { ...r.state, approvals: [...(r.state.approvals ?? []), { by: user.userId, name: user.name, role: user.role as ApproverRole, at: now, verdict, ...(comment ? { comment } : {}) }] };
      if (r.status === 'draft' && verdict === 'approve') {
        const ticked = new Set((state.checklist ?? []).map((c) => c.itemId));
        if ((plan.preStartChecklist ?? []).every((i) => i.required === false || ticked.has(i.id))) return this.startTransition(state, now, `Started: ${reason}`);
      }
      return { kind: verdict, reason, status: r.status, state, decision: { action: verdict, comment } };
    });
  }

  goNoGo(meta: WriteMeta, user: User, projectKey: string, id: string, verdict: 'go' | 'no_go', comment: string): Promise<RolloutView> {
    return this.actAndEvaluate(meta, projectKey, id, ['running', 'held', 'awaiting_approval'], verdict === 'go' ? 'go' : 'no-go', (r, _plan, now) => {
      const escalations = r.state.escalations ?? [];
      const pending = escalations.filter((e) => e.decision === undefined && e.raisedAt >= r.state.stageStartedAt);
      if (pending.length === 0) throw new ApiError('INVALID_STATE', `Rollout ${id} has no escalation waiting for a go/no-go`, { state: r.status });
      const decision = { verdict, by: user.userId, name: user.name, at: now, ...(comment ? { comment } : {}) };
      return {
        kind: verdict,
        reason: `${verdict === 'go' ? 'Go' : 'No-go'} from ${user.name} on ${pending.flatMap((e) => e.gateIds).join(', ')}${comment ? `: ${comment}` : ''}`,
        status: r.status,
        state: { ...r.state, escalations: escalations.map((e) => (pending.includes(e) ? { ...e, decision } : e)) },
        decision: { action: verdict, comment, gateIds: pending.flatMap((e) => e.gateIds) },
      };
    });
  }

  async list(projectKey: string, filter: { status?: RolloutStatus; flagKey?: string; environmentKey?: string; cursor?: string; limit: number }): Promise<{ items: RolloutView[]; nextCursor: string | null }> {
    const project = await this.project(this.db, projectKey);
    const rows = await listRollouts(this.db, project.id, { ...filter, beforeId: filter.cursor, limit: filter.limit + 1 });
    const items = rows.slice(0, filter.limit).map(toRolloutView);
    return { items, nextCursor: rows.length > filter.limit ? (items[items.length - 1]?.id ?? null) : null };
  }

  async get(projectKey: string, id: string): Promise<RolloutDetailView> {
    const r = await this.rollout(this.db, projectKey, id);
    const plan = await this.plan(this.db, r);
    return { ...toRolloutView(r), plan: plan as unknown as Record<string, unknown>, statusSummary: await this.status(r, plan) };
  }

  /** The dashboard's status: what the controller would decide now, as core's rolloutStatus shows it. */
  private async status(r: RolloutRecord, plan: Plan): Promise<StatusSummaryView> {
    const now = this.clock().getTime();
    const active = r.status === 'running' || r.status === 'held' || r.status === 'awaiting_approval';
    const observations = active ? await this.controller.observe(r, plan, now) : { metrics: {} };
    const catalog = await this.controller.catalogOf(r.projectId);
    const decision = this.controller.decide(plan, r.state, observations, now, catalog);
    const summary = rolloutStatus(plan, r.state, decision, now);
    const gates = decision.evidence.gates.map((g) => ({ gateId: g.gateId, metric: g.metric, role: g.role, verdict: g.verdict, ...(g.estimate === undefined ? {} : { estimate: g.estimate }), summary: g.summary }));
    return { ...summary, segments: [...summary.segments], waitingFor: summary.waitingFor.map((w) => ({ ...w }) as Record<string, unknown>), decision: decision.kind, gates };
  }

  async decisions(projectKey: string, id: string, page: { cursor?: string; limit: number }): Promise<{ items: DecisionView[]; nextCursor: string | null }> {
    await this.rollout(this.db, projectKey, id);
    const beforeSeq = cursorSeq(page.cursor);
    const rows = await listDecisions(this.db, id, { beforeSeq, limit: page.limit + 1 });
    const items = rows.slice(0, page.limit).map(toDecisionView);
    return { items, nextCursor: rows.length > page.limit ? String(items[items.length - 1]?.seq) : null };
  }

  /**
   * The rollout's experiment: the current stage's, analysed live on the
   * observations the controller reads, else the final analysis of the latest
   * one that ended; `history` lists the final analysis of every ended stage.
   */
  async experiment(projectKey: string, id: string): Promise<RolloutExperiment> {
    const r = await this.rollout(this.db, projectKey, id);
    const plan = await this.plan(this.db, r);
    const index = r.state.stageIndex;
    const stage = plan.stages[index];
    const history = (r.state.experiments ?? []).map((e) => ({ ...toExperimentView(r.id, e), endedAt: new Date(e.endedAt).toISOString(), endedBy: e.endedBy, ...(e.chosen !== undefined ? { chosen: e.chosen } : {}), ...(e.chosenBy !== undefined ? { chosenBy: e.chosenBy } : {}) }));
    const active = r.status === 'running' || r.status === 'held' || r.status === 'awaiting_approval';
    const live = active ? await this.outcomeOf(r, plan, this.clock().getTime()) : undefined;
    if (live !== undefined) return { ...toExperimentView(r.id, live), live: true, history };
    const latest = history[history.length - 1];
    if (latest !== undefined) return { ...latest, live: false, history };
    const withOne = plan.stages.findIndex((s) => s.experiment !== undefined);
    throw new ApiError(
      'INVALID_STATE',
      `Rollout ${id} is at stage ${index + 1} (${JSON.stringify(stage?.name ?? '')}), which runs no experiment, and none has ended yet${withOne >= 0 ? `; its plan runs one at stage ${withOne + 1} (${JSON.stringify(plan.stages[withOne]?.name)})` : ''}`,
      { state: r.status, stageIndex: index },
    );
  }

  async rollbacks(projectKey: string, id: string, page: { cursor?: string; limit: number }): Promise<{ items: RollbackView[]; nextCursor: string | null }> {
    await this.rollout(this.db, projectKey, id);
    const rows = await listDecisions(this.db, id, { beforeSeq: cursorSeq(page.cursor), limit: page.limit + 1, kinds: ['rollback', 'disable'] });
    const items = rows.slice(0, page.limit);
    return { items: items.map(toRollbackView), nextCursor: rows.length > page.limit ? String(items[items.length - 1]?.seq) : null };
  }
}

type ExperimentView = Omit<RolloutExperiment, 'live' | 'history'>;

function toExperimentView(rolloutId: string, o: ExperimentOutcome): ExperimentView {
  const { srm, stageIndex, stageId, stageName, ...result } = o;
  const view: ExperimentView = { rolloutId, stageIndex, stageId, stageName, ...result };
  if (srm !== undefined) {
    view.srm = { mismatch: srm.mismatch, pValue: srm.pValue, observed: [...srm.observed], expected: [...srm.expected], observedShares: [...srm.observedShares], expectedShares: [...srm.expectedShares], alpha: srm.alpha };
  }
  return view;
}

/** Refuses (400) an advance that names a variation when the next stage does not serve an experiment's winner, or the variation is not one of its groups. */
function assertChoosable(plan: Plan, stageIndex: number, variation: string): void {
  const next = plan.stages[stageIndex + 1];
  const sourceId = next?.serve?.experimentWinner;
  const source = sourceId === undefined ? undefined : plan.stages.find((s) => s.id === sourceId);
  const choices = (source?.experiment?.groups ?? []).map((g) => g.variation);
  const problem =
    source === undefined
      ? `the next stage ${next === undefined ? '(there is none)' : JSON.stringify(next.name)} does not serve an experiment's winner, so there is no variation to choose`
      : choices.includes(variation)
        ? undefined
        : `${JSON.stringify(variation)} is not one of the groups of the experiment of ${JSON.stringify(source.name)}: ${list(choices)}`;
  if (problem !== undefined) {
    throw new ApiError('VALIDATION_FAILED', `Invalid body: variation: ${problem}`, { where: 'body', issues: [{ path: 'variation', message: problem }] });
  }
}

function cursorSeq(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const n = Number(cursor);
  if (!Number.isSafeInteger(n) || n < 1) throw new ApiError('VALIDATION_FAILED', 'cursor must be the nextCursor of a previous page', { where: 'query' });
  return n;
}
