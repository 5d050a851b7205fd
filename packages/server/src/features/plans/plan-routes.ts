import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  archivePlanSchema,
  createPlanSchema,
  keySchema,
  pageSchema,
  planListQuerySchema,
  planSchema,
  planSummarySchema,
  planTemplateSchema,
  planVersionSchema,
  updatePlanSchema,
} from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { keyPage, projectParams } from '../projects/project-routes.js';
import type { PlanService } from './plan-service.js';

export const planParams = z.strictObject({ projectKey: keySchema, planKey: keySchema });
const planVersionParams = planParams.extend({ version: z.coerce.number().int().min(1) });

export function registerPlanRoutes(app: FastifyInstance, plans: PlanService): void {
  const base = '/api/projects/:projectKey';
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/plan-templates`,
      access: 'viewer',
      summary: "The built-in plan templates (from the seed documents), with the segments and environments each needs that the project lacks",
      tag: 'plans',
      params: projectParams,
      response: { status: 200, schema: z.object({ items: z.array(planTemplateSchema) }) },
    },
    async ({ params }) => ({ items: await plans.templates(params.projectKey) }),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/plans`,
      access: 'viewer',
      summary: 'List the rollout plans of a project, without definitions (active ones by default; archived=true for archived ones)',
      tag: 'plans',
      params: projectParams,
      query: planListQuerySchema,
      response: { status: 200, schema: pageSchema(planSummarySchema) },
    },
    async ({ params, query }) => keyPage(await plans.list(params.projectKey, { archived: query.archived, limit: query.limit + 1, afterKey: query.cursor }), query.limit),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: `${base}/plans`,
      access: 'editor',
      summary: 'Create a rollout plan from a definition, or from a built-in template (fromTemplate); validated against the project (segments, environments, metrics)',
      tag: 'plans',
      params: projectParams,
      body: createPlanSchema,
      response: { status: 201, schema: planSchema },
    },
    ({ params, body, meta }) => plans.create(meta, params.projectKey, body),
  );
  defineRoute(
    app,
    { method: 'GET', url: `${base}/plans/:planKey`, access: 'viewer', summary: 'Get a rollout plan: its current version and definition', tag: 'plans', params: planParams, response: { status: 200, schema: planSchema } },
    ({ params }) => plans.get(params.projectKey, params.planKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: `${base}/plans/:planKey`,
      access: 'editor',
      summary: 'Change a rollout plan (send the version you read); the change is saved as a new version, and earlier versions stay as they were',
      tag: 'plans',
      params: planParams,
      body: updatePlanSchema,
      response: { status: 200, schema: planSchema },
    },
    ({ params, body, meta }) => plans.update(meta, params.projectKey, params.planKey, body),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/plans/:planKey/versions/:version`,
      access: 'viewer',
      summary: 'Get one version of a rollout plan, exactly as it was saved',
      tag: 'plans',
      params: planVersionParams,
      response: { status: 200, schema: planVersionSchema },
    },
    ({ params }) => plans.getVersion(params.projectKey, params.planKey, params.version),
  );
  for (const [action, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    defineRoute(
      app,
      {
        method: 'POST',
        url: `${base}/plans/:planKey/${action}`,
        access: 'editor',
        summary: archived
          ? 'Archive a rollout plan: it can no longer start rollouts or change, but stays readable (running rollouts keep their version)'
          : 'Unarchive a rollout plan',
        tag: 'plans',
        params: planParams,
        body: archivePlanSchema,
        response: { status: 200, schema: planSchema },
      },
      ({ params, body, meta }) => plans.setArchived(meta, params.projectKey, params.planKey, body.version, archived),
    );
  }
}
