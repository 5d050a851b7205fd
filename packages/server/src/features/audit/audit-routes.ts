import type { FastifyInstance } from 'fastify';
import { auditEventSchema, auditQuerySchema, pageSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { projectRole } from '../../http/auth.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { iso } from '../../internal/time.js';
import { listAudit, type AuditRow } from './audit-store.js';

/** An audit row as the API shows it. */
export const toAuditEvent = (r: AuditRow) => ({
  id: r.id,
  seq: Number(r.seq),
  at: iso(r.at),
  actor: { kind: r.actor_kind as 'user' | 'token' | 'system', id: r.actor_id, name: r.actor_name },
  action: r.action,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  resourceKey: r.resource_key,
  projectKey: r.project_key,
  environmentKey: r.environment_key,
  before: r.before ?? null,
  after: r.after ?? null,
  requestId: r.request_id,
});

export function registerAuditRoutes(app: FastifyInstance, ctx: AppContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/audit',
      access: 'viewer',
      summary: 'Read the audit log, newest first (filters: project, environment, resource, action, actor, time); users with a role only in some projects read one project at a time',
      tag: 'audit',
      query: auditQuerySchema,
      response: { status: 200, schema: pageSchema(auditEventSchema) },
    },
    async ({ query, principal }) => {
      // Users whose base role is none read only the log of a project they have a role in.
      if (principal?.kind === 'user' && principal.role === 'none' && (query.projectKey === undefined || projectRole(principal, query.projectKey) === undefined)) {
        throw new ApiError('FORBIDDEN', 'You have a role only in some projects: read the audit log of one of them with ?projectKey=<key>', { required: 'viewer', projectKey: query.projectKey ?? null, role: 'none' });
      }
      let beforeSeq: number | undefined;
      if (query.cursor !== undefined) {
        beforeSeq = Number(query.cursor);
        if (!Number.isSafeInteger(beforeSeq) || beforeSeq < 1) throw new ApiError('VALIDATION_FAILED', 'cursor must be the nextCursor of a previous page', { where: 'query' });
      }
      const rows = await listAudit(ctx.db, { ...query, beforeSeq, limit: query.limit + 1 });
      const items = rows.slice(0, query.limit).map(toAuditEvent);
      return { items, nextCursor: rows.length > query.limit ? String(items[items.length - 1]?.seq) : null };
    },
  );
}
