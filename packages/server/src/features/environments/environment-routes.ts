import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createEnvironmentSchema, environmentSchema, keySchema, updateEnvironmentSchema } from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { projectParams } from '../projects/project-routes.js';
import type { EnvironmentService } from './environment-service.js';

export const environmentParams = z.strictObject({ projectKey: keySchema, environmentKey: keySchema });

export function registerEnvironmentRoutes(app: FastifyInstance, environments: EnvironmentService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/environments',
      access: 'viewer',
      summary: 'List the environments of a project, in order',
      tag: 'environments',
      params: projectParams,
      response: { status: 200, schema: z.object({ items: z.array(environmentSchema) }) },
    },
    async ({ params }) => ({ items: await environments.list(params.projectKey) }),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/projects/:projectKey/environments',
      access: 'admin',
      summary: 'Create an environment',
      tag: 'environments',
      params: projectParams,
      body: createEnvironmentSchema,
      response: { status: 201, schema: environmentSchema },
    },
    ({ params, body, meta }) => environments.create(meta, params.projectKey, body),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/environments/:environmentKey',
      access: 'viewer',
      summary: 'Get an environment',
      tag: 'environments',
      params: environmentParams,
      response: { status: 200, schema: environmentSchema },
    },
    ({ params }) => environments.get(params.projectKey, params.environmentKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/projects/:projectKey/environments/:environmentKey',
      access: 'admin',
      summary: 'Rename, reorder, or turn "changes need approval" on or off',
      tag: 'environments',
      params: environmentParams,
      body: updateEnvironmentSchema,
      response: { status: 200, schema: environmentSchema },
    },
    ({ params, body, meta }) => environments.update(meta, params.projectKey, params.environmentKey, body),
  );
}
