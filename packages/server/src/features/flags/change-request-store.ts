import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { CHANGE_REQUEST_KINDS, CHANGE_REQUEST_STATUSES } from '@rollgate/contract';
import type { Sql } from '../../db/database.js';
import { iso, isoOrNull } from '../../internal/time.js';

export type ChangeRequestStatus = (typeof CHANGE_REQUEST_STATUSES)[number];
export type ChangeRequestKind = (typeof CHANGE_REQUEST_KINDS)[number];

/**
 * A proposed change that needs approval: a flag's configuration in one
 * environment (`flag_configuration`), a flag's variations (and whatever else
 * the same update changes) or archived state, or a segment.
 */
export interface ChangeRequest {
  id: string;
  kind: ChangeRequestKind;
  projectId: string;
  projectKey: string;
  environmentId: string | null;
  environmentKey: string | null;
  flagId: string | null;
  flagKey: string | null;
  segmentId: string | null;
  segmentKey: string | null;
  status: ChangeRequestStatus;
  authorId: string;
  /** The version of what is changed (flag configuration, flag or segment) the change was made from. */
  baseVersion: number;
  config: FlagEnvironmentConfig | null;
  changes: Record<string, unknown> | null;
  comment: string;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionComment: string | null;
  version: number;
}

export interface ChangeRequestFilter {
  status?: ChangeRequestStatus;
  kind?: ChangeRequestKind;
  environmentKey?: string;
  flagKey?: string;
  /** Newest first: return requests with ids below this one. */
  beforeId?: string;
  limit: number;
}

export interface ChangeRequestStore {
  list(sql: Sql, projectId: string, filter: ChangeRequestFilter): Promise<ChangeRequest[]>;
  get(sql: Sql, projectId: string, id: string): Promise<ChangeRequest | undefined>;
  insert(
    sql: Sql,
    request: Pick<ChangeRequest, 'id' | 'kind' | 'projectId' | 'environmentId' | 'flagId' | 'segmentId' | 'authorId' | 'baseVersion' | 'config' | 'changes' | 'comment'>,
  ): Promise<ChangeRequest>;
  /** Records a decision when the request is at `expectedVersion`; undefined when it is not. */
  decide(
    sql: Sql,
    id: string,
    expectedVersion: number,
    decision: { status: Exclude<ChangeRequestStatus, 'pending'>; decidedBy: string; decisionComment: string },
  ): Promise<ChangeRequest | undefined>;
}

interface ChangeRequestRow {
  id: string;
  kind: ChangeRequestKind;
  project_id: string;
  project_key: string;
  environment_id: string | null;
  environment_key: string | null;
  flag_id: string | null;
  flag_key: string | null;
  segment_id: string | null;
  segment_key: string | null;
  status: ChangeRequestStatus;
  author_id: string;
  base_version: number;
  config: FlagEnvironmentConfig | null;
  changes: Record<string, unknown> | null;
  comment: string;
  created_at: Date | string;
  decided_by: string | null;
  decided_at: Date | string | null;
  decision_comment: string | null;
  version: number;
}

const toChangeRequest = (r: ChangeRequestRow): ChangeRequest => ({
  id: r.id,
  kind: r.kind,
  projectId: r.project_id,
  projectKey: r.project_key,
  environmentId: r.environment_id,
  environmentKey: r.environment_key,
  flagId: r.flag_id,
  flagKey: r.flag_key,
  segmentId: r.segment_id,
  segmentKey: r.segment_key,
  status: r.status,
  authorId: r.author_id,
  baseVersion: r.base_version,
  config: r.config,
  changes: r.changes,
  comment: r.comment,
  createdAt: iso(r.created_at),
  decidedBy: r.decided_by,
  decidedAt: isoOrNull(r.decided_at),
  decisionComment: r.decision_comment,
  version: r.version,
});

const SELECT = `select c.*, p.key as project_key, e.key as environment_key, f.key as flag_key, s.key as segment_key
  from change_requests c
  join projects p on p.id = c.project_id
  left join environments e on e.id = c.environment_id
  left join flags f on f.id = c.flag_id
  left join segments s on s.id = c.segment_id`;

export const sqlChangeRequestStore: ChangeRequestStore = {
  async list(sql, projectId, filter) {
    const rows = await sql.query<ChangeRequestRow>(
      `${SELECT} where c.project_id = $1 and ($2::text is null or c.status = $2) and ($3::text is null or e.key = $3)
          and ($4::text is null or f.key = $4) and ($5::text is null or c.id < $5) and ($7::text is null or c.kind = $7)
        order by c.id desc limit $6`,
      [projectId, filter.status ?? null, filter.environmentKey ?? null, filter.flagKey ?? null, filter.beforeId ?? null, filter.limit, filter.kind ?? null],
    );
    return rows.map(toChangeRequest);
  },
  async get(sql, projectId, id) {
    const [row] = await sql.query<ChangeRequestRow>(`${SELECT} where c.project_id = $1 and c.id = $2`, [projectId, id]);
    return row && toChangeRequest(row);
  },
  async insert(sql, r) {
    await sql.query(
      `insert into change_requests (id, kind, project_id, environment_id, flag_id, segment_id, status, author_id, base_version, config, changes, comment)
       values ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11)`,
      [
        r.id,
        r.kind,
        r.projectId,
        r.environmentId,
        r.flagId,
        r.segmentId,
        r.authorId,
        r.baseVersion,
        r.config === null ? null : JSON.stringify(r.config),
        r.changes === null ? null : JSON.stringify(r.changes),
        r.comment,
      ],
    );
    return (await this.get(sql, r.projectId, r.id)) as ChangeRequest;
  },
  async decide(sql, id, expectedVersion, d) {
    const [row] = await sql.query<{ project_id: string }>(
      `update change_requests set status = $3, decided_by = $4, decided_at = now(), decision_comment = $5, version = version + 1
        where id = $1 and version = $2 returning project_id`,
      [id, expectedVersion, d.status, d.decidedBy, d.decisionComment],
    );
    return row && this.get(sql, row.project_id, id);
  },
};
