/**
 * Schemas of metrics ingestion (POST /api/client/metrics, server SDK tokens).
 * The envelope is validated as a whole (a bad envelope refuses the request);
 * each item is validated on its own, so one bad item is reported by index
 * while the good items of the same batch are stored.
 */
import { z } from 'zod';
import { keySchema } from './flags.js';

/** Most items one batch may carry. */
export const MAX_METRIC_BATCH_ITEMS = 1000;

/** A metric key: a catalog key (`error-rate`) or a project's own key. */
export const metricKeySchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (at most 100)');

export const cohortSchema = z.enum(['treatment', 'control']);

/** An ISO 8601 timestamp with a zone (`Z` or an offset). */
const instant = z.iso.datetime({ offset: true });

/** Most exposures one exposure item may stand for. */
export const MAX_EXPOSURE_COUNT = 1_000_000;
/** Most labels on one metric item. */
export const MAX_METRIC_LABELS = 10;

/** A context key, hashed by the SDK (Rollgate never sees raw keys). */
const contextKeySchema = z.string().min(1).max(200);
/** A variant (variation) key of a flag. */
const variantSchema = z.string().min(1).max(100);

/**
 * Evaluations served to a context: counted per cohort and minute, and the
 * context's cohort and variant are remembered for attribution and for the
 * sample-ratio check. `count` (default 1) lets an SDK send the exposures of
 * one flag, variant, cohort and context within a minute as one item.
 */
export const exposureItemSchema = z.strictObject({
  kind: z.literal('exposure'),
  flag: keySchema,
  variant: variantSchema,
  cohort: cohortSchema,
  contextKey: contextKeySchema,
  count: z.number().int().min(1).max(MAX_EXPOSURE_COUNT).optional(),
  at: instant,
});

/**
 * Free-form labels of a metric item (e.g. `{ "route": "/checkout" }`): at
 * most 10, keys of at most 50 characters, values of at most 200. Accepted and
 * validated, but not stored: aggregates are never split by label.
 */
export const metricLabelsSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,49}$/, 'label names are letters, digits, "_", "." and "-" (at most 50)'), z.string().max(200)).refine((labels) => Object.keys(labels).length <= MAX_METRIC_LABELS, { message: `at most ${MAX_METRIC_LABELS} labels` });

/**
 * One observation of a metric. Ratio metrics (e.g. `error-rate`) take 1 or 0
 * per request (a fraction 0..1 is accepted as a weight); mean, gauge and
 * quantile metrics the value itself; count metrics the number of
 * occurrences; unique metrics (e.g. `adoption`) a non-zero value when the
 * context did the thing counted, with its `contextKey`.
 *
 * Cohort: `cohort` as sent; without it, `contextKey` is required and the
 * server attributes the item to the cohort and variant of that context's
 * latest exposure to the flag (an item whose context it has seen no exposure
 * of is rejected). `variant`: the variant the context was served (experiment
 * groups split the treatment by it).
 */
export const metricItemSchema = z
  .strictObject({
    kind: z.literal('metric'),
    metric: metricKeySchema,
    flag: keySchema,
    cohort: cohortSchema.optional(),
    variant: variantSchema.optional(),
    contextKey: contextKeySchema.optional(),
    value: z.number().finite(),
    at: instant,
    labels: metricLabelsSchema.optional(),
  })
  .refine((item) => item.cohort !== undefined || item.contextKey !== undefined, { message: 'give the cohort, or the contextKey to attribute the item by the context\'s exposure', path: ['cohort'] });

/** Most observations one aggregate item may stand for. */
export const MAX_AGGREGATE_COUNT = 1_000_000_000;
/** Longest base64 sketch of an aggregate item (a histogram or HyperLogLog). */
export const MAX_SKETCH_BASE64 = 40_000;
const sketchSchema = z.base64().max(MAX_SKETCH_BASE64);

/**
 * The observations of one metric for one flag, cohort, variant and minute,
 * aggregated by the SDK into what the server stores per minute: `count`
 * observations, their `sum` and `sumSq`, `nonZero` of them with a non-zero
 * value, and sketches where the metric needs one: `histogram`, a core
 * LogHistogram of the values (quantile metrics), and `contexts`, a core
 * HyperLogLog of the context keys with a non-zero value (unique metrics),
 * each as base64 of their `toBytes()`. A sketch the metric does not use is
 * ignored. Cohort and attribution as for metric items.
 */
export const aggregateItemSchema = z
  .strictObject({
    kind: z.literal('aggregate'),
    metric: metricKeySchema,
    flag: keySchema,
    cohort: cohortSchema.optional(),
    variant: variantSchema.optional(),
    contextKey: contextKeySchema.optional(),
    at: instant,
    count: z.number().int().min(1).max(MAX_AGGREGATE_COUNT),
    sum: z.number().finite(),
    sumSq: z.number().finite().min(0),
    nonZero: z.number().int().min(0).max(MAX_AGGREGATE_COUNT),
    histogram: sketchSchema.optional(),
    contexts: sketchSchema.optional(),
  })
  .refine((item) => item.cohort !== undefined || item.contextKey !== undefined, { message: "give the cohort, or the contextKey to attribute the item by the context's exposure", path: ['cohort'] })
  .refine((item) => item.nonZero <= item.count, { message: 'at most count', path: ['nonZero'] });

/**
 * What an SDK dropped for one flag and cohort since its previous report
 * (its memory was exhausted): exposures and metric observations, counted.
 * Stored per minute; the guard holds a stage whose cohort has any.
 */
export const droppedItemSchema = z
  .strictObject({
    kind: z.literal('dropped'),
    flag: keySchema,
    cohort: cohortSchema,
    exposures: z.number().int().min(0).max(MAX_AGGREGATE_COUNT),
    metrics: z.number().int().min(0).max(MAX_AGGREGATE_COUNT),
    at: instant,
  })
  .refine((item) => item.exposures + item.metrics > 0, { message: 'report at least one dropped exposure or metric', path: ['exposures'] });

export const metricsItemSchema = z.discriminatedUnion('kind', [exposureItemSchema, metricItemSchema, aggregateItemSchema, droppedItemSchema]);
export type MetricsItem = z.infer<typeof metricsItemSchema>;
export type AggregateItem = z.infer<typeof aggregateItemSchema>;
export type DroppedItem = z.infer<typeof droppedItemSchema>;

/** The envelope; items are checked one by one afterwards. */
export const metricsBatchSchema = z
  .strictObject({
    /** The client's id for this batch; a retry with the same id is counted once. */
    batchId: z.string().min(1).max(100),
    items: z.array(z.unknown()).max(MAX_METRIC_BATCH_ITEMS),
  })
  .meta({ id: 'MetricsBatch' });
export type MetricsBatch = z.infer<typeof metricsBatchSchema>;

export const metricsIngestResponseSchema = z
  .object({
    /** Items stored (on a duplicate: the items the first delivery stored). */
    accepted: z.number().int(),
    /** Items refused, with their index in `items` and why. */
    rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })),
    /** True when this batchId was already received in this environment: nothing was written again. */
    duplicate: z.boolean(),
  })
  .meta({ id: 'MetricsIngestResponse' });
export type MetricsIngestResponse = z.infer<typeof metricsIngestResponseSchema>;
