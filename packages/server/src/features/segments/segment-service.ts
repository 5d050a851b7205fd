import { RE2JS } from 're2js';
import type { z } from 'zod';
import type { segmentSchema } from '@rollgate/contract';
import { validateSegment } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { EnvironmentStore } from '../environments/environment-store.js';
import { lockEnvironments } from '../environments/environment-store.js';
import type { ChangeRequestStore } from '../flags/change-request-store.js';
import { gatedEnvironments, proposeChange, type Gated, type Requester } from '../flags/flag-service.js';
import type { FlagStore } from '../flags/flag-store.js';
import type { Project, ProjectStore } from '../projects/project-store.js';
import { recordSnapshotChange } from '../snapshot-changes.js';
import type { Segment, SegmentDefinition, SegmentStore } from './segment-store.js';

export type SegmentView = z.infer<typeof segmentSchema>;

const toView = (s: Segment): SegmentView => ({
  id: s.id,
  projectKey: s.projectKey,
  key: s.key,
  name: s.name,
  description: s.description,
  definition: s.definition,
  version: s.version,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

/** Throws INVALID_CONFIGURATION unless the core accepts the definition. */
function checkDefinition(key: string, definition: SegmentDefinition): void {
  const issues = validateSegment({ key, ...definition }, { regex: RE2JS }).map((i) => ({ path: i.path === 'key' ? 'key' : `definition${i.path.startsWith('[') || i.path === '' ? '' : '.'}${i.path}`, message: i.message }));
  if (issues.length === 0) return;
  const first = issues[0] as { path: string; message: string };
  throw new ApiError('INVALID_CONFIGURATION', `Invalid segment definition: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
}

/**
 * Segments: audiences shared by every environment of a project. Each change
 * bumps the snapshot version of every environment, in the writing
 * transaction. Deleting archives; a segment that active flags use cannot be deleted.
 */
export class SegmentService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly environments: EnvironmentStore,
    private readonly store: SegmentStore,
    private readonly flags: Pick<FlagStore, 'referencingSegment'>,
    private readonly changeRequests: ChangeRequestStore,
  ) {}

  async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  private async segment(sql: Sql, project: Project, key: string): Promise<Segment> {
    const segment = await this.store.getByKey(sql, project.id, key);
    if (segment === undefined || segment.archived) throw notFound('segment', `${project.key}/${key}`);
    return segment;
  }

  private async changed(tx: Sql, project: Project, key: string, removed: boolean): Promise<void> {
    for (const env of await this.environments.list(tx, project.id)) await recordSnapshotChange(tx, env.id, { type: 'segment', key, removed });
  }

  async list(projectKey: string, limit: number, afterKey?: string): Promise<SegmentView[]> {
    const project = await this.project(this.db, projectKey);
    return (await this.store.list(this.db, project.id, limit, afterKey)).map(toView);
  }

  async get(projectKey: string, key: string): Promise<SegmentView> {
    return toView(await this.segment(this.db, await this.project(this.db, projectKey), key));
  }

  /** Creates a segment; the key of a deleted segment may be used again (the segment comes back with the new definition). */
  async create(meta: WriteMeta, projectKey: string, input: { key: string; name: string; description: string; definition: SegmentDefinition }): Promise<SegmentView> {
    checkDefinition(input.key, input.definition);
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      const existing = await this.store.getByKey(tx, project.id, input.key);
      let segment: Segment;
      if (existing === undefined) {
        segment = await this.store.insert(tx, { id: newId('seg'), projectId: project.id, ...input });
      } else if (existing.archived) {
        const revived = await this.store.update(tx, existing.id, existing.version, { name: input.name, description: input.description, definition: input.definition, archived: false });
        if (revived === undefined) throw new ApiError('ALREADY_EXISTS', `Project ${projectKey} already has a segment ${JSON.stringify(input.key)}`, { key: input.key });
        segment = revived;
      } else {
        throw new ApiError('ALREADY_EXISTS', `Project ${projectKey} already has a segment ${JSON.stringify(input.key)}`, { key: input.key });
      }
      await this.changed(tx, project, segment.key, false);
      const view = toView(segment);
      await recordAudit(tx, meta, {
        action: 'segment.created',
        resourceType: 'segment',
        resourceId: segment.id,
        resourceKey: segment.key,
        projectId: project.id,
        ...(existing === undefined ? {} : { before: { ...toView(existing), archived: true } }),
        after: view,
      });
      return view;
    });
  }

  /**
   * Updates a segment. A new definition changes what every flag using the
   * segment serves: when one of them uses it in an environment that requires
   * approval, the update is proposed as a change request instead.
   */
  async update(
    meta: WriteMeta,
    requester: Requester,
    projectKey: string,
    key: string,
    input: { version: number; name?: string; description?: string; definition?: SegmentDefinition; comment?: string },
  ): Promise<Gated<SegmentView>> {
    if (input.definition !== undefined) checkDefinition(key, input.definition);
    const { comment, ...update } = input;
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      const before = await this.segment(tx, project, key);
      if (before.version !== update.version) throw versionConflict('segment', before.version, toView(before));
      const gated = await this.gatedUses(tx, project, before, update.definition);
      if (gated.length > 0) {
        const changes = Object.fromEntries(Object.entries(update).filter(([k, v]) => k !== 'version' && v !== undefined));
        const changeRequest = await proposeChange(tx, this.changeRequests, meta, requester, {
          kind: 'segment',
          projectId: project.id,
          segment: before,
          baseVersion: before.version,
          changes: { ...changes, usedIn: gated },
          ...(comment === undefined ? {} : { comment }),
        });
        return { applied: false, changeRequest };
      }
      return { applied: true, value: await this.writeUpdate(tx, meta, project, before, update) };
    });
  }

  /** Where a new definition would change what an environment that requires approval serves: the flags using the segment there. */
  private async gatedUses(tx: Sql, project: Project, before: Segment, definition: SegmentDefinition | undefined): Promise<{ flagKey: string; environmentKey: string }[]> {
    if (definition === undefined || JSON.stringify(definition) === JSON.stringify(before.definition)) return [];
    const gated = new Set((await gatedEnvironments(tx, this.environments, project.id)).map((e) => e.key));
    if (gated.size === 0) return [];
    return (await this.flags.referencingSegment(tx, project.id, before.key)).filter((u) => gated.has(u.environmentKey)).map((u) => ({ flagKey: u.flagKey, environmentKey: u.environmentKey }));
  }

  /** The segment `key` of `project`, read in `tx`. */
  async getForWrite(tx: Sql, project: Project, key: string): Promise<Segment> {
    return this.segment(tx, project, key);
  }

  /** Applies an update of `before` (environments locked) in `tx`: VERSION_CONFLICT unless it is at `input.version`. */
  async writeUpdate(tx: Sql, meta: WriteMeta, project: Project, before: Segment, input: { version: number; name?: string; description?: string; definition?: SegmentDefinition }, note: Record<string, unknown> = {}): Promise<SegmentView> {
    if (input.definition !== undefined) checkDefinition(before.key, input.definition);
    const after = await this.store.update(tx, before.id, input.version, { name: input.name, description: input.description, definition: input.definition });
    if (after === undefined) throw versionConflict('segment', before.version, toView(before));
    await this.changed(tx, project, after.key, false);
    const view = toView(after);
    await recordAudit(tx, meta, { action: 'segment.updated', resourceType: 'segment', resourceId: after.id, resourceKey: after.key, projectId: project.id, before: toView(before), after: { ...view, ...note } });
    return view;
  }

  /** Archives a segment, unless an active flag's rules use it in some environment. */
  async delete(meta: WriteMeta, projectKey: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      await lockEnvironments(tx, project.id);
      const before = await this.segment(tx, project, key);
      const users = await this.flags.referencingSegment(tx, project.id, key);
      if (users.length > 0) {
        const flags = [...new Set(users.map((u) => u.flagKey))];
        throw new ApiError(
          'INVALID_STATE',
          `Segment ${key} is used by ${flags.map((f) => JSON.stringify(f)).join(', ')}: remove it from their rules before deleting it`,
          { state: 'in use', flags: users.map((u) => ({ flagKey: u.flagKey, environmentKey: u.environmentKey })) },
        );
      }
      const after = await this.store.update(tx, before.id, before.version, { archived: true });
      if (after === undefined) throw versionConflict('segment', before.version, toView(before));
      await this.changed(tx, project, key, true);
      await recordAudit(tx, meta, { action: 'segment.deleted', resourceType: 'segment', resourceId: before.id, resourceKey: key, projectId: project.id, before: toView(before), after: { ...toView(after), archived: true } });
    });
  }
}
