import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { changeRequestSchema, createSegmentSchema, keySchema, pageQuerySchema, pageSchema, segmentSchema, updateSegmentSchema } from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { callingUser, gatedReply } from '../flags/flag-routes.js';
import { keyPage, projectParams } from '../projects/project-routes.js';
import type { SegmentService } from './segment-service.js';

export const segmentParams = z.strictObject({ projectKey: keySchema, segmentKey: keySchema });

export function registerSegmentRoutes(app: FastifyInstance, segments: SegmentService): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/projects/:projectKey/segments',
      access: 'viewer',
      summary: 'List the segments of a project',
      tag: 'segments',
      params: projectParams,
      query: pageQuerySchema,
      response: { status: 200, schema: pageSchema(segmentSchema) },
    },
    async ({ params, query }) => keyPage(await segments.list(params.projectKey, query.limit + 1, query.cursor), query.limit),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/projects/:projectKey/segments',
      access: 'editor',
      summary: 'Create a segment (shared by every environment of the project)',
      tag: 'segments',
      params: projectParams,
      body: createSegmentSchema,
      response: { status: 201, schema: segmentSchema },
    },
    ({ params, body, meta }) => segments.create(meta, params.projectKey, body),
  );
  defineRoute(
    app,
    { method: 'GET', url: '/api/projects/:projectKey/segments/:segmentKey', access: 'viewer', summary: 'Get a segment', tag: 'segments', params: segmentParams, response: { status: 200, schema: segmentSchema } },
    ({ params }) => segments.get(params.projectKey, params.segmentKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/projects/:projectKey/segments/:segmentKey',
      access: 'editor',
      summary: 'Update a segment (send the version you read); a new definition of a segment that a flag uses in an environment that needs approval makes a change request',
      tag: 'segments',
      params: segmentParams,
      body: updateSegmentSchema,
      response: { status: 200, schema: segmentSchema, description: 'Applied' },
      otherResponses: { 202: { schema: changeRequestSchema, description: 'A flag uses the segment in an environment that needs approval: a pending change request was made' } },
    },
    async ({ params, body, meta, principal, reply }) => gatedReply(reply, await segments.update(meta, { userId: callingUser(principal).userId }, params.projectKey, params.segmentKey, body)),
  );
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/api/projects/:projectKey/segments/:segmentKey',
      access: 'editor',
      summary: 'Delete (archive) a segment; refused while an active flag uses it',
      tag: 'segments',
      params: segmentParams,
      response: { status: 204, description: 'Deleted' },
    },
    ({ params, meta }) => segments.delete(meta, params.projectKey, params.segmentKey),
  );
}
