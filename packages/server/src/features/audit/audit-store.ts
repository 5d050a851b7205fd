import type { Sql } from '../../db/database.js';
import { newId } from '../../internal/ids.js';

/** Who did something, as the audit log records it. */
export interface AuditActor {
  kind: 'user' | 'token' | 'system';
  id: string;
  name: string;
}

/** One change, as written in the same transaction as the change itself. */
export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId: string;
  resourceKey?: string | null;
  projectId?: string | null;
  environmentId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** What every write carries: the actor and the request it came from. */
export interface WriteMeta {
  actor: AuditActor;
  requestId: string | null;
}

export interface AuditRow {
  seq: number;
  id: string;
  at: Date | string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  resource_type: string;
  resource_id: string;
  resource_key: string | null;
  project_key: string | null;
  environment_key: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

export interface AuditFilter {
  projectKey?: string;
  environmentKey?: string;
  resourceType?: string;
  resourceId?: string;
  action?: string;
  actorId?: string;
  since?: string;
  until?: string;
  /** Return events with seq below this (newest first paging). */
  beforeSeq?: number;
  limit: number;
}

/**
 * Appends one audit event. Call it inside the transaction of the change it
 * records, so that a change and its audit event commit or roll back together.
 */
export async function recordAudit(tx: Sql, meta: WriteMeta, entry: AuditEntry): Promise<void> {
  await tx.query(
    `insert into audit_events (id, actor_kind, actor_id, actor_name, action, resource_type, resource_id, resource_key, project_id, environment_id, before, after, request_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      newId('evt'),
      meta.actor.kind,
      meta.actor.id,
      meta.actor.name,
      entry.action,
      entry.resourceType,
      entry.resourceId,
      entry.resourceKey ?? null,
      entry.projectId ?? null,
      entry.environmentId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      meta.requestId,
    ],
  );
}

/** Reads the audit log, newest first, with filters. */
export async function listAudit(sql: Sql, filter: AuditFilter): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.projectKey !== undefined) add('p.key = ?', filter.projectKey);
  if (filter.environmentKey !== undefined) add('e.key = ?', filter.environmentKey);
  if (filter.resourceType !== undefined) add('a.resource_type = ?', filter.resourceType);
  if (filter.resourceId !== undefined) add('a.resource_id = ?', filter.resourceId);
  if (filter.action !== undefined) add('a.action = ?', filter.action);
  if (filter.actorId !== undefined) add('a.actor_id = ?', filter.actorId);
  if (filter.since !== undefined) add('a.at >= ?', filter.since);
  if (filter.until !== undefined) add('a.at < ?', filter.until);
  if (filter.beforeSeq !== undefined) add('a.seq < ?', filter.beforeSeq);
  params.push(filter.limit);
  return sql.query<AuditRow>(
    `select a.seq, a.id, a.at, a.actor_kind, a.actor_id, a.actor_name, a.action, a.resource_type, a.resource_id, a.resource_key,
            p.key as project_key, e.key as environment_key, a.before, a.after, a.request_id
       from audit_events a
       left join projects p on p.id = a.project_id
       left join environments e on e.id = a.environment_id
      ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
      order by a.seq desc
      limit $${params.length}`,
    params,
  );
}
