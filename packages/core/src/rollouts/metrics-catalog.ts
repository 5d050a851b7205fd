/**
 * The built-in metric catalog: every metric the seeds' plans and dashboards
 * measure. Gates and matrices refer to metrics by key; a project may add its
 * own metrics, which validation is then told about.
 */
import type { MetricDefinition } from './types.js';

/**
 * Built-in metrics. Percentages are 0..100; times are milliseconds.
 * Frozen because plans, validation and `decide` share it.
 */
export const METRIC_CATALOG: readonly MetricDefinition[] = Object.freeze(
  [
    { key: 'error-rate', name: 'Error rate', unit: 'percent', kind: 'ratio', direction: 'lower', description: 'Failed requests / requests.' },
    { key: 'response-time-avg', name: 'Average response time', unit: 'ms', kind: 'mean', direction: 'lower' },
    { key: 'response-time-p95', name: 'Response time p95', unit: 'ms', kind: 'quantile', direction: 'lower', quantile: 0.95 },
    { key: 'page-load-lcp', name: 'Page load (LCP p75)', unit: 'ms', kind: 'quantile', direction: 'lower', quantile: 0.75, description: 'Largest Contentful Paint, 75th percentile.' },
    { key: 'cache-hit-rate', name: 'Cache hit rate', unit: 'percent', kind: 'ratio', direction: 'higher', description: 'Cache hits / lookups.' },
    { key: 'db-query-time', name: 'Database query time', unit: 'ms', kind: 'mean', direction: 'lower' },
    { key: 'uptime', name: 'Uptime', unit: 'percent', kind: 'ratio', direction: 'higher', description: 'Successful health checks / health checks.' },
    { key: 'cpu-usage', name: 'CPU usage', unit: 'percent', kind: 'gauge', direction: 'lower' },
    { key: 'memory-usage', name: 'Memory usage', unit: 'percent', kind: 'gauge', direction: 'lower' },
    { key: 'adoption', name: 'Adoption', unit: 'percent', kind: 'unique', direction: 'higher', description: 'Distinct contexts that sent the adoption event / distinct exposed contexts.' },
    { key: 'satisfaction-score', name: 'User satisfaction score', unit: 'score', kind: 'mean', direction: 'higher', description: 'Mean rating on a 1-5 scale.' },
    { key: 'nps', name: 'Feature NPS', unit: 'score', kind: 'mean', direction: 'higher', description: 'Net promoter score, -100..100.' },
    { key: 'support-ticket-rate', name: 'Support ticket rate', unit: 'percent', kind: 'ratio', direction: 'lower', description: 'Users who opened a ticket / exposed users.' },
    { key: 'support-tickets', name: 'Support tickets', unit: 'count', kind: 'count', direction: 'lower', description: 'Tickets opened during the stage.' },
    { key: 'forecast-accuracy', name: 'Forecast accuracy', unit: 'percent', kind: 'ratio', direction: 'higher', description: 'Forecasts within 15% / forecasts.' },
    { key: 'unhandled-exceptions', name: 'Unhandled exceptions', unit: 'count', kind: 'count', direction: 'lower' },
    { key: 'data-loss-events', name: 'Data-loss events', unit: 'count', kind: 'count', direction: 'lower', description: 'Data integrity or data-loss incidents.' },
    { key: 'user-complaints', name: 'User complaints', unit: 'count', kind: 'count', direction: 'lower' },
  ].map((m) => Object.freeze(m as MetricDefinition)),
);

/**
 * The catalog entry for `key`, or undefined.
 *
 * @example
 * metricDefinition('error-rate')?.unit; // 'percent'
 */
export function metricDefinition(key: string, catalog: readonly MetricDefinition[] = METRIC_CATALOG): MetricDefinition | undefined {
  return catalog.find((m) => m.key === key);
}

/**
 * The level (0..1) of a quantile metric: its `quantile`, else parsed from its
 * key or name (`p95` -> 0.95, `LCP p75` -> 0.75); undefined for other
 * metrics or when neither says.
 *
 * @example
 * quantileLevelOf(metricDefinition('page-load-lcp')); // 0.75
 */
export function quantileLevelOf(definition: MetricDefinition | undefined): number | undefined {
  if (definition === undefined || definition.kind !== 'quantile') return undefined;
  const q = definition.quantile;
  if (typeof q === 'number' && q > 0 && q < 1) return q;
  const m = /\bp(\d{1,2}(?:\.\d+)?)\b/i.exec(`${definition.key} ${definition.name}`.replace(/-/g, ' '));
  if (!m) return undefined;
  const parsed = Number(m[1]) / 100;
  return parsed > 0 && parsed < 1 ? parsed : undefined;
}
