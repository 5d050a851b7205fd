import type { z } from 'zod';
import type { segmentDefinitionSchema } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { iso } from '../../internal/time.js';

export type SegmentDefinition = z.infer<typeof segmentDefinitionSchema>;

/** A segment as stored. Deleting a segment archives it. */
export interface Segment {
  id: string;
  projectId: string;
  projectKey: string;
  key: string;
  name: string;
  description: string;
  definition: SegmentDefinition;
  archived: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Storage of segments. Every method takes the Sql to run on, so services choose the transaction. */
export interface SegmentStore {
  /** Active segments, by key. */
  list(sql: Sql, projectId: string, limit: number, afterKey?: string): Promise<Segment[]>;
  /** The segment with this key, archived or not. */
  getByKey(sql: Sql, projectId: string, key: string): Promise<Segment | undefined>;
  /** Keys of the project's active segments. */
  activeKeys(sql: Sql, projectId: string): Promise<string[]>;
  insert(sql: Sql, segment: Pick<Segment, 'id' | 'projectId' | 'key' | 'name' | 'description' | 'definition'>): Promise<Segment>;
  /** Applies `changes` when the stored version is `expectedVersion`; undefined when it is not. */
  update(
    sql: Sql,
    id: string,
    expectedVersion: number,
    changes: Partial<Pick<Segment, 'name' | 'description' | 'definition' | 'archived'>>,
  ): Promise<Segment | undefined>;
}

interface SegmentRow {
  id: string;
  project_id: string;
  project_key: string;
  key: string;
  name: string;
  description: string;
  definition: SegmentDefinition;
  archived_at: Date | string | null;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const toSegment = (r: SegmentRow): Segment => ({
  id: r.id,
  projectId: r.project_id,
  projectKey: r.project_key,
  key: r.key,
  name: r.name,
  description: r.description,
  definition: r.definition,
  archived: r.archived_at !== null,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const SELECT = 'select s.*, p.key as project_key from segments s join projects p on p.id = s.project_id';

export const sqlSegmentStore: SegmentStore = {
  async list(sql, projectId, limit, afterKey) {
    const rows = await sql.query<SegmentRow>(
      `${SELECT} where s.project_id = $1 and s.archived_at is null and ($2::text is null or s.key > $2) order by s.key limit $3`,
      [projectId, afterKey ?? null, limit],
    );
    return rows.map(toSegment);
  },
  async getByKey(sql, projectId, key) {
    const [row] = await sql.query<SegmentRow>(`${SELECT} where s.project_id = $1 and s.key = $2`, [projectId, key]);
    return row && toSegment(row);
  },
  async activeKeys(sql, projectId) {
    const rows = await sql.query<{ key: string }>('select key from segments where project_id = $1 and archived_at is null', [projectId]);
    return rows.map((r) => r.key);
  },
  async insert(sql, s) {
    await sql.query('insert into segments (id, project_id, key, name, description, definition) values ($1, $2, $3, $4, $5, $6)', [
      s.id,
      s.projectId,
      s.key,
      s.name,
      s.description,
      JSON.stringify(s.definition),
    ]);
    const [row] = await sql.query<SegmentRow>(`${SELECT} where s.id = $1`, [s.id]);
    return toSegment(row as SegmentRow);
  },
  async update(sql, id, expectedVersion, changes) {
    const [row] = await sql.query<{ id: string }>(
      `update segments set name = coalesce($3, name), description = coalesce($4, description), definition = coalesce($5::jsonb, definition),
              archived_at = case when $6::boolean is null then archived_at when $6 then coalesce(archived_at, now()) else null end,
              version = version + 1, updated_at = now()
        where id = $1 and version = $2 returning id`,
      [
        id,
        expectedVersion,
        changes.name ?? null,
        changes.description ?? null,
        changes.definition === undefined ? null : JSON.stringify(changes.definition),
        changes.archived ?? null,
      ],
    );
    if (row === undefined) return undefined;
    const [updated] = await sql.query<SegmentRow>(`${SELECT} where s.id = $1`, [id]);
    return updated && toSegment(updated);
  },
};
