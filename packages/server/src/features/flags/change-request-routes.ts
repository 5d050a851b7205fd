import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { changeRequestListQuerySchema, changeRequestSchema, decideChangeRequestSchema, keySchema, pageSchema } from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { projectParams } from '../projects/project-routes.js';
import type { ChangeRequestService } from './change-request-service.js';
import { callingUser } from './flag-routes.js';

export const changeRequestParams = z.strictObject({ projectKey: keySchema, id: z.string().min(1).max(100) });

export function registerChangeRequestRoutes(app: FastifyInstance, changeRequests: ChangeRequestService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/change-requests',
      access: 'viewer',
      summary: 'List change requests, newest first (filters: status, kind, environment, flag)',
      tag: 'change-requests',
      params: projectParams,
      query: changeRequestListQuerySchema,
      response: { status: 200, schema: pageSchema(changeRequestSchema) },
    },
    async ({ params, query }) => {
      const rows = await changeRequests.list(params.projectKey, {
        status: query.status,
        kind: query.kind,
        environmentKey: query.environmentKey,
        flagKey: query.flagKey,
        beforeId: query.cursor,
        limit: query.limit + 1,
      });
      const items = rows.slice(0, query.limit);
      return { items, nextCursor: rows.length > query.limit ? (items[items.length - 1]?.id ?? null) : null };
    },
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/change-requests/:id',
      access: 'viewer',
      summary: 'Get a change request',
      tag: 'change-requests',
      params: changeRequestParams,
      response: { status: 200, schema: changeRequestSchema },
    },
    ({ params }) => changeRequests.get(params.projectKey, params.id),
  );
  const decisions = [
    ['approve', 'approver', 'Approve and apply a change request (not your own); it applies only if the configuration did not change since it was made', 'approve'],
    ['reject', 'approver', 'Reject a change request (not your own: cancel it instead)', 'reject'],
    ['cancel', 'editor', 'Cancel a change request: its author, or an admin', 'cancel'],
  ] as const;
  for (const [action, access, summary, method] of decisions) {
    defineRoute(
      app,
      {
        method: 'POST',
        url: `/api/projects/:projectKey/change-requests/:id/${action}`,
        access,
        summary,
        tag: 'change-requests',
        params: changeRequestParams,
        body: decideChangeRequestSchema,
        response: { status: 200, schema: changeRequestSchema },
      },
      ({ params, body, meta, principal }) => {
        const user = callingUser(principal);
        return changeRequests[method](meta, { userId: user.userId, role: user.role }, params.projectKey, params.id, body);
      },
    );
  }
}
