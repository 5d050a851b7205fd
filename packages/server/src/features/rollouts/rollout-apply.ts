/**
 * Applying one transition of a rollout, in the caller's transaction: the
 * rollout row (compared on its version), the flag configuration it owns, the
 * decision record, the audit event and the notification outbox row. Used by
 * the controller (decisions) and the service (people's actions), so both
 * write the same things in the same way.
 */
import { stageVariation, type Plan, type RolloutState, type RolloutStatus } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { ApiError } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import { lockEnvironments, sqlEnvironmentStore } from '../environments/environment-store.js';
import { writeFlagEnvironment } from '../flags/flag-service.js';
import { sqlFlagStore } from '../flags/flag-store.js';
import { canonicalJson, isOwnedBy, ownedRules, withOwnedRules } from './owned-rules.js';
import { insertDecision, insertOutbox, updateRollout, type RolloutRecord } from './rollout-store.js';

/** What a transition does to the flag. */
export type FlagChange =
  /** Serve stage `stageIndex`'s audience (in its environment; earlier environments keep their last stage); `enable` turns the flag on there. */
  | { mode: 'stage'; stageIndex: number; enable: boolean }
  /** Abort: the rollout's rules removed wherever it has them, and the flag off again where the rollout turned it on. */
  | { mode: 'release' }
  /** 0% and no segments wherever the rollout has rules. */
  | { mode: 'zero' }
  /** The kill switch: `enabled: false` wherever the rollout has rules. */
  | { mode: 'disable' };

/** One change of a rollout, ready to apply. */
export interface Transition {
  /** The decision log's kind: a decision kind (`advance`, `rollback`...) or a person's action (`hold`, `approve`...). */
  kind: string;
  reason: string;
  status: RolloutStatus;
  state: RolloutState;
  flag?: FlagChange;
  /** Stored as the decision record's JSON: the core decision, or the person's action. */
  decision: Record<string, unknown>;
}

/** Hooks for tests that simulate a crash in the middle of applying. */
export interface ApplyHooks {
  /** Called after everything is written, before the transaction commits. */
  beforeCommit?: (rollout: RolloutRecord, transition: Transition) => void | Promise<void>;
}

/** The system actor of the controller's decisions. */
export const CONTROLLER_META: WriteMeta = { actor: { kind: 'system', id: 'rollout-controller', name: 'rollout controller' }, requestId: null };

/** The environment key of a stage: its own, or the rollout's. */
export function stageEnvironment(plan: Plan, rollout: Pick<RolloutRecord, 'environmentKey'>, index: number): string {
  return plan.stages[index]?.environment ?? rollout.environmentKey;
}

/** The percentage the rollout serves in `status` at `stageIndex` (0 when it serves nobody). */
export function servedPercentage(plan: Plan, status: RolloutStatus, stageIndex: number): number {
  if (status === 'draft' || status === 'rolled_back') return 0;
  return plan.stages[stageIndex]?.audience.percentage ?? 0;
}

/** A short view of a rollout for audit events and notifications. */
export function rolloutBrief(r: RolloutRecord, status: RolloutStatus, state: RolloutState, version: number): Record<string, unknown> {
  return {
    id: r.id,
    projectKey: r.projectKey,
    flagKey: r.flagKey,
    environmentKey: r.environmentKey,
    planKey: r.planKey,
    planVersion: r.planVersion,
    status,
    stageIndex: state.stageIndex,
    version,
  };
}

/**
 * Applies `t` to `rollout` (as read at `rollout.version`). Returns false and
 * writes nothing when the rollout changed since: a decision made from a stale
 * version is dropped. Throws (and the caller's transaction rolls back) on any
 * failure.
 */
export async function applyTransition(tx: Sql, rollout: RolloutRecord, plan: Plan, proposed: Transition, meta: WriteMeta, now: Date, hooks: ApplyHooks = {}): Promise<number | false> {
  // Every transition, the controller's and people's alike, passes the approval rule here.
  const t = await withApprovalRule(tx, rollout, plan, proposed, now.getTime());
  if (t === undefined) return false;
  const version = await updateRollout(tx, rollout.id, rollout.version, t.status, t.state, now);
  if (version === undefined) return false;
  if (t.flag !== undefined) {
    const switchedOn = await writeFlag(tx, rollout, plan, t.state, t.flag, meta);
    if (switchedOn.length > 0) t.decision = { ...t.decision, switchedOn };
  }
  const fromStage = rollout.status === 'draft' ? null : rollout.state.stageIndex;
  const toStage = t.status === 'draft' ? null : t.state.stageIndex;
  const fromPercentage = servedPercentage(plan, rollout.status, rollout.state.stageIndex);
  const toPercentage = t.flag?.mode === 'zero' || t.flag?.mode === 'disable' || t.flag?.mode === 'release' ? 0 : servedPercentage(plan, t.status, t.state.stageIndex);
  await insertDecision(
    tx,
    {
      id: newId('rdc', now.getTime()),
      rolloutId: rollout.id,
      fromVersion: rollout.version,
      kind: t.kind,
      actorKind: meta.actor.kind,
      actorId: meta.actor.id,
      actorName: meta.actor.name,
      reason: t.reason,
      fromStage,
      toStage,
      fromPercentage,
      toPercentage,
      decision: t.decision,
    },
    now,
  );
  const before = rolloutBrief(rollout, rollout.status, rollout.state, rollout.version);
  const after = rolloutBrief(rollout, t.status, t.state, version);
  await recordAudit(tx, meta, {
    action: `rollout.${t.kind}`,
    resourceType: 'rollout',
    resourceId: rollout.id,
    resourceKey: rollout.flagKey,
    projectId: rollout.projectId,
    environmentId: rollout.environmentId,
    before,
    after: { ...after, reason: t.reason },
  });
  await insertOutbox(
    tx,
    {
      id: newId('ntf', now.getTime()),
      rolloutId: rollout.id,
      kind: `rollout.${t.kind}`,
      payload: { rollout: after, from: { status: rollout.status, stageIndex: fromStage, percentage: fromPercentage }, to: { stageIndex: toStage, percentage: toPercentage }, reason: t.reason, actor: meta.actor, at: now.toISOString() },
    },
    now,
  );
  await hooks.beforeCommit?.(rollout, t);
  return version;
}

/** The environments where the rollout turned its flag on (recorded as `switchedOn` in its decisions). */
async function switchedOnBy(tx: Sql, rolloutId: string): Promise<Set<string>> {
  const rows = await tx.query<{ keys: string[] }>("select decision -> 'switchedOn' as keys from rollout_decisions where rollout_id = $1 and decision ? 'switchedOn'", [rolloutId]);
  return new Set(rows.flatMap((r) => (Array.isArray(r.keys) ? r.keys : [])));
}

/**
 * Rewrites the flag's configuration in every environment the change touches;
 * `state` (the rollout's, after the change) says what each stage serves.
 * Returns the environments where it turned the flag on.
 */
async function writeFlag(tx: Sql, rollout: RolloutRecord, plan: Plan, state: RolloutState, change: FlagChange, meta: WriteMeta): Promise<string[]> {
  const switchedOn: string[] = [];
  const released = change.mode === 'release' ? await switchedOnBy(tx, rollout.id) : new Set<string>();
  await lockEnvironments(tx, rollout.projectId);
  const environments = new Map((await sqlEnvironmentStore.list(tx, rollout.projectId)).map((e) => [e.key, e]));
  const keys = [...new Set([rollout.environmentKey, ...plan.stages.map((_, i) => stageEnvironment(plan, rollout, i))])];
  const current = change.mode === 'stage' ? change.stageIndex : rollout.state.stageIndex;
  const currentKey = stageEnvironment(plan, rollout, current);
  const flag = await sqlFlagStore.getById(tx, rollout.flagId);
  if (flag === undefined) throw new ApiError('NOT_FOUND', `The flag of rollout ${rollout.id} no longer exists`, { resource: 'flag', key: rollout.flagId });
  if (flag.archived) throw new ApiError('INVALID_STATE', `Flag ${flag.key} is archived: rollout ${rollout.id} cannot change it`, { state: 'archived' });
  for (const key of keys) {
    const env = environments.get(key);
    if (env === undefined) {
      if (key === currentKey) throw new ApiError('NOT_FOUND', `Environment ${key} of rollout ${rollout.id} does not exist`, { resource: 'environment', key });
      continue;
    }
    const fe = await sqlFlagStore.getEnvironment(tx, rollout.flagId, env.id);
    if (fe === undefined) continue;
    const has = ownedRules(fe.config, rollout.id).length > 0;
    let next = fe.config;
    if (change.mode === 'release') {
      if (!has) continue;
      next = { ...fe.config, rules: (fe.config.rules ?? []).filter((r) => !isOwnedBy(r.id, rollout.id)) };
      if (released.has(key)) next = { ...next, enabled: false };
    } else if (change.mode === 'stage') {
      let j = -1;
      for (let i = 0; i <= change.stageIndex; i++) if (stageEnvironment(plan, rollout, i) === key) j = i;
      const stage = plan.stages[j];
      if (stage !== undefined) {
        next = withOwnedRules(fe.config, rollout.id, stageVariation(plan, state, j, rollout.variation), stage.audience, stage.experiment);
        if (change.enable && key === currentKey && fe.config.enabled !== true) {
          next = { ...next, enabled: true };
          switchedOn.push(key);
        }
      } else if (has) {
        next = withOwnedRules(fe.config, rollout.id, rollout.variation, null);
      }
    } else if (has || key === currentKey) {
      next = change.mode === 'zero' ? withOwnedRules(fe.config, rollout.id, rollout.variation, null) : { ...fe.config, enabled: false };
    }
    if (canonicalJson(next) === canonicalJson(fe.config)) continue;
    await writeFlagEnvironment(tx, sqlFlagStore, meta, flag, env.id, fe, next, { rolloutId: rollout.id });
  }
  return switchedOn;
}

/** Whether a transition serves more than the rollout serves now: a start, a restart, or an advance. */
export function raisesExposure(rollout: Pick<RolloutRecord, 'status' | 'state'>, t: Pick<Transition, 'flag' | 'state'>): boolean {
  if (t.flag?.mode !== 'stage') return false;
  return rollout.status === 'draft' || rollout.status === 'rolled_back' || t.flag.stageIndex > rollout.state.stageIndex;
}

/**
 * The approval that lets a rollout serve more in an environment that requires
 * approval: the latest verdict of someone other than the starter, with the
 * approver or admin role, that approves (a plan's stage approvals are such
 * verdicts), or an admin other than the starter who forced the advance.
 */
export function environmentApproval(state: RolloutState, records: RolloutState['approvals'] = state.approvals): { by: string; role: string } | undefined {
  const latest = new Map<string, NonNullable<RolloutState['approvals']>[number]>();
  for (const r of records ?? []) if (r.at >= state.stageStartedAt || state.status === 'draft') latest.set(r.by, r);
  for (const r of latest.values()) {
    if (r.verdict === 'approve' && r.by !== state.startedBy && (r.role === 'approver' || r.role === 'admin')) return { by: r.by, role: r.role };
  }
  const forced = state.advanceRequest;
  if (forced?.force === true && forced.by !== state.startedBy && forced.role === 'admin') return { by: forced.by, role: forced.role };
  return undefined;
}

/**
 * The approval rule: in an environment that requires approval, a rollout
 * serves more (starts, restarts, advances) only with an approval by someone
 * other than its starter ({@link environmentApproval}). Without one, a start
 * stays a draft, a restart becomes a draft again, and an advance waits in
 * `awaiting_approval` (undefined: it already waits, nothing to write). What
 * serves less (holds, rollbacks, the kill switch, an abort) never waits.
 */
async function withApprovalRule(tx: Sql, rollout: RolloutRecord, plan: Plan, proposed: Transition, now: number): Promise<Transition | undefined> {
  const draftApprovals = proposed.state.approvals;
  // The approvals of a draft start it; the first stage's approvals are its own.
  const t = rollout.status === 'draft' && proposed.status !== 'draft' ? { ...proposed, state: { ...proposed.state, approvals: [] } } : proposed;
  if (!raisesExposure(rollout, t)) return t;
  const envKey = stageEnvironment(plan, rollout, t.state.stageIndex);
  const env = await sqlEnvironmentStore.get(tx, rollout.projectId, envKey);
  if (env === undefined || !env.requiresApproval) return t;
  const fromDraft = rollout.status === 'draft';
  const approval = rollout.status === 'rolled_back' ? undefined : environmentApproval(rollout.state, fromDraft ? draftApprovals : rollout.state.approvals);
  if (approval !== undefined) {
    return { ...t, reason: `${t.reason} (${envKey} requires approval: approved by ${approval.by}, ${approval.role})`, decision: { ...t.decision, approvedBy: approval.by } };
  }
  const why = `${envKey} requires approval: an approver other than the rollout's starter must approve (POST .../approve)`;
  if (fromDraft || rollout.status === 'rolled_back') {
    const state: RolloutState = fromDraft
      ? { ...proposed.state, status: 'draft', stageIndex: 0, stageStartedAt: rollout.state.stageStartedAt }
      : { ...t.state, status: 'draft', checklist: [], approvals: [] };
    delete state.startedAt;
    return {
      kind: 'await_approval',
      reason: `${t.reason}; it stays a draft: ${why}`,
      status: 'draft',
      state,
      decision: { ...t.decision, waitingFor: 'approval', environment: envKey },
    };
  }
  if (rollout.status === 'awaiting_approval') return undefined;
  return {
    kind: 'await_approval',
    reason: `${t.reason} Waiting: ${why}.`,
    status: 'awaiting_approval',
    state: { ...rollout.state, status: 'awaiting_approval', lastDecisionAt: now },
    decision: { kind: 'await_approval', waitingFor: 'approval', environment: envKey, blocked: t.decision },
  };
}
