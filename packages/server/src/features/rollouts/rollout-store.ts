/**
 * Storage of staged rollouts: the rollout rows, their decision log, the
 * notification outbox, and the plan versions they run. Every function takes
 * the Sql to run on, so callers put several writes in one transaction.
 */
import type { Plan, RolloutState, RolloutStatus } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';
import { corePlan, type PlanContent } from '../plans/plan-store.js';

/** A rollout as stored, with the keys of what it refers to. */
export interface RolloutRecord {
  id: string;
  projectId: string;
  projectKey: string;
  environmentId: string;
  environmentKey: string;
  flagId: string;
  flagKey: string;
  planId: string;
  planKey: string;
  planVersion: number;
  variation: string;
  status: RolloutStatus;
  state: RolloutState;
  version: number;
  startedBy: string;
  createdAt: string;
  updatedAt: string;
}

/** The statuses in which a rollout owns its flag's rollout rules. */
export const ACTIVE_STATUSES: readonly RolloutStatus[] = ['draft', 'running', 'held', 'awaiting_approval'];
/** The statuses the controller decides for. */
export const TICKED_STATUSES: readonly RolloutStatus[] = ['running', 'held', 'awaiting_approval'];

interface RolloutRow {
  id: string;
  project_id: string;
  project_key: string;
  environment_id: string;
  environment_key: string;
  flag_id: string;
  flag_key: string;
  plan_id: string;
  plan_key: string;
  plan_version: number;
  variation: string;
  status: RolloutStatus;
  state: RolloutState;
  version: number;
  started_by: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const toRecord = (r: RolloutRow): RolloutRecord => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  environmentId: r.environment_id,
  environmentKey: r.environment_key,
  flagId: r.flag_id,
  flagKey: r.flag_key,
  planId: r.plan_id,
  planKey: r.plan_key,
  planVersion: r.plan_version,
  variation: r.variation,
  status: r.status,
  state: r.state,
  version: r.version,
  startedBy: r.started_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const SELECT = `select r.id, r.project_id, p.key as project_key, r.environment_id, e.key as environment_key, r.flag_id, f.key as flag_key,
       r.plan_id, pl.key as plan_key, r.plan_version, r.variation, r.status, r.state, r.version, r.started_by, r.created_at, r.updated_at
  from rollouts r join projects p on p.id = r.project_id join environments e on e.id = r.environment_id
  join flags f on f.id = r.flag_id join plans pl on pl.id = r.plan_id`;

export async function getRollout(sql: Sql, id: string, options: { forUpdate?: boolean } = {}): Promise<RolloutRecord | undefined> {
  const [row] = await sql.query<RolloutRow>(`${SELECT} where r.id = $1${options.forUpdate ? ' for update of r' : ''}`, [id]);
  return row && toRecord(row);
}

export interface RolloutListFilter {
  status?: RolloutStatus;
  flagKey?: string;
  environmentKey?: string;
  /** Ids below this one (newest first paging). */
  beforeId?: string;
  limit: number;
}

/** Rollouts of a project, newest first. */
export async function listRollouts(sql: Sql, projectId: string, filter: RolloutListFilter): Promise<RolloutRecord[]> {
  const rows = await sql.query<RolloutRow>(
    `${SELECT} where r.project_id = $1 and ($2::text is null or r.status = $2) and ($3::text is null or f.key = $3)
        and ($4::text is null or e.key = $4) and ($5::text is null or r.id < $5)
      order by r.id desc limit $6`,
    [projectId, filter.status ?? null, filter.flagKey ?? null, filter.environmentKey ?? null, filter.beforeId ?? null, filter.limit],
  );
  return rows.map(toRecord);
}

/** Every rollout the controller decides for (running, held, awaiting approval). */
export async function listTicked(sql: Sql): Promise<RolloutRecord[]> {
  const rows = await sql.query<RolloutRow>(`${SELECT} where r.status in ('running', 'held', 'awaiting_approval') order by r.id`);
  return rows.map(toRecord);
}

/** The active rollout (draft or running, held, awaiting approval) of a flag, in any environment. */
export async function activeRolloutsOfFlag(sql: Sql, flagId: string): Promise<{ id: string; status: RolloutStatus; environmentId: string }[]> {
  return sql.query<{ id: string; status: RolloutStatus; environmentId: string }>(
    `select id, status, environment_id as "environmentId" from rollouts where flag_id = $1 and status in ('draft', 'running', 'held', 'awaiting_approval') order by id`,
    [flagId],
  );
}

export async function insertRollout(
  sql: Sql,
  r: Pick<RolloutRecord, 'id' | 'projectId' | 'environmentId' | 'flagId' | 'planId' | 'planVersion' | 'variation' | 'status' | 'state' | 'startedBy'>,
  now: Date,
): Promise<void> {
  await sql.query(
    `insert into rollouts (id, project_id, environment_id, flag_id, plan_id, plan_version, variation, status, state, started_by, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
    [r.id, r.projectId, r.environmentId, r.flagId, r.planId, r.planVersion, r.variation, r.status, JSON.stringify(r.state), r.startedBy, now],
  );
}

/** Writes a new status and state when the stored version is `expectedVersion`; returns the new version, or undefined when it is not. */
export async function updateRollout(sql: Sql, id: string, expectedVersion: number, status: RolloutStatus, state: RolloutState, now: Date): Promise<number | undefined> {
  const [row] = await sql.query<{ version: number }>(
    'update rollouts set status = $3, state = $4, version = version + 1, updated_at = $5 where id = $1 and version = $2 returning version',
    [id, expectedVersion, status, JSON.stringify(state), now],
  );
  return row?.version;
}

/** One entry of the decision log. */
export interface DecisionRecord {
  id: string;
  seq: number;
  rolloutId: string;
  fromVersion: number;
  at: string;
  kind: string;
  actorKind: string;
  actorId: string;
  /** The person's (or system actor's) name; null on decisions recorded before names were kept. */
  actorName: string | null;
  reason: string;
  fromStage: number | null;
  toStage: number | null;
  fromPercentage: number | null;
  toPercentage: number | null;
  decision: Record<string, unknown>;
}

interface DecisionRow {
  seq: number;
  id: string;
  rollout_id: string;
  from_version: number;
  at: Date | string;
  kind: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string | null;
  reason: string;
  from_stage: number | null;
  to_stage: number | null;
  from_percentage: string | number | null;
  to_percentage: string | number | null;
  decision: Record<string, unknown>;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

const toDecision = (r: DecisionRow): DecisionRecord => ({
  id: r.id,
  seq: Number(r.seq),
  rolloutId: r.rollout_id,
  fromVersion: r.from_version,
  at: iso(r.at),
  kind: r.kind,
  actorKind: r.actor_kind,
  actorId: r.actor_id,
  actorName: r.actor_name ?? null,
  reason: r.reason,
  fromStage: r.from_stage,
  toStage: r.to_stage,
  fromPercentage: num(r.from_percentage),
  toPercentage: num(r.to_percentage),
  decision: r.decision,
});

export async function insertDecision(sql: Sql, d: Omit<DecisionRecord, 'seq' | 'at'>, at: Date): Promise<void> {
  await sql.query(
    `insert into rollout_decisions (id, rollout_id, from_version, at, kind, actor_kind, actor_id, reason, from_stage, to_stage, from_percentage, to_percentage, decision, actor_name)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      d.id,
      d.rolloutId,
      d.fromVersion,
      at,
      d.kind,
      d.actorKind,
      d.actorId,
      d.reason,
      d.fromStage,
      d.toStage,
      d.fromPercentage,
      d.toPercentage,
      JSON.stringify(d.decision),
      d.actorName,
    ],
  );
}

/** The decision log of a rollout, newest first; `kinds` restricts it (the rollback history). */
export async function listDecisions(sql: Sql, rolloutId: string, options: { beforeSeq?: number; limit: number; kinds?: readonly string[] }): Promise<DecisionRecord[]> {
  const rows = await sql.query<DecisionRow>(
    `select * from rollout_decisions where rollout_id = $1 and ($2::bigint is null or seq < $2) and ($3::text[] is null or kind = any($3::text[]))
      order by seq desc limit $4`,
    [rolloutId, options.beforeSeq ?? null, options.kinds === undefined ? null : [...options.kinds], options.limit],
  );
  return rows.map(toDecision);
}

export async function insertOutbox(sql: Sql, n: { id: string; rolloutId: string; kind: string; payload: unknown }, at: Date): Promise<void> {
  await sql.query('insert into notification_outbox (id, rollout_id, kind, payload, created_at) values ($1, $2, $3, $4, $5)', [
    n.id,
    n.rolloutId,
    n.kind,
    JSON.stringify(n.payload),
    at,
  ]);
}

/** Plan versions by `planId:version`, in one query. */
export async function loadPlanVersions(sql: Sql, wanted: readonly { planId: string; version: number }[]): Promise<Map<string, Plan>> {
  const out = new Map<string, Plan>();
  if (wanted.length === 0) return out;
  const ids = [...new Set(wanted.map((w) => w.planId))];
  const versions = [...new Set(wanted.map((w) => w.version))];
  const rows = await sql.query<{ plan_id: string; key: string; version: number; definition: unknown }>(
    `select v.plan_id, p.key, v.version, v.definition from plan_versions v join plans p on p.id = v.plan_id
      where v.plan_id = any($1::text[]) and v.version = any($2::int[])`,
    [ids, versions],
  );
  for (const r of rows) out.set(`${r.plan_id}:${r.version}`, corePlan(r.key, r.version, r.definition as PlanContent));
  return out;
}
