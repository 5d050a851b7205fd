import type { Database } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { Project, ProjectStore } from './project-store.js';

/** Projects: create, read, rename. Every write is audited in its transaction. */
export class ProjectService {
  constructor(
    private readonly db: Database,
    private readonly store: ProjectStore,
  ) {}

  /** Projects by key; with `memberId`, only those where that user has a project role. */
  list(limit: number, afterKey?: string, memberId?: string): Promise<Project[]> {
    return this.store.list(this.db, limit, afterKey, memberId);
  }

  async get(key: string): Promise<Project> {
    const project = await this.store.getByKey(this.db, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  async create(meta: WriteMeta, input: { key: string; name: string; description: string; freeFormMetrics?: boolean }): Promise<Project> {
    return this.db.transaction(async (tx) => {
      if ((await this.store.getByKey(tx, input.key)) !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `A project with the key ${JSON.stringify(input.key)} already exists`, { key: input.key });
      }
      const project = await this.store.insert(tx, { id: newId('prj'), ...input });
      await recordAudit(tx, meta, { action: 'project.created', resourceType: 'project', resourceId: project.id, resourceKey: project.key, projectId: project.id, after: project });
      return project;
    });
  }

  async update(meta: WriteMeta, key: string, input: { version: number; name?: string; description?: string; freeFormMetrics?: boolean }): Promise<Project> {
    return this.db.transaction(async (tx) => {
      const before = await this.store.getByKey(tx, key);
      if (before === undefined) throw notFound('project', key);
      const after = await this.store.update(tx, before.id, input.version, { name: input.name, description: input.description, freeFormMetrics: input.freeFormMetrics });
      if (after === undefined) throw versionConflict('project', before.version, before);
      await recordAudit(tx, meta, { action: 'project.updated', resourceType: 'project', resourceId: after.id, resourceKey: after.key, projectId: after.id, before, after });
      return after;
    });
  }
}
