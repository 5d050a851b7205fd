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

/** One evaluation served to a context: counted per cohort and minute. */
export const exposureItemSchema = z.strictObject({
  kind: z.literal('exposure'),
  flag: keySchema,
  variant: z.string().min(1).max(100),
  cohort: cohortSchema,
  /** The context key, hashed by the SDK (Rollgate never sees raw keys). */
  contextKey: z.string().min(1).max(200),
  at: instant,
});

/**
 * One observation of a metric in a cohort. Ratio metrics (e.g. `error-rate`)
 * take 1 or 0 per request (a fraction 0..1 is accepted as a weight); mean and
 * gauge metrics the value itself; count metrics the number of occurrences.
 */
export const metricItemSchema = z.strictObject({
  kind: z.literal('metric'),
  metric: metricKeySchema,
  flag: keySchema,
  cohort: cohortSchema,
  value: z.number().finite(),
  at: instant,
});

export const metricsItemSchema = z.discriminatedUnion('kind', [exposureItemSchema, metricItemSchema]);
export type MetricsItem = z.infer<typeof metricsItemSchema>;

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
