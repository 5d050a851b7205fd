import type { Role } from '@rollgate/contract';
import { TOKENS_CHANNEL, type Database } from '../../db/database.js';
import { notFound } from '../../http/errors.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { TokenAuthenticator } from '../tokens/token-auth.js';
import type { UserStore } from '../users/user-store.js';
import { sqlProjectRoleStore, type ProjectMember } from './project-role-store.js';
import type { Project, ProjectStore } from './project-store.js';

/**
 * Project roles: who has which role in a project. A grant or revocation is
 * audited in its transaction and reaches every replica's token cache at once
 * (NOTIFY on TOKENS_CHANNEL; this replica's cache is cleared after the commit).
 */
export class ProjectMemberService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly users: UserStore,
    private readonly tokenAuth: Pick<TokenAuthenticator, 'invalidate'>,
  ) {}

  private async project(key: string, sql = this.db as Parameters<ProjectStore['getByKey']>[0]): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  async list(projectKey: string, limit: number, afterUserId?: string): Promise<ProjectMember[]> {
    return sqlProjectRoleStore.list(this.db, (await this.project(projectKey)).id, limit, afterUserId);
  }

  /** Gives `userId` the role `role` in the project (or changes it). */
  async set(meta: WriteMeta, projectKey: string, userId: string, role: Role): Promise<ProjectMember> {
    const member = await this.db.transaction(async (tx) => {
      const project = await this.project(projectKey, tx);
      const user = await this.users.get(tx, userId);
      if (user === undefined) throw notFound('user', userId);
      const before = await sqlProjectRoleStore.get(tx, project.id, userId);
      const after = await sqlProjectRoleStore.set(tx, project.id, userId, role, meta.actor.id);
      await tx.query('select pg_notify($1, $2)', [TOKENS_CHANNEL, `user:${userId}`]);
      await recordAudit(tx, meta, {
        action: 'project.role.granted',
        resourceType: 'project_role',
        resourceId: `${project.id}:${userId}`,
        resourceKey: user.email,
        projectId: project.id,
        ...(before === undefined ? {} : { before }),
        after,
      });
      return after;
    });
    this.tokenAuth.invalidate();
    return member;
  }

  /** Takes a user's project role away; their base role applies in the project again. */
  async remove(meta: WriteMeta, projectKey: string, userId: string): Promise<ProjectMember> {
    const member = await this.db.transaction(async (tx) => {
      const project = await this.project(projectKey, tx);
      const before = await sqlProjectRoleStore.get(tx, project.id, userId);
      if (before === undefined) throw notFound('project role', `${projectKey}/${userId}`);
      await sqlProjectRoleStore.remove(tx, project.id, userId);
      await tx.query('select pg_notify($1, $2)', [TOKENS_CHANNEL, `user:${userId}`]);
      await recordAudit(tx, meta, { action: 'project.role.revoked', resourceType: 'project_role', resourceId: `${project.id}:${userId}`, resourceKey: before.email, projectId: project.id, before });
      return before;
    });
    this.tokenAuth.invalidate();
    return member;
  }
}
