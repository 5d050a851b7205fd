import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { baseRoleSchema, createUserSchema, keySchema, pageQuerySchema, pageSchema, roleSchema, updateUserSchema, userSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { ProjectMemberService } from '../projects/project-member-service.js';
import { registerProjectMemberRoutes } from '../projects/project-member-routes.js';
import { UserService } from './user-service.js';
import { sqlUserStore } from './user-store.js';

export const userParams = z.strictObject({ userId: z.string().min(1).max(100) });

/** GET /api/me: who the calling token belongs to, their base role and their project roles. */
export const meSchema = z
  .object({ user: userSchema, role: baseRoleSchema, tokenId: z.string(), projects: z.array(z.object({ projectKey: keySchema, role: roleSchema })) })
  .meta({ id: 'Me' });

/** Pages by id: the cursor is the last id of the previous page. */
function idPage<T extends { id: string }>(items: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? (page[page.length - 1]?.id ?? null) : null };
}

/**
 * Users: admins manage them; every user may read themself (GET /api/me,
 * GET /api/users/<own id>).
 */
export function registerUserFeature(app: FastifyInstance, ctx: AppContext): void {
  const users = new UserService(ctx.db, sqlUserStore, ctx.tokenAuth);
  registerProjectMemberRoutes(app, new ProjectMemberService(ctx.db, ctx.stores.projects, sqlUserStore, ctx.tokenAuth));

  defineRoute(
    app,
    { method: 'GET', url: '/api/users', access: 'admin', summary: 'List users, by id', tag: 'users', query: pageQuerySchema, response: { status: 200, schema: pageSchema(userSchema) } },
    async ({ query }) => idPage(await users.list(query.limit + 1, query.cursor), query.limit),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/users',
      access: 'admin',
      summary: 'Create a user (then create an admin token for them: POST /api/tokens with kind admin and userId)',
      tag: 'users',
      body: createUserSchema,
      response: { status: 201, schema: userSchema },
    },
    ({ body, meta }) => users.create(meta, body),
  );
  defineRoute(
    app,
    { method: 'GET', url: '/api/me', access: 'viewer', summary: 'The user the token belongs to, their base role and their roles in projects', tag: 'users', response: { status: 200, schema: meSchema } },
    async ({ principal }) => {
      // access 'viewer' admits user tokens only.
      if (principal?.kind !== 'user') throw new ApiError('FORBIDDEN', 'This needs a user token', { required: 'viewer' });
      const user = await users.get(principal.userId);
      const projects = [...principal.projectRoles].map(([projectKey, role]) => ({ projectKey, role })).sort((a, b) => (a.projectKey < b.projectKey ? -1 : 1));
      return { user, role: user.role, tokenId: principal.tokenId, projects };
    },
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/users/:userId',
      access: 'viewer',
      summary: 'Get a user (admins: anyone; others: themself)',
      tag: 'users',
      params: userParams,
      response: { status: 200, schema: userSchema },
    },
    async ({ params, principal }) => {
      if (principal?.kind !== 'user' || (principal.role !== 'admin' && principal.userId !== params.userId)) {
        throw new ApiError('FORBIDDEN', 'Only admins may read other users', { required: 'admin' });
      }
      return users.get(params.userId);
    },
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/users/:userId',
      access: 'admin',
      summary: 'Rename a user, change their role, or disable or enable them (send the version you read)',
      tag: 'users',
      params: userParams,
      body: updateUserSchema,
      response: { status: 200, schema: userSchema },
    },
    ({ params, body, meta }) => users.update(meta, params.userId, body),
  );
}
