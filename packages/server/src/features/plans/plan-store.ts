import type { Plan, PlanValidationContext } from '@rollgate/core';
import { METRIC_CATALOG } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { iso, isoOrNull } from '../../internal/time.js';
import { sqlEnvironmentStore } from '../environments/environment-store.js';
import { activeMetricKeys } from '../metric-definitions/metric-definition-store.js';
import { sqlSegmentStore } from '../segments/segment-store.js';

/**
 * What `plans.definition` and `plan_versions.definition` hold: the core
 * `Plan` without `id` (the plan's key) and `version` (the row's). Name and
 * description are part of it, so every stored version is a complete plan.
 */
export type PlanContent = Omit<Plan, 'id' | 'version'>;

/** A plan as stored, with its current content. */
export interface StoredPlan {
  id: string;
  projectId: string;
  projectKey: string;
  key: string;
  name: string;
  description: string;
  content: PlanContent;
  version: number;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One saved version of a plan. Never changed once written. */
export interface StoredPlanVersion {
  planId: string;
  version: number;
  content: PlanContent;
  createdBy: string;
  createdAt: string;
}

/** Storage of plans and their versions. Every method takes the Sql to run on, so services choose the transaction. */
export interface PlanStore {
  /** Plans by key, active ones or archived ones. */
  list(sql: Sql, projectId: string, filter: { archived: boolean; limit: number; afterKey?: string }): Promise<StoredPlan[]>;
  /** The plan with this key, archived or not; `forUpdate` locks its row until the transaction ends. */
  getByKey(sql: Sql, projectId: string, key: string, options?: { forUpdate?: boolean }): Promise<StoredPlan | undefined>;
  /** Inserts a plan at version 1, and its version 1. */
  insert(sql: Sql, plan: { id: string; projectId: string; key: string; content: PlanContent }, createdBy: string): Promise<StoredPlan>;
  /**
   * Saves `content` as the next version when the stored version is
   * `expectedVersion`: the plan row moves on and a new plan_versions row is
   * added. Undefined when the version is not the expected one.
   */
  saveVersion(sql: Sql, id: string, expectedVersion: number, content: PlanContent, createdBy: string): Promise<StoredPlan | undefined>;
  /** Archives or unarchives; the version (of the content) does not change. */
  setArchived(sql: Sql, id: string, archived: boolean): Promise<StoredPlan>;
  getVersion(sql: Sql, planId: string, version: number): Promise<StoredPlanVersion | undefined>;
}

interface PlanRow {
  id: string;
  project_id: string;
  project_key: string;
  key: string;
  name: string;
  description: string;
  definition: PlanContent;
  version: number;
  archived_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface PlanVersionRow {
  plan_id: string;
  version: number;
  definition: PlanContent;
  created_by: string;
  created_at: Date | string;
}

const toPlan = (r: PlanRow): StoredPlan => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  key: r.key,
  name: r.name,
  description: r.description,
  content: r.definition,
  version: r.version,
  archivedAt: isoOrNull(r.archived_at),
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const toVersion = (r: PlanVersionRow): StoredPlanVersion => ({
  planId: r.plan_id,
  version: r.version,
  content: r.definition,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
});

const SELECT = 'select pl.*, p.key as project_key from plans pl join projects p on p.id = pl.project_id';

async function byId(sql: Sql, id: string): Promise<StoredPlan> {
  const [row] = await sql.query<PlanRow>(`${SELECT} where pl.id = $1`, [id]);
  if (row === undefined) throw new Error(`plan ${id} vanished`);
  return toPlan(row);
}

export const sqlPlanStore: PlanStore = {
  async list(sql, projectId, filter) {
    const rows = await sql.query<PlanRow>(
      `${SELECT} where pl.project_id = $1 and (pl.archived_at is not null) = $2 and ($3::text is null or pl.key > $3) order by pl.key limit $4`,
      [projectId, filter.archived, filter.afterKey ?? null, filter.limit],
    );
    return rows.map(toPlan);
  },
  async getByKey(sql, projectId, key, options = {}) {
    // `for update of pl`: only the plan row is locked, not the project.
    const [row] = await sql.query<PlanRow>(`${SELECT} where pl.project_id = $1 and pl.key = $2${options.forUpdate ? ' for update of pl' : ''}`, [projectId, key]);
    return row && toPlan(row);
  },
  async insert(sql, plan, createdBy) {
    const definition = JSON.stringify(plan.content);
    await sql.query('insert into plans (id, project_id, key, name, description, definition, version) values ($1, $2, $3, $4, $5, $6, 1)', [
      plan.id,
      plan.projectId,
      plan.key,
      plan.content.name,
      plan.content.description ?? '',
      definition,
    ]);
    await sql.query('insert into plan_versions (plan_id, version, definition, created_by) values ($1, 1, $2, $3)', [plan.id, definition, createdBy]);
    return byId(sql, plan.id);
  },
  async saveVersion(sql, id, expectedVersion, content, createdBy) {
    const definition = JSON.stringify(content);
    const [row] = await sql.query<{ version: number }>(
      `update plans set name = $3, description = $4, definition = $5::jsonb, version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning version`,
      [id, expectedVersion, content.name, content.description ?? '', definition],
    );
    if (row === undefined) return undefined;
    await sql.query('insert into plan_versions (plan_id, version, definition, created_by) values ($1, $2, $3, $4)', [id, row.version, definition, createdBy]);
    return byId(sql, id);
  },
  async setArchived(sql, id, archived) {
    await sql.query(
      `update plans set archived_at = case when $2 then coalesce(archived_at, now()) else null end, updated_at = now() where id = $1`,
      [id, archived],
    );
    return byId(sql, id);
  },
  async getVersion(sql, planId, version) {
    const [row] = await sql.query<PlanVersionRow>('select * from plan_versions where plan_id = $1 and version = $2', [planId, version]);
    return row && toVersion(row);
  },
};

/** A core plan from stored content: `id` is the plan's key. */
export function corePlan(key: string, version: number, content: PlanContent): Plan {
  return { ...content, id: key, version };
}

/**
 * Loads one version of a plan as the core `Plan` a rollout runs: `id` is the
 * plan's key and `version` the version loaded. Without `version`, the plan's
 * current version. Archived plans load too: `archived` says so, and starting a
 * rollout should refuse them (running rollouts keep their version regardless).
 * Undefined when the project has no plan with that key, or the plan has no
 * such version.
 *
 * Run it on the transaction that starts the rollout, and record `planId` and
 * `version` (columns `rollouts.plan_id` and `rollouts.plan_version`); loading
 * that version later gives exactly the same plan, since versions never change.
 *
 * @example
 * const loaded = await loadPlanVersion(tx, project.id, 'staged-rollout');
 * if (loaded === undefined || loaded.archived) throw ...;
 * const issues = validatePlan(loaded.plan, await planValidationContext(tx, project.id));
 * // insert into rollouts (..., plan_id, plan_version, ...) values (..., loaded.planId, loaded.version, ...)
 */
export async function loadPlanVersion(
  sql: Sql,
  projectId: string,
  planKey: string,
  version?: number,
): Promise<{ planId: string; version: number; plan: Plan; archived: boolean } | undefined> {
  const stored = await sqlPlanStore.getByKey(sql, projectId, planKey);
  if (stored === undefined) return undefined;
  const archived = stored.archivedAt !== null;
  if (version === undefined || version === stored.version) {
    return { planId: stored.id, version: stored.version, plan: corePlan(stored.key, stored.version, stored.content), archived };
  }
  const past = await sqlPlanStore.getVersion(sql, stored.id, version);
  if (past === undefined) return undefined;
  return { planId: stored.id, version: past.version, plan: corePlan(stored.key, past.version, past.content), archived };
}

/**
 * What a project's plans are validated against: the built-in metrics and the
 * project's own metric definitions, its active segments and its
 * environments. Pass it to core `validatePlan` (saving a plan does; starting
 * a rollout should, as segments and metrics may have been deleted since the
 * plan was saved).
 */
export async function planValidationContext(sql: Sql, projectId: string): Promise<Required<PlanValidationContext>> {
  return {
    knownMetrics: [...new Set([...METRIC_CATALOG.map((m) => m.key), ...(await activeMetricKeys(sql, projectId))])],
    knownSegments: await sqlSegmentStore.activeKeys(sql, projectId),
    knownEnvironments: (await sqlEnvironmentStore.list(sql, projectId)).map((e) => e.key),
  };
}
