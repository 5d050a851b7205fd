import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keySchema, pageQuerySchema, pageSchema, projectMemberSchema, setProjectMemberSchema } from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import type { ProjectMemberService } from './project-member-service.js';
import { cursorPage, projectParams } from './project-routes.js';

export const memberParams = z.strictObject({ projectKey: keySchema, userId: z.string().min(1).max(100) });

/** Project roles: list (viewers of the project), grant and revoke (its admins). */
export function registerProjectMemberRoutes(app: FastifyInstance, members: ProjectMemberService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/members',
      access: 'viewer',
      summary: 'List the users given a role in this project, by user id (instance admins are admins everywhere; others without one here have their base role)',
      tag: 'projects',
      params: projectParams,
      query: pageQuerySchema,
      response: { status: 200, schema: pageSchema(projectMemberSchema) },
    },
    async ({ params, query }) => cursorPage(await members.list(params.projectKey, query.limit + 1, query.cursor), query.limit, (m) => m.userId),
  );
  defineRoute(
    app,
    {
      method: 'PUT',
      url: '/api/projects/:projectKey/members/:userId',
      access: 'admin',
      summary: "Give a user a role in this project, or change it (it replaces their base role here); effective at once on every replica",
      tag: 'projects',
      params: memberParams,
      body: setProjectMemberSchema,
      response: { status: 200, schema: projectMemberSchema },
    },
    ({ params, body, meta }) => members.set(meta, params.projectKey, params.userId, body.role),
  );
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/api/projects/:projectKey/members/:userId',
      access: 'admin',
      summary: "Take a user's role in this project away (their base role applies here again); answers the removed role",
      tag: 'projects',
      params: memberParams,
      response: { status: 200, schema: projectMemberSchema },
    },
    ({ params, meta }) => members.remove(meta, params.projectKey, params.userId),
  );
}
