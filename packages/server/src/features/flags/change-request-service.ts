import type { BaseRole as Role, FlagEnvironmentConfig } from '@rollgate/contract';
import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { EnvironmentStore } from '../environments/environment-store.js';
import type { Project } from '../projects/project-store.js';
import type { ChangeRequest, ChangeRequestFilter, ChangeRequestStatus, ChangeRequestStore } from './change-request-store.js';
import { toChangeRequestView, type ChangeRequestView, type FlagService } from './flag-service.js';
import { lockEnvironments } from '../environments/environment-store.js';
import { type FlagStore } from './flag-store.js';
import type { SegmentService } from '../segments/segment-service.js';
import type { SegmentDefinition } from '../segments/segment-store.js';

/** Who decides on a change request. */
export interface Decider {
  userId: string;
  role: Role;
}

export interface DecisionInput {
  version: number;
  comment: string;
}

type Outcome = { conflict: false; request: ChangeRequest } | { conflict: true; request: ChangeRequest; currentVersion: number };

/** What a change request changes, in words. */
function subject(r: ChangeRequest): string {
  switch (r.kind) {
    case 'flag_configuration':
      return `the configuration of ${r.flagKey} in ${r.environmentKey}`;
    case 'flag_variations':
    case 'flag_archive':
      return `flag ${r.flagKey}`;
    case 'segment':
      return `segment ${r.segmentKey}`;
  }
}

/**
 * Change requests: changes proposed where an environment's changes need
 * approval (a flag's configuration there, a flag's variations or archived
 * state, a segment a flag uses there). An approver (not the author) applies
 * one; it applies only if what it changes is still at the version it was made from.
 */
export class ChangeRequestService {
  constructor(
    private readonly db: Database,
    private readonly store: ChangeRequestStore,
    private readonly flags: FlagService,
    private readonly flagStore: FlagStore,
    private readonly environments: EnvironmentStore,
    private readonly segments: Pick<SegmentService, 'getForWrite' | 'writeUpdate'>,
  ) {}

  async list(projectKey: string, filter: ChangeRequestFilter): Promise<ChangeRequestView[]> {
    const project = await this.flags.project(this.db, projectKey);
    return (await this.store.list(this.db, project.id, filter)).map(toChangeRequestView);
  }

  async get(projectKey: string, id: string): Promise<ChangeRequestView> {
    const project = await this.flags.project(this.db, projectKey);
    return toChangeRequestView(await this.request(this.db, project, id));
  }

  private async request(sql: Sql, project: Project, id: string): Promise<ChangeRequest> {
    const request = await this.store.get(sql, project.id, id);
    if (request === undefined) throw notFound('change request', id);
    return request;
  }

  /** Refuses unless the request is pending and at the version the caller read. */
  private checkPending(request: ChangeRequest, version: number): void {
    if (request.status !== 'pending') {
      throw new ApiError('INVALID_STATE', `Change request ${request.id} is ${request.status}: only pending requests can be decided`, { state: request.status });
    }
    if (request.version !== version) throw versionConflict('change request', request.version, toChangeRequestView(request));
  }

  private async decide(tx: Sql, meta: WriteMeta, decider: Decider, before: ChangeRequest, status: Exclude<ChangeRequestStatus, 'pending'>, comment: string): Promise<ChangeRequest> {
    const after = await this.store.decide(tx, before.id, before.version, { status, decidedBy: decider.userId, decisionComment: comment });
    if (after === undefined) {
      const now = await this.store.get(tx, before.projectId, before.id);
      throw versionConflict('change request', now?.version ?? before.version);
    }
    const action = { applied: 'approved', rejected: 'rejected', cancelled: 'cancelled', conflict: 'conflict' }[status];
    await recordAudit(tx, meta, {
      action: `change_request.${action}`,
      resourceType: 'change_request',
      resourceId: after.id,
      resourceKey: after.flagKey ?? after.segmentKey,
      projectId: after.projectId,
      environmentId: after.environmentId,
      before: toChangeRequestView(before),
      after: toChangeRequestView(after),
    });
    return after;
  }

  /**
   * Approves and applies, in one transaction. When what it changes
   * changed since the request was made, the request is marked `conflict`
   * (that is committed) and the answer is VERSION_CONFLICT.
   */
  async approve(meta: WriteMeta, decider: Decider, projectKey: string, id: string, input: DecisionInput): Promise<ChangeRequestView> {
    const outcome = await this.db.transaction(async (tx): Promise<Outcome> => {
      const project = await this.flags.project(tx, projectKey);
      const unlocked = await this.request(tx, project, id);
      if (unlocked.authorId === decider.userId) {
        throw new ApiError('SELF_APPROVAL', 'You made this change request: another approver or admin must approve it', { authorId: unlocked.authorId });
      }
      await lockEnvironments(tx, project.id, unlocked.environmentId ?? undefined);
      const request = await this.request(tx, project, id);
      this.checkPending(request, input.version);
      const currentVersion = await this.apply(tx, meta, project, request);
      if (currentVersion !== undefined) {
        // Decided before anything is written: the conflict status commits on its own.
        const decided = await this.decide(tx, meta, decider, request, 'conflict', input.comment);
        return { conflict: true, request: decided, currentVersion };
      }
      return { conflict: false, request: await this.decide(tx, meta, decider, request, 'applied', input.comment) };
    });
    if (outcome.conflict) {
      const r = outcome.request;
      throw new ApiError(
        'VERSION_CONFLICT',
        `${subject(r).replace(/^./, (c) => c.toUpperCase())} changed since this request was made (version ${r.baseVersion}, now ${outcome.currentVersion}): the request is marked conflict. Make the change again from the current version.`,
        { currentVersion: outcome.currentVersion, baseVersion: r.baseVersion, changeRequest: toChangeRequestView(r) },
      );
    }
    return toChangeRequestView(outcome.request);
  }

  /**
   * Applies a pending request in `tx` (checked again against what is there
   * now); returns the current version instead when what it changes is no
   * longer at the request's base version.
   */
  private async apply(tx: Sql, meta: WriteMeta, project: Project, request: ChangeRequest): Promise<number | undefined> {
    const note = { changeRequestId: request.id };
    if (request.kind === 'segment') {
      const segment = await this.segments.getForWrite(tx, project, request.segmentKey ?? '');
      if (segment.version !== request.baseVersion) return segment.version;
      const { name, description, definition } = (request.changes ?? {}) as { name?: string; description?: string; definition?: SegmentDefinition };
      await this.segments.writeUpdate(tx, meta, project, segment, { version: segment.version, name, description, definition }, note);
      return undefined;
    }
    const flag = request.flagId === null ? undefined : await this.flagStore.getById(tx, request.flagId);
    if (flag === undefined) throw notFound('change request', request.id);
    if (request.kind === 'flag_variations' || request.kind === 'flag_archive') {
      if (flag.version !== request.baseVersion) return flag.version;
      const changes = request.changes ?? {};
      if (request.kind === 'flag_archive') await this.flags.writeArchived(tx, meta, project, flag, changes.archived === true, note);
      else await this.flags.writeUpdate(tx, meta, project, flag, { ...(changes as object), version: flag.version }, note);
      return undefined;
    }
    const env = request.environmentId === null ? undefined : await this.environments.getById(tx, request.environmentId);
    if (env === undefined) throw notFound('change request', request.id);
    if (flag.archived) {
      throw new ApiError('INVALID_STATE', `Flag ${flag.key} was archived since the request was made: its configuration cannot change. Unarchive it or reject the request.`, {
        state: 'archived',
        flagKey: flag.key,
      });
    }
    const current = await this.flagStore.getEnvironment(tx, flag.id, env.id);
    if (current === undefined) throw notFound('flag configuration', `${project.key}/${flag.key}/${env.key}`);
    if (current.version !== request.baseVersion) return current.version;
    const config = request.config as FlagEnvironmentConfig;
    await this.flags.checkConfig(tx, project, env, flag, config);
    await this.flags.applyConfig(tx, meta, flag, env, current, config, note);
    return undefined;
  }

  /** Rejects a pending request; its author cancels instead. */
  async reject(meta: WriteMeta, decider: Decider, projectKey: string, id: string, input: DecisionInput): Promise<ChangeRequestView> {
    return this.db.transaction(async (tx) => {
      const project = await this.flags.project(tx, projectKey);
      const request = await this.request(tx, project, id);
      if (request.authorId === decider.userId) {
        throw new ApiError('SELF_APPROVAL', 'You made this change request: you cannot decide on it; cancel it instead', { authorId: request.authorId });
      }
      this.checkPending(request, input.version);
      return toChangeRequestView(await this.decide(tx, meta, decider, request, 'rejected', input.comment));
    });
  }

  /** Withdraws a pending request: its author, or an admin. */
  async cancel(meta: WriteMeta, decider: Decider, projectKey: string, id: string, input: DecisionInput): Promise<ChangeRequestView> {
    return this.db.transaction(async (tx) => {
      const project = await this.flags.project(tx, projectKey);
      const request = await this.request(tx, project, id);
      if (request.authorId !== decider.userId && decider.role !== 'admin') {
        throw new ApiError('FORBIDDEN', 'Only the author of a change request, or an admin, can cancel it', { required: 'author or admin', role: decider.role });
      }
      this.checkPending(request, input.version);
      return toChangeRequestView(await this.decide(tx, meta, decider, request, 'cancelled', input.comment));
    });
  }
}
