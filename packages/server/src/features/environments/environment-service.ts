import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import { defaultEnvironmentConfig } from '../flags/flag-defaults.js';
import type { Project, ProjectStore } from '../projects/project-store.js';
import { lockEnvironments, type Environment, type EnvironmentStore } from './environment-store.js';

/** Environments of a project, in order (development -> staging -> production). */
export class EnvironmentService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly store: EnvironmentStore,
  ) {}

  private async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  async list(projectKey: string): Promise<Environment[]> {
    return this.store.list(this.db, (await this.project(this.db, projectKey)).id);
  }

  async get(projectKey: string, key: string, sql: Sql = this.db): Promise<Environment> {
    const env = await this.store.get(sql, (await this.project(sql, projectKey)).id, key);
    if (env === undefined) throw notFound('environment', `${projectKey}/${key}`);
    return env;
  }

  async create(meta: WriteMeta, projectKey: string, input: { key: string; name: string; requiresApproval: boolean; position?: number }): Promise<Environment> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      // Same lock order as every flag and segment write (environment ids), so a
      // flag created meanwhile cannot miss its row in the new environment.
      await lockEnvironments(tx, project.id);
      if ((await this.store.get(tx, project.id, input.key)) !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Project ${projectKey} already has an environment ${JSON.stringify(input.key)}`, { key: input.key });
      }
      const env = await this.store.insert(tx, { id: newId('env'), projectId: project.id, key: input.key, name: input.name, requiresApproval: input.requiresApproval }, input.position);
      // Every flag gets its (disabled) configuration in the new environment.
      const flags = await tx.query<{ id: string; variations: { key: string; value: unknown }[] }>('select id, variations from flags where project_id = $1', [project.id]);
      for (const flag of flags) {
        await tx.query('insert into flag_environments (flag_id, environment_id, config) values ($1, $2, $3)', [
          flag.id,
          env.id,
          JSON.stringify(defaultEnvironmentConfig(flag.variations as never)),
        ]);
      }
      await recordAudit(tx, meta, { action: 'environment.created', resourceType: 'environment', resourceId: env.id, resourceKey: env.key, projectId: project.id, environmentId: env.id, after: env });
      return env;
    });
  }

  async update(meta: WriteMeta, projectKey: string, key: string, input: { version: number; name?: string; requiresApproval?: boolean; position?: number }): Promise<Environment> {
    return this.db.transaction(async (tx) => {
      const before = await this.get(projectKey, key, tx);
      await lockEnvironments(tx, before.projectId);
      const after = await this.store.update(tx, before.id, input.version, input);
      if (after === undefined) throw versionConflict('environment', before.version, before);
      await recordAudit(tx, meta, { action: 'environment.updated', resourceType: 'environment', resourceId: after.id, resourceKey: after.key, projectId: after.projectId, environmentId: after.id, before, after });
      return after;
    });
  }
}
