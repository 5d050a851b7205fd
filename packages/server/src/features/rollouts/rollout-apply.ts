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
import { canonicalJson, ownedRules, withOwnedRules } from './owned-rules.js';
import { insertDecision, insertOutbox, updateRollout, type RolloutRecord } from './rollout-store.js';

/** What a transition does to the flag. */
export type FlagChange =
  /** Serve stage `stageIndex`'s audience (in its environment; earlier environments keep their last stage); `enable` turns the flag on there. */
  | { mode: 'stage'; stageIndex: number; enable: boolean }
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
export async function applyTransition(tx: Sql, rollout: RolloutRecord, plan: Plan, t: Transition, meta: WriteMeta, now: Date, hooks: ApplyHooks = {}): Promise<number | false> {
  const version = await updateRollout(tx, rollout.id, rollout.version, t.status, t.state, now);
  if (version === undefined) return false;
  if (t.flag !== undefined) await writeFlag(tx, rollout, plan, t.state, t.flag, meta);
  const fromStage = rollout.status === 'draft' ? null : rollout.state.stageIndex;
  const toStage = t.status === 'draft' ? null : t.state.stageIndex;
  const fromPercentage = servedPercentage(plan, rollout.status, rollout.state.stageIndex);
  const toPercentage = t.flag?.mode === 'zero' || t.flag?.mode === 'disable' ? 0 : servedPercentage(plan, t.status, t.state.stageIndex);
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

/** Rewrites the flag's configuration in every environment the change touches; `state` (the rollout's, after the change) says what each stage serves. */
async function writeFlag(tx: Sql, rollout: RolloutRecord, plan: Plan, state: RolloutState, change: FlagChange, meta: WriteMeta): Promise<void> {
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
    if (change.mode === 'stage') {
      let j = -1;
      for (let i = 0; i <= change.stageIndex; i++) if (stageEnvironment(plan, rollout, i) === key) j = i;
      const stage = plan.stages[j];
      if (stage !== undefined) {
        next = withOwnedRules(fe.config, rollout.id, stageVariation(plan, state, j, rollout.variation), stage.audience, stage.experiment);
        if (change.enable && key === currentKey) next = { ...next, enabled: true };
      } else if (has) {
        next = withOwnedRules(fe.config, rollout.id, rollout.variation, null);
      }
    } else if (has || key === currentKey) {
      next = change.mode === 'zero' ? withOwnedRules(fe.config, rollout.id, rollout.variation, null) : { ...fe.config, enabled: false };
    }
    if (canonicalJson(next) === canonicalJson(fe.config)) continue;
    await writeFlagEnvironment(tx, sqlFlagStore, meta, flag, env.id, fe, next, { rolloutId: rollout.id });
  }
}
