/**
 * Schemas of a project's metric definitions (`/api/projects/:projectKey/metric-definitions`)
 * and of the project's metric list (`/api/projects/:projectKey/metrics`): the
 * built-in catalog and the project's own metrics together.
 *
 * A definition whose key is a catalog key (`cpu-usage`) is the project's
 * source for that built-in metric: it sets the source only, and takes name,
 * kind, unit, direction and description from the catalog.
 *
 * These schemas check shape; what a source means (placeholders of templates,
 * URLs, value paths) is checked by the server, which answers
 * INVALID_CONFIGURATION naming the field.
 */
import { z } from 'zod';
import { METRIC_CATALOG } from '@rollgate/core';
import { keySchema } from './flags.js';
import { metricKeySchema } from './metrics.js';
import { pageQuerySchema } from './resources.js';

const timestamp = z.string().meta({ format: 'date-time' });
const version = z.number().int().min(1);
const name = z.string().min(1).max(200);
const description = z.string().max(5000);

/** How a metric is aggregated (core `MetricKind`). */
export const METRIC_KINDS = ['ratio', 'mean', 'quantile', 'gauge', 'count', 'unique'] as const;
/** Units of metric values (core `MetricUnit`); `percent` is 0..100. */
export const METRIC_UNITS = ['percent', 'ms', 'count', 'score'] as const;
/** Which way is better (core `MetricDirection`). */
export const METRIC_DIRECTIONS = ['lower', 'higher'] as const;

export const metricKindSchema = z.enum(METRIC_KINDS);
export const metricUnitSchema = z.enum(METRIC_UNITS);
export const metricDirectionSchema = z.enum(METRIC_DIRECTIONS);

/**
 * What the API shows instead of a header's value. Sending it back in an
 * update keeps the value stored for that header.
 */
export const REDACTED_VALUE = '[redacted]';

/** An HTTP header name (an RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

/**
 * Headers sent with every request of a source. Values are kept stored and
 * shown as `[redacted]`.
 */
export const sourceHeadersSchema = z.record(z.string(), z.string().max(8000).regex(/^[^\r\n\0]*$/, 'must not contain line breaks')).superRefine((headers, ctx) => {
  const names = Object.keys(headers);
  if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 headers' });
  for (const header of names) {
    if (!HEADER_NAME.test(header)) ctx.addIssue({ code: 'custom', path: [header], message: 'is not a valid header name' });
  }
});

/** Per-request timeout of an external source, in milliseconds (default 5000). */
const timeoutMs = z.number().int().min(100).max(30_000);

/** Values the SDKs and `POST /api/client/metrics` send. */
export const pushSourceSchema = z.strictObject({ type: z.literal('push') });

/**
 * PromQL templates read over Prometheus's HTTP API. Placeholders:
 * `{{cohort}}`, `{{flag}}`, `{{environment}}`, `{{project}}` (label values,
 * for double-quoted PromQL strings) and `{{window}}` (a duration: the stage's
 * elapsed time for the stage value, `1m` for the per-minute series).
 */
export const prometheusSourceSchema = z.strictObject({
  type: z.literal('prometheus'),
  /** The metric's value, in its unit. */
  query: z.string().min(1).max(10_000),
  /** The number of samples behind the value (e.g. requests); without it the value has unknown samples (docs/metrics.md). */
  samplesQuery: z.string().min(1).max(10_000).optional(),
  /** Default: the server's ROLLGATE_PROMETHEUS_URL. */
  baseUrl: z.string().min(1).max(2000).optional(),
  headers: sourceHeadersSchema.optional(),
  timeoutMs: timeoutMs.optional(),
});

/**
 * A JSON document fetched with GET. Placeholders as for Prometheus (URL
 * encoded in the URL), plus `{{from}}` and `{{to}}` (ISO 8601: the stage's
 * start and now); `{{cohort}}` may also appear in the paths.
 */
export const httpSourceSchema = z.strictObject({
  type: z.literal('http'),
  url: z.string().min(1).max(4000),
  headers: sourceHeadersSchema.optional(),
  /** Where the value is in the JSON: `data.items[0].value`, `$["error-rate"]`. It must be a JSON number. */
  valuePath: z.string().min(1).max(500),
  /** Where the number of samples is, if the document has it. */
  samplesPath: z.string().min(1).max(500).optional(),
  timeoutMs: timeoutMs.optional(),
});

export const metricSourceSchema = z.discriminatedUnion('type', [pushSourceSchema, prometheusSourceSchema, httpSourceSchema]).meta({ id: 'MetricSource' });
export type MetricSource = z.infer<typeof metricSourceSchema>;

/** A metric definition of a project, with header values redacted. */
export const metricDefinitionSchema = z
  .object({
    id: z.string(),
    projectKey: z.string(),
    key: z.string(),
    name,
    description,
    kind: metricKindSchema,
    unit: metricUnitSchema,
    direction: metricDirectionSchema,
    /** True when the key is a built-in catalog metric: the definition sets its source only. */
    builtIn: z.boolean(),
    source: metricSourceSchema,
    version,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'MetricDefinition' });

const isCatalogKey = (key: string): boolean => METRIC_CATALOG.some((m) => m.key === key);
const DESCRIBING = ['name', 'description', 'kind', 'unit', 'direction'] as const;

/**
 * Body of definition creation. A project's own metric needs `name`, `kind`,
 * `unit` and `direction`; a catalog key takes only `source`.
 */
export const createMetricDefinitionSchema = z
  .strictObject({
    key: metricKeySchema,
    name: name.optional(),
    description: description.optional(),
    kind: metricKindSchema.optional(),
    unit: metricUnitSchema.optional(),
    direction: metricDirectionSchema.optional(),
    /** Default `{type: "push"}`. */
    source: metricSourceSchema.optional(),
  })
  .superRefine((body, ctx) => {
    if (isCatalogKey(body.key)) {
      for (const field of DESCRIBING) {
        if (body[field] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: `${body.key} is a built-in metric: only its source can be set (its ${field} is the catalog's)` });
        }
      }
      return;
    }
    for (const field of ['name', 'kind', 'unit', 'direction'] as const) {
      if (body[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'is required for a metric that is not built in' });
    }
  });

/** Body of a definition update: send the version you read. A built-in metric's definition changes its source only. */
export const updateMetricDefinitionSchema = z.strictObject({
  version,
  name: name.optional(),
  description: description.optional(),
  kind: metricKindSchema.optional(),
  unit: metricUnitSchema.optional(),
  direction: metricDirectionSchema.optional(),
  source: metricSourceSchema.optional(),
});

/** Query of the definition list. */
export const metricDefinitionListQuerySchema = pageQuerySchema;

/** One metric a project's plans can name: built in, or the project's own. */
export const projectMetricSchema = z
  .object({
    key: z.string(),
    name,
    description,
    kind: metricKindSchema,
    unit: metricUnitSchema,
    direction: metricDirectionSchema,
    builtIn: z.boolean(),
    /** Where the controller reads it from (push unless the project set another source). */
    source: metricSourceSchema,
    /** The project's definition version; null for a built-in metric the project has not given a source. */
    version: z.number().int().nullable(),
  })
  .meta({ id: 'ProjectMetric' });

/** Body of a test read: what a rollout of `flagKey` in `environmentKey` would read now. */
export const readMetricSchema = z.strictObject({
  flagKey: keySchema,
  environmentKey: keySchema,
  /** The stage's start (default: one hour ago). */
  since: z.iso.datetime({ offset: true }).optional(),
});

const cohortValueSchema = z.object({ value: z.number(), samples: z.number(), variance: z.number().optional() });

/** What a test read found, and why a cohort has no data. */
export const metricReadingSchema = z
  .object({
    metric: z.string(),
    sourceType: z.enum(['push', 'prometheus', 'http']),
    from: timestamp,
    to: timestamp,
    treatment: cohortValueSchema.nullable(),
    control: cohortValueSchema.nullable(),
    /** Intervals of the per-minute series. */
    seriesIntervals: z.number().int(),
    problems: z.array(z.object({ cohort: z.enum(['treatment', 'control']).nullable(), message: z.string() })),
  })
  .meta({ id: 'MetricReading' });
