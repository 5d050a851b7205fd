import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  archiveFlagSchema,
  changeRequestSchema,
  createFlagSchema,
  flagEnvironmentSchema,
  flagListQuerySchema,
  flagSchema,
  keySchema,
  pageSchema,
  updateFlagEnvironmentSchema,
  updateFlagSchema,
} from '@rollgate/contract';
import type { Principal } from '../../http/auth.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { keyPage, projectParams } from '../projects/project-routes.js';
import type { ChangeRequestView, FlagService, Gated } from './flag-service.js';

export const flagParams = z.strictObject({ projectKey: keySchema, flagKey: keySchema });
export const flagEnvironmentParams = z.strictObject({ projectKey: keySchema, flagKey: keySchema, environmentKey: keySchema });

/** The calling user; management routes only admit user tokens, so this holds after authorization. */
export function callingUser(principal: Principal | undefined): Extract<Principal, { kind: 'user' }> {
  if (principal?.kind !== 'user') throw new ApiError('FORBIDDEN', 'This needs a user token', { required: 'user token' });
  return principal;
}

/** The answer of a write that may need approval: the result (200), or 202 and the pending change request. */
export function gatedReply<T>(reply: FastifyReply, result: Gated<T>): T | ChangeRequestView {
  if (result.applied) return result.value;
  reply.code(202);
  return result.changeRequest;
}

export function registerFlagRoutes(app: FastifyInstance, flags: FlagService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/flags',
      access: 'viewer',
      summary: 'List flags with their configuration in every environment (active ones by default; archived=true for archived ones)',
      tag: 'flags',
      params: projectParams,
      query: flagListQuerySchema,
      response: { status: 200, schema: pageSchema(flagSchema) },
    },
    async ({ params, query }) =>
      keyPage(await flags.list(params.projectKey, { archived: query.archived, tag: query.tag, limit: query.limit + 1, afterKey: query.cursor }), query.limit),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/projects/:projectKey/flags',
      access: 'editor',
      summary: 'Create a flag (disabled, serving its off variation, in every environment)',
      tag: 'flags',
      params: projectParams,
      body: createFlagSchema,
      response: { status: 201, schema: flagSchema },
    },
    ({ params, body, meta }) => flags.create(meta, params.projectKey, body),
  );
  defineRoute(
    app,
    { method: 'GET', url: '/api/projects/:projectKey/flags/:flagKey', access: 'viewer', summary: 'Get a flag', tag: 'flags', params: flagParams, response: { status: 200, schema: flagSchema } },
    ({ params }) => flags.get(params.projectKey, params.flagKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/projects/:projectKey/flags/:flagKey',
      access: 'editor',
      summary:
        'Update a flag: name, description, tags, variations (send the version you read); a change of variations in a project with an environment that needs approval makes a change request',
      tag: 'flags',
      params: flagParams,
      body: updateFlagSchema,
      response: { status: 200, schema: flagSchema, description: 'Applied' },
      otherResponses: { 202: { schema: changeRequestSchema, description: 'An environment of the project needs approval: a pending change request was made' } },
    },
    async ({ params, body, meta, principal, reply }) => gatedReply(reply, await flags.update(meta, { userId: callingUser(principal).userId }, params.projectKey, params.flagKey, body)),
  );
  for (const [action, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    defineRoute(
      app,
      {
        method: 'POST',
        url: `/api/projects/:projectKey/flags/:flagKey/${action}`,
        access: 'editor',
        summary:
          (archived ? 'Archive a flag: it leaves every snapshot and its configuration is frozen' : 'Unarchive a flag: it is back in every snapshot') +
          '; in a project with an environment that needs approval this makes a change request',
        tag: 'flags',
        params: flagParams,
        body: archiveFlagSchema,
        response: { status: 200, schema: flagSchema, description: 'Applied' },
        otherResponses: { 202: { schema: changeRequestSchema, description: 'An environment of the project needs approval: a pending change request was made' } },
      },
      async ({ params, body, meta, principal, reply }) =>
        gatedReply(reply, await flags.setArchived(meta, { userId: callingUser(principal).userId }, params.projectKey, params.flagKey, body.version, archived, body.comment)),
    );
  }
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/flags/:flagKey/environments/:environmentKey',
      access: 'viewer',
      summary: "Get a flag's configuration in one environment",
      tag: 'flags',
      params: flagEnvironmentParams,
      response: { status: 200, schema: flagEnvironmentSchema },
    },
    ({ params }) => flags.getEnvironment(params.projectKey, params.flagKey, params.environmentKey),
  );
  defineRoute(
    app,
    {
      method: 'PUT',
      url: '/api/projects/:projectKey/flags/:flagKey/environments/:environmentKey',
      access: 'editor',
      summary: "Set a flag's configuration in one environment (send the version you read); where changes need approval, this makes a change request",
      tag: 'flags',
      params: flagEnvironmentParams,
      body: updateFlagEnvironmentSchema,
      response: { status: 200, schema: flagEnvironmentSchema, description: 'Applied' },
      otherResponses: { 202: { schema: changeRequestSchema, description: 'The environment needs approval: a pending change request was made' } },
    },
    async ({ params, body, meta, principal, reply }) => {
      return gatedReply(reply, await flags.updateEnvironment(meta, { userId: callingUser(principal).userId }, params.projectKey, params.flagKey, params.environmentKey, body));
    },
  );
}
