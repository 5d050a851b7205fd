import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

/** A project as stored. */
export interface Project {
  id: string;
  key: string;
  name: string;
  description: string;
  /** Accept metrics nobody defined at ingestion. */
  freeFormMetrics: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Storage of projects. Every method takes the Sql to run on, so services choose the transaction. */
export interface ProjectStore {
  /** Projects by key; with `memberId`, only those where that user has a project role. */
  list(sql: Sql, limit: number, afterKey?: string, memberId?: string): Promise<Project[]>;
  getByKey(sql: Sql, key: string): Promise<Project | undefined>;
  insert(sql: Sql, project: Pick<Project, 'id' | 'key' | 'name' | 'description'> & Partial<Pick<Project, 'freeFormMetrics'>>): Promise<Project>;
  /** Applies `changes` when the stored version is `expectedVersion`; undefined when it is not. */
  update(sql: Sql, id: string, expectedVersion: number, changes: Partial<Pick<Project, 'name' | 'description' | 'freeFormMetrics'>>): Promise<Project | undefined>;
}

interface ProjectRow {
  id: string;
  key: string;
  name: string;
  description: string;
  free_form_metrics: boolean;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  key: r.key,
  name: r.name,
  description: r.description,
  freeFormMetrics: r.free_form_metrics === true,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export const sqlProjectStore: ProjectStore = {
  async list(sql, limit, afterKey, memberId) {
    const rows = await sql.query<ProjectRow>(
      `select * from projects where ($1::text is null or key > $1)
          and ($3::text is null or exists (select 1 from project_roles r where r.project_id = projects.id and r.user_id = $3))
        order by key limit $2`,
      [afterKey ?? null, limit, memberId ?? null],
    );
    return rows.map(toProject);
  },
  async getByKey(sql, key) {
    const [row] = await sql.query<ProjectRow>('select * from projects where key = $1', [key]);
    return row && toProject(row);
  },
  async insert(sql, p) {
    const [row] = await sql.query<ProjectRow>('insert into projects (id, key, name, description, free_form_metrics) values ($1, $2, $3, $4, $5) returning *', [
      p.id,
      p.key,
      p.name,
      p.description,
      p.freeFormMetrics === true,
    ]);
    return toProject(row as ProjectRow);
  },
  async update(sql, id, expectedVersion, changes) {
    const [row] = await sql.query<ProjectRow>(
      `update projects set name = coalesce($3, name), description = coalesce($4, description), free_form_metrics = coalesce($5, free_form_metrics),
              version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning *`,
      [id, expectedVersion, changes.name ?? null, changes.description ?? null, changes.freeFormMetrics ?? null],
    );
    return row && toProject(row);
  },
};
