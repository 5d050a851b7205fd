import type { Role } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

/** A user's role in one project, as stored. */
export interface ProjectMember {
  projectKey: string;
  userId: string;
  email: string;
  name: string;
  role: Role;
  grantedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

interface MemberRow {
  project_key: string;
  user_id: string;
  email: string;
  name: string;
  role: Role;
  granted_by: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const toMember = (r: MemberRow): ProjectMember => ({
  projectKey: r.project_key,
  userId: r.user_id,
  email: r.email,
  name: r.name,
  role: r.role,
  grantedBy: r.granted_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const SELECT = `select r.*, p.key as project_key, u.email, u.name from project_roles r
  join projects p on p.id = r.project_id join users u on u.id = r.user_id`;

/** Storage of project roles. */
export const sqlProjectRoleStore = {
  /** A project's members ordered by user id, after `afterUserId`. */
  async list(sql: Sql, projectId: string, limit: number, afterUserId?: string): Promise<ProjectMember[]> {
    const rows = await sql.query<MemberRow>(`${SELECT} where r.project_id = $1 and ($2::text is null or r.user_id > $2) order by r.user_id limit $3`, [projectId, afterUserId ?? null, limit]);
    return rows.map(toMember);
  },
  async get(sql: Sql, projectId: string, userId: string): Promise<ProjectMember | undefined> {
    const [row] = await sql.query<MemberRow>(`${SELECT} where r.project_id = $1 and r.user_id = $2`, [projectId, userId]);
    return row && toMember(row);
  },
  /** Grants `role` (or changes the role already granted). */
  async set(sql: Sql, projectId: string, userId: string, role: Role, grantedBy: string): Promise<ProjectMember> {
    await sql.query(
      `insert into project_roles (project_id, user_id, role, granted_by) values ($1, $2, $3, $4)
       on conflict (project_id, user_id) do update set role = excluded.role, granted_by = excluded.granted_by, updated_at = now()`,
      [projectId, userId, role, grantedBy],
    );
    return (await this.get(sql, projectId, userId)) as ProjectMember;
  },
  async remove(sql: Sql, projectId: string, userId: string): Promise<void> {
    await sql.query('delete from project_roles where project_id = $1 and user_id = $2', [projectId, userId]);
  },
  /** A user's roles, by project key: what their token is authorized with. */
  async rolesOfUser(sql: Sql, userId: string): Promise<Map<string, Role>> {
    const rows = await sql.query<{ key: string; role: Role }>('select p.key, r.role from project_roles r join projects p on p.id = r.project_id where r.user_id = $1', [userId]);
    return new Map(rows.map((r) => [r.key, r.role]));
  },
};
