import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  createMetricDefinitionSchema,
  keySchema,
  metricDefinitionListQuerySchema,
  metricDefinitionSchema,
  metricKeySchema,
  metricReadingSchema,
  pageSchema,
  projectMetricSchema,
  readMetricSchema,
  updateMetricDefinitionSchema,
} from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { keyPage, projectParams } from '../projects/project-routes.js';
import type { MetricDefinitionService } from './metric-definition-service.js';

export const metricParams = z.strictObject({ projectKey: keySchema, metricKey: metricKeySchema });

export function registerMetricDefinitionRoutes(app: FastifyInstance, definitions: MetricDefinitionService): void {
  const base = '/api/projects/:projectKey';
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/metrics`,
      access: 'viewer',
      summary: "Every metric the project's plans may name: the built-in catalog (with the source the project gives each) and the project's own metrics",
      tag: 'metrics',
      params: projectParams,
      response: { status: 200, schema: z.object({ items: z.array(projectMetricSchema) }) },
    },
    async ({ params }) => ({ items: await definitions.metrics(params.projectKey) }),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: `${base}/metrics/:metricKey/read`,
      access: 'editor',
      summary: 'Read a metric now, as a rollout of the flag in the environment would, and say why a cohort has no data (writes nothing)',
      tag: 'metrics',
      params: metricParams,
      body: readMetricSchema,
      response: { status: 200, schema: metricReadingSchema },
    },
    ({ params, body, meta }) => definitions.read(meta, params.projectKey, params.metricKey, body),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/metric-definitions`,
      access: 'viewer',
      summary: "List the project's metric definitions (its own metrics and the sources it gives built-in ones), by key; header values redacted",
      tag: 'metrics',
      params: projectParams,
      query: metricDefinitionListQuerySchema,
      response: { status: 200, schema: pageSchema(metricDefinitionSchema) },
    },
    async ({ params, query }) => keyPage(await definitions.list(params.projectKey, query.limit + 1, query.cursor), query.limit),
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: `${base}/metric-definitions`,
      access: 'editor',
      summary: 'Define a metric (key, name, kind, unit, direction, source), or give a built-in metric (a catalog key) a source',
      tag: 'metrics',
      params: projectParams,
      body: createMetricDefinitionSchema,
      response: { status: 201, schema: metricDefinitionSchema },
    },
    ({ params, body, meta }) => definitions.create(meta, params.projectKey, body),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${base}/metric-definitions/:metricKey`,
      access: 'viewer',
      summary: 'Get a metric definition; header values redacted',
      tag: 'metrics',
      params: metricParams,
      response: { status: 200, schema: metricDefinitionSchema },
    },
    ({ params }) => definitions.get(params.projectKey, params.metricKey),
  );
  defineRoute(
    app,
    {
      method: 'PATCH',
      url: `${base}/metric-definitions/:metricKey`,
      access: 'editor',
      summary: 'Change a metric definition (send the version you read; a header sent as [redacted] keeps its stored value)',
      tag: 'metrics',
      params: metricParams,
      body: updateMetricDefinitionSchema,
      response: { status: 200, schema: metricDefinitionSchema },
    },
    ({ params, body, meta }) => definitions.update(meta, params.projectKey, params.metricKey, body),
  );
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: `${base}/metric-definitions/:metricKey`,
      access: 'editor',
      summary: "Delete (archive) a metric definition; refused while a plan or an active rollout reads the project's metric. A built-in metric goes back to pushed data",
      tag: 'metrics',
      params: metricParams,
      response: { status: 204, description: 'Deleted' },
    },
    ({ params, meta }) => definitions.delete(meta, params.projectKey, params.metricKey),
  );
}
