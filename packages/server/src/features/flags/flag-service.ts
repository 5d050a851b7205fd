import { RE2JS } from 're2js';
import type { z } from 'zod';
import type { changeRequestSchema, FlagEnvironmentConfig, flagEnvironmentSchema, flagSchema, variationSchema } from '@rollgate/contract';
import { validateFlag, type FlagType, type Prerequisite, type Variation } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { Environment, EnvironmentStore } from '../environments/environment-store.js';
import type { Project, ProjectStore } from '../projects/project-store.js';
import type { SegmentStore } from '../segments/segment-store.js';
import { recordSnapshotChange } from '../snapshot-changes.js';
import { assertOwnedRulesUnchanged } from '../rollouts/owned-rules.js';
import type { ChangeRequest, ChangeRequestKind, ChangeRequestStore } from './change-request-store.js';
import { BOOLEAN_VARIATIONS, defaultEnvironmentConfig } from './flag-defaults.js';
import { lockEnvironments } from '../environments/environment-store.js';
import type { Flag, FlagEnvironment, FlagStore } from './flag-store.js';
import { checkFlagConfig, invalidConfiguration, type ConfigCheckContext, type ConfigIssue } from './flag-validation.js';

export type FlagView = z.infer<typeof flagSchema>;
export type FlagEnvironmentView = z.infer<typeof flagEnvironmentSchema>;
export type ChangeRequestView = z.infer<typeof changeRequestSchema>;

export const toFlagEnvironmentView = (fe: FlagEnvironment): FlagEnvironmentView => ({
  environmentKey: fe.environmentKey,
  version: fe.version,
  config: fe.config,
  updatedAt: fe.updatedAt,
});

export const toChangeRequestView = (c: ChangeRequest): ChangeRequestView => ({
  id: c.id,
  kind: c.kind,
  projectKey: c.projectKey,
  environmentKey: c.environmentKey,
  flagKey: c.flagKey,
  segmentKey: c.segmentKey,
  status: c.status,
  authorId: c.authorId,
  baseVersion: c.baseVersion,
  config: c.config,
  changes: c.changes,
  comment: c.comment,
  createdAt: c.createdAt,
  decidedBy: c.decidedBy,
  decidedAt: c.decidedAt,
  decisionComment: c.decisionComment,
  version: c.version,
});

function toFlagView(flag: Flag, environments: readonly FlagEnvironment[]): FlagView {
  return {
    id: flag.id,
    projectKey: flag.projectKey,
    key: flag.key,
    name: flag.name,
    description: flag.description,
    type: flag.type,
    variations: flag.variations,
    tags: flag.tags,
    archived: flag.archived,
    version: flag.version,
    createdAt: flag.createdAt,
    updatedAt: flag.updatedAt,
    environments: Object.fromEntries(environments.map((fe) => [fe.environmentKey, toFlagEnvironmentView(fe)])),
  };
}

/** A variation as the API accepts it: zod checked that its value is JSON. */
type VariationInput = z.infer<typeof variationSchema>;

export interface CreateFlagInput {
  key: string;
  name: string;
  description: string;
  type: FlagType;
  variations?: VariationInput[];
  tags: string[];
}

export interface UpdateFlagInput {
  version: number;
  name?: string;
  description?: string;
  variations?: VariationInput[];
  tags?: string[];
}

/** Who asks for a change that may need approval. */
export interface Requester {
  userId: string;
}

/** The result of a write that may need approval: applied, or a pending change request. */
export type Gated<T> = { applied: true; value: T } | { applied: false; changeRequest: ChangeRequestView };

/** What a new change request proposes. */
export interface Proposal {
  kind: ChangeRequestKind;
  projectId: string;
  environmentId?: string;
  flag?: Flag;
  segment?: { id: string; key: string };
  baseVersion: number;
  config?: FlagEnvironmentConfig;
  changes?: Record<string, unknown>;
  comment?: string;
}

/**
 * Records a pending change request and its audit event in `tx`: the one way
 * every write that needs approval is proposed (flag configurations, flag
 * variations and archiving, segments).
 */
export async function proposeChange(tx: Sql, store: ChangeRequestStore, meta: WriteMeta, requester: Requester, p: Proposal): Promise<ChangeRequestView> {
  const request = await store.insert(tx, {
    id: newId('chr'),
    kind: p.kind,
    projectId: p.projectId,
    environmentId: p.environmentId ?? null,
    flagId: p.flag?.id ?? null,
    segmentId: p.segment?.id ?? null,
    authorId: requester.userId,
    baseVersion: p.baseVersion,
    config: p.config ?? null,
    changes: p.changes ?? null,
    comment: p.comment ?? '',
  });
  const view = toChangeRequestView(request);
  await recordAudit(tx, meta, {
    action: 'change_request.created',
    resourceType: 'change_request',
    resourceId: request.id,
    resourceKey: p.flag?.key ?? p.segment?.key ?? null,
    projectId: p.projectId,
    environmentId: p.environmentId ?? null,
    after: view,
  });
  return view;
}

/** The environments of a project whose changes need approval, read in `tx`. */
export async function gatedEnvironments(tx: Sql, environments: Pick<EnvironmentStore, 'list'>, projectId: string): Promise<Environment[]> {
  return (await environments.list(tx, projectId)).filter((e) => e.requiresApproval);
}

const list = (keys: readonly string[]) => keys.map((k) => JSON.stringify(k)).join(', ');

/**
 * Flags: their variations, and their configuration in each environment. Every
 * write runs in one transaction with its audit event and the snapshot versions
 * it bumps; a refused write changes nothing.
 */
export class FlagService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly environments: EnvironmentStore,
    private readonly store: FlagStore,
    private readonly segments: Pick<SegmentStore, 'activeKeys'>,
    private readonly changeRequests: ChangeRequestStore,
  ) {}

  async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  async environment(sql: Sql, project: Project, key: string): Promise<Environment> {
    const env = await this.environments.get(sql, project.id, key);
    if (env === undefined) throw notFound('environment', `${project.key}/${key}`);
    return env;
  }

  async flag(sql: Sql, project: Project, key: string): Promise<Flag> {
    const flag = await this.store.getByKey(sql, project.id, key);
    if (flag === undefined) throw notFound('flag', `${project.key}/${key}`);
    return flag;
  }

  private async view(sql: Sql, flag: Flag): Promise<FlagView> {
    return toFlagView(flag, await this.store.environments(sql, [flag.id]));
  }

  async list(projectKey: string, filter: { archived: boolean; tag?: string; limit: number; afterKey?: string }): Promise<FlagView[]> {
    const project = await this.project(this.db, projectKey);
    const flags = await this.store.list(this.db, project.id, filter);
    const envs = await this.store.environments(
      this.db,
      flags.map((f) => f.id),
    );
    return flags.map((f) =>
      toFlagView(
        f,
        envs.filter((e) => e.flagId === f.id),
      ),
    );
  }

  async get(projectKey: string, flagKey: string): Promise<FlagView> {
    const project = await this.project(this.db, projectKey);
    return this.view(this.db, await this.flag(this.db, project, flagKey));
  }

  async create(meta: WriteMeta, projectKey: string, input: CreateFlagInput): Promise<FlagView> {
    let variations = input.variations as Variation[] | undefined;
    if (variations === undefined) {
      if (input.type !== 'boolean') {
        throw new ApiError('VALIDATION_FAILED', `Invalid body: variations: a ${input.type} flag needs its variations (only boolean flags have default ones)`, {
          where: 'body',
          issues: [{ path: 'variations', message: `required for a ${input.type} flag` }],
        });
      }
      variations = BOOLEAN_VARIATIONS;
    }
    const issues = validateFlag({ key: input.key, type: input.type, variations, ...defaultEnvironmentConfig(variations) }, { regex: RE2JS });
    if (issues.length > 0) throw invalidConfiguration(issues, 'variations');
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      if ((await this.store.getByKey(tx, project.id, input.key)) !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Project ${projectKey} already has a flag ${JSON.stringify(input.key)} (archived flags keep their key)`, { key: input.key });
      }
      const flag = await this.store.insert(tx, { id: newId('flg'), projectId: project.id, key: input.key, name: input.name, description: input.description, type: input.type, variations, tags: input.tags });
      const config = defaultEnvironmentConfig(variations);
      for (const env of await this.environments.list(tx, project.id)) {
        await this.store.insertEnvironment(tx, flag.id, env.id, config);
        await recordSnapshotChange(tx, env.id, { type: 'flag', key: flag.key, removed: false });
      }
      const view = await this.view(tx, flag);
      await recordAudit(tx, meta, { action: 'flag.created', resourceType: 'flag', resourceId: flag.id, resourceKey: flag.key, projectId: project.id, after: view });
      return view;
    });
  }

  /**
   * Updates a flag. A change of its variations changes what every environment
   * serves: where the project has an environment that requires approval, the
   * whole update is proposed as a change request instead.
   */
  async update(meta: WriteMeta, requester: Requester, projectKey: string, flagKey: string, input: UpdateFlagInput & { comment?: string }): Promise<Gated<FlagView>> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      const before = await this.flag(tx, project, flagKey);
      if (before.version !== input.version) throw versionConflict('flag', before.version, await this.view(tx, before));
      const { comment, ...update } = input;
      if (this.variationsChange(before, update) && (await gatedEnvironments(tx, this.environments, project.id)).length > 0) {
        await this.checkUpdate(tx, project, before, update);
        const changes = Object.fromEntries(Object.entries(update).filter(([k, v]) => k !== 'version' && v !== undefined));
        return { applied: false, changeRequest: await proposeChange(tx, this.changeRequests, meta, requester, { kind: 'flag_variations', projectId: project.id, flag: before, baseVersion: before.version, changes, ...(comment === undefined ? {} : { comment }) }) };
      }
      return { applied: true, value: await this.writeUpdate(tx, meta, project, before, update) };
    });
  }

  private variationsChange(before: Flag, input: UpdateFlagInput): boolean {
    return input.variations !== undefined && JSON.stringify(input.variations) !== JSON.stringify(before.variations);
  }

  private async checkUpdate(tx: Sql, project: Project, before: Flag, input: UpdateFlagInput): Promise<Variation[] | undefined> {
    const variationsChange = this.variationsChange(before, input);
    if (variationsChange && before.archived) {
      throw new ApiError('INVALID_STATE', `Flag ${before.key} is archived: unarchive it before changing its variations`, { state: 'archived' });
    }
    const variations = variationsChange ? (input.variations as Variation[]) : undefined;
    if (variations !== undefined) await this.checkVariations(tx, project, before, variations);
    return variations;
  }

  /** Checks and applies an update of `before` (read at `input.version`, environments locked) in `tx`. */
  async writeUpdate(tx: Sql, meta: WriteMeta, project: Project, before: Flag, input: UpdateFlagInput, note: Record<string, unknown> = {}): Promise<FlagView> {
    {
      const variationsChange = this.variationsChange(before, input);
      const variations = await this.checkUpdate(tx, project, before, input);
      const beforeView = await this.view(tx, before);
      const after = await this.store.update(tx, before.id, input.version, {
        name: input.name,
        description: input.description,
        tags: input.tags,
        variations,
      });
      if (after === undefined) throw versionConflict('flag', before.version, beforeView);
      if (variationsChange && !after.archived) {
        for (const env of await this.environments.list(tx, project.id)) {
          await recordSnapshotChange(tx, env.id, { type: 'flag', key: after.key, removed: false });
        }
      }
      const afterView = await this.view(tx, after);
      await recordAudit(tx, meta, { action: 'flag.updated', resourceType: 'flag', resourceId: after.id, resourceKey: after.key, projectId: project.id, before: beforeView, after: { ...afterView, ...note } });
      return afterView;
    }
  }

  /** New variations must keep the flag's configuration in every environment, and prerequisites on it, valid. */
  private async checkVariations(tx: Sql, project: Project, flag: Flag, variations: Variation[]): Promise<void> {
    const issues: ConfigIssue[] = [];
    const seen = new Set<string>();
    const configs = await this.store.configs(tx, project.id, { activeOnly: true });
    const own = await this.store.environments(tx, [flag.id]);
    for (const fe of own) {
      // Segments are not checked here: only what the variations change.
      for (const issue of validateFlag({ key: flag.key, type: flag.type, variations, ...fe.config }, { regex: RE2JS })) {
        const path = /^variations\b/.test(issue.path) ? issue.path : `environments.${fe.environmentKey}.config.${issue.path}`;
        const id = `${path}\n${issue.message}`;
        if (!seen.has(id)) issues.push({ path, message: issue.message });
        seen.add(id);
      }
    }
    const keys = new Set(variations.map((v) => v.key));
    for (const row of configs) {
      if (row.flagId === flag.id) continue;
      (row.config.prerequisites ?? []).forEach((p, i) => {
        if (p.flag !== flag.key) return;
        p.variations.forEach((v, j) => {
          if (!keys.has(v)) {
            issues.push({
              path: `flags.${row.flagKey}.environments.${row.environmentKey}.config.prerequisites[${i}].variations[${j}]`,
              message: `flag ${JSON.stringify(row.flagKey)} requires variation ${JSON.stringify(v)} of this flag in ${row.environmentKey}; change that prerequisite first`,
            });
          }
        });
      });
    }
    if (issues.length > 0) throw invalidConfiguration(issues, 'variations');
  }

  /**
   * Archives or unarchives a flag: it leaves or rejoins every snapshot, so
   * where the project has an environment that requires approval this is
   * proposed as a change request instead.
   */
  async setArchived(meta: WriteMeta, requester: Requester, projectKey: string, flagKey: string, version: number, archived: boolean, comment?: string): Promise<Gated<FlagView>> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      const before = await this.flag(tx, project, flagKey);
      if (before.version !== version) throw versionConflict('flag', before.version, await this.view(tx, before));
      if ((await gatedEnvironments(tx, this.environments, project.id)).length > 0) {
        await this.checkArchiving(tx, project, before, archived);
        return {
          applied: false,
          changeRequest: await proposeChange(tx, this.changeRequests, meta, requester, { kind: 'flag_archive', projectId: project.id, flag: before, baseVersion: before.version, changes: { archived }, ...(comment === undefined ? {} : { comment }) }),
        };
      }
      return { applied: true, value: await this.writeArchived(tx, meta, project, before, archived) };
    });
  }

  private async checkArchiving(tx: Sql, project: Project, before: Flag, archived: boolean): Promise<void> {
    if (before.archived === archived) {
      throw new ApiError('INVALID_STATE', `Flag ${before.key} is ${archived ? 'already archived' : 'not archived'}`, { state: before.archived ? 'archived' : 'active' });
    }
    if (archived) await this.checkArchivable(tx, project, before);
    else await this.checkUnarchivable(tx, project, before);
  }

  /** Checks and applies archiving of `before` (environments locked) in `tx`. */
  async writeArchived(tx: Sql, meta: WriteMeta, project: Project, before: Flag, archived: boolean, note: Record<string, unknown> = {}): Promise<FlagView> {
    const version = before.version;
    {
      await this.checkArchiving(tx, project, before, archived);
      const beforeView = await this.view(tx, before);
      const after = await this.store.update(tx, before.id, version, { archived });
      if (after === undefined) throw versionConflict('flag', before.version, beforeView);
      for (const env of await this.environments.list(tx, project.id)) {
        await recordSnapshotChange(tx, env.id, { type: 'flag', key: after.key, removed: archived });
      }
      const afterView = await this.view(tx, after);
      await recordAudit(tx, meta, {
        action: archived ? 'flag.archived' : 'flag.unarchived',
        resourceType: 'flag',
        resourceId: after.id,
        resourceKey: after.key,
        projectId: project.id,
        before: beforeView,
        after: { ...afterView, ...note },
      });
      return afterView;
    }
  }

  /** A flag that active flags require cannot vanish from the snapshots. */
  private async checkArchivable(tx: Sql, project: Project, flag: Flag): Promise<void> {
    const dependents = (await this.store.configs(tx, project.id, { activeOnly: true })).filter(
      (row) => row.flagId !== flag.id && (row.config.prerequisites ?? []).some((p) => p.flag === flag.key),
    );
    if (dependents.length === 0) return;
    const keys = [...new Set(dependents.map((d) => d.flagKey))];
    throw new ApiError('INVALID_STATE', `Flag ${flag.key} is a prerequisite of ${list(keys)}: remove it from their prerequisites before archiving it`, {
      state: 'active',
      dependents: dependents.map((d) => ({ flagKey: d.flagKey, environmentKey: d.environmentKey })),
    });
  }

  /** An unarchived flag's configurations must be valid again: its prerequisites and segments must be active. */
  private async checkUnarchivable(tx: Sql, project: Project, flag: Flag): Promise<void> {
    const issues: ConfigIssue[] = [];
    for (const env of await this.environments.list(tx, project.id)) {
      const fe = await this.store.getEnvironment(tx, flag.id, env.id);
      if (fe === undefined) continue;
      const context = await this.checkContext(tx, project, env);
      for (const issue of checkFlagConfig(flag, fe.config, context, `environments.${env.key}.config`)) issues.push(issue);
    }
    if (issues.length === 0) return;
    const first = issues[0] as ConfigIssue;
    throw new ApiError(
      'INVALID_STATE',
      `Flag ${flag.key} cannot be unarchived: its configuration names archived flags or segments (${first.path}: ${first.message}). Unarchive or recreate them first.`,
      { state: 'archived', issues },
    );
  }

  async getEnvironment(projectKey: string, flagKey: string, environmentKey: string): Promise<FlagEnvironmentView> {
    const project = await this.project(this.db, projectKey);
    const env = await this.environment(this.db, project, environmentKey);
    const flag = await this.flag(this.db, project, flagKey);
    return toFlagEnvironmentView(await this.flagEnvironment(this.db, flag, env));
  }

  private async flagEnvironment(sql: Sql, flag: Flag, env: Environment): Promise<FlagEnvironment> {
    const fe = await this.store.getEnvironment(sql, flag.id, env.id);
    if (fe === undefined) throw notFound('flag configuration', `${flag.projectKey}/${flag.key}/${env.key}`);
    return fe;
  }

  /** What a configuration in `env` is checked against, read in the transaction. */
  async checkContext(tx: Sql, project: Project, env: Environment): Promise<ConfigCheckContext> {
    const segments = new Set(await this.segments.activeKeys(tx, project.id));
    const activeFlags = new Map((await this.store.listActive(tx, project.id)).map((f) => [f.key, f.variations]));
    const environmentPrerequisites = new Map<string, readonly Prerequisite[] | undefined>(
      (await this.store.configs(tx, project.id, { environmentId: env.id, activeOnly: true })).map((row) => [row.flagKey, row.config.prerequisites]),
    );
    return { segments, activeFlags, environmentPrerequisites };
  }

  /** Throws INVALID_CONFIGURATION unless `config` is valid for `flag` in `env` now. Call with the environment locked. */
  async checkConfig(tx: Sql, project: Project, env: Environment, flag: Flag, config: FlagEnvironmentConfig): Promise<void> {
    const issues = checkFlagConfig(flag, config, await this.checkContext(tx, project, env));
    if (issues.length > 0) throw invalidConfiguration(issues);
  }

  /**
   * Writes a checked configuration: version + 1, the environment's snapshot
   * version bumped, and the audit event, all in `tx`.
   */
  async applyConfig(tx: Sql, meta: WriteMeta, flag: Flag, env: Environment, before: FlagEnvironment, config: FlagEnvironmentConfig, note: Record<string, unknown> = {}): Promise<FlagEnvironment> {
    await assertOwnedRulesUnchanged(tx, flag.projectKey, flag.id, before.config, config);
    return writeFlagEnvironment(tx, this.store, meta, flag, env.id, before, config, note);
  }


  /** Reads what a configuration write needs, with the environment locked; refuses archived flags. */
  async lockForConfigWrite(tx: Sql, projectKey: string, flagKey: string, environmentKey: string): Promise<{ project: Project; env: Environment; flag: Flag; current: FlagEnvironment }> {
    const project = await this.project(tx, projectKey);
    const unlocked = await this.environment(tx, project, environmentKey);
    await lockEnvironments(tx, project.id, unlocked.id);
    const env = await this.environment(tx, project, environmentKey);
    const flag = await this.flag(tx, project, flagKey);
    if (flag.archived) {
      throw new ApiError('INVALID_STATE', `Flag ${flagKey} is archived: its configuration cannot change. Unarchive it first.`, { state: 'archived' });
    }
    return { project, env, flag, current: await this.flagEnvironment(tx, flag, env) };
  }

  /**
   * Sets a flag's configuration in one environment: applied at once, or, in an
   * environment whose changes need approval, proposed as a change request.
   */
  async updateEnvironment(
    meta: WriteMeta,
    requester: Requester,
    projectKey: string,
    flagKey: string,
    environmentKey: string,
    input: { version: number; config: FlagEnvironmentConfig; comment?: string },
  ): Promise<Gated<FlagEnvironmentView>> {
    return this.db.transaction(async (tx) => {
      const { project, env, flag, current } = await this.lockForConfigWrite(tx, projectKey, flagKey, environmentKey);
      if (current.version !== input.version) throw versionConflict('flag configuration', current.version, toFlagEnvironmentView(current));
      await this.checkConfig(tx, project, env, flag, input.config);
      await assertOwnedRulesUnchanged(tx, project.key, flag.id, current.config, input.config);
      if (env.requiresApproval) {
        const changeRequest = await proposeChange(tx, this.changeRequests, meta, requester, {
          kind: 'flag_configuration',
          projectId: project.id,
          environmentId: env.id,
          flag,
          baseVersion: input.version,
          config: input.config,
          ...(input.comment === undefined ? {} : { comment: input.comment }),
        });
        return { applied: false, changeRequest };
      }
      const after = await this.applyConfig(tx, meta, flag, env, current, input.config, input.comment === undefined ? {} : { comment: input.comment });
      return { applied: true, value: toFlagEnvironmentView(after) };
    });
  }
}

/**
 * Writes a flag's configuration in one environment, checked beforehand by the
 * caller: version + 1 (or VERSION_CONFLICT when `before` is stale), the
 * environment's snapshot version bumped, and the audit event, all in `tx`.
 * The one way configurations are written, by people and by rollouts alike.
 */
export async function writeFlagEnvironment(
  tx: Sql,
  store: FlagStore,
  meta: WriteMeta,
  flag: Flag,
  environmentId: string,
  before: FlagEnvironment,
  config: FlagEnvironmentConfig,
  note: Record<string, unknown> = {},
): Promise<FlagEnvironment> {
  const after = await store.updateEnvironment(tx, flag.id, environmentId, before.version, config);
  if (after === undefined) throw versionConflict('flag configuration', before.version, toFlagEnvironmentView(before));
  await recordSnapshotChange(tx, environmentId, { type: 'flag', key: flag.key, removed: false });
  await recordAudit(tx, meta, {
    action: 'flag.environment.updated',
    resourceType: 'flag',
    resourceId: flag.id,
    resourceKey: flag.key,
    projectId: flag.projectId,
    environmentId,
    before: toFlagEnvironmentView(before),
    after: { ...toFlagEnvironmentView(after), ...note },
  });
  return after;
}
