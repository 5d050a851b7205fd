import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createProjectSchema, keySchema, pageQuerySchema, pageSchema, projectSchema, updateProjectSchema } from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import type { ProjectService } from './project-service.js';

export const projectParams = z.strictObject({ projectKey: keySchema });

/** A page of `limit` from `items` (read with one more, to know whether a next page exists); the cursor is `cursorOf` the last item. */
export function cursorPage<T>(items: T[], limit: number, cursorOf: (item: T) => string): { items: T[]; nextCursor: string | null } {
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, nextCursor: items.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** Pages by key: the cursor is the last key of the previous page. */
export function keyPage<T extends { key: string }>(items: T[], limit: number): { items: T[]; nextCursor: string | null } {
  return cursorPage(items, limit, (item) => item.key);
}

export function registerProjectRoutes(app: FastifyInstance, projects: ProjectService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects',
      access: 'viewer',
      summary: 'List the projects you have a role in (every project for admins and users whose base role is not none)',
      tag: 'projects',
      query: pageQuerySchema,
      response: { status: 200, schema: pageSchema(projectSchema) },
    },
    async ({ query, principal }) => {
      const memberOnly = principal?.kind === 'user' && principal.role === 'none' ? principal.userId : undefined;
      return keyPage(await projects.list(query.limit + 1, query.cursor, memberOnly), query.limit);
    },
  );
  defineRoute(
    app,
    { method: 'POST', url: '/api/projects', access: 'admin', summary: 'Create a project', tag: 'projects', body: createProjectSchema, response: { status: 201, schema: projectSchema } },
    ({ body, meta }) => projects.create(meta, body),
  );
  defineRoute(
    app,
    { method: 'GET', url: '/api/projects/:projectKey', access: 'viewer', summary: 'Get a project', tag: 'projects', params: projectParams, response: { status: 200, schema: projectSchema } },
    ({ params }) => projects.get(params.projectKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/projects/:projectKey',
      access: 'admin',
      summary: 'Update a project (send the version you read)',
      tag: 'projects',
      params: projectParams,
      body: updateProjectSchema,
      response: { status: 200, schema: projectSchema },
    },
    ({ params, body, meta }) => projects.update(meta, params.projectKey, body),
  );
}
