/**
 * The Prometheus source: a metric's PromQL template, filled per cohort and
 * read over Prometheus's HTTP API.
 *
 * - The stage value: `GET /api/v1/query` at `now`, with `{{window}}` the
 *   stage's elapsed time (`rate(x[3h])` over the whole stage).
 * - The series (sustained windows such as "> 2% for 1 hour"):
 *   `GET /api/v1/query_range`, step 60 s, `{{window}}` = `1m`: each point at
 *   a whole minute T is the interval (T - 1 min, T]. Points start at the
 *   first whole minute after the stage's start plus one step, so no interval
 *   reaches back into the previous stage.
 * - Samples: `samplesQuery` read the same way (e.g. requests in the window);
 *   without it a value has unknown samples (`UNKNOWN_SAMPLES`), except a
 *   gauge, whose samples are its readings: the points of the series, as
 *   pushed gauges count their readings.
 *
 * Treatment and control are read separately when the template names
 * `{{cohort}}`; a template without it reads one value for the whole service,
 * given to the treatment only (absolute gates work; a comparison with the
 * control has no data rather than comparing a value with itself).
 *
 * Every failure (no answer, an error status, a query error, an empty or
 * ambiguous result, NaN or infinity) leaves that value out, with a problem
 * saying why. Nothing is ever read as zero.
 */
import type { Cohort, CohortAggregate } from '@rollgate/core';
import type { z } from 'zod';
import type { prometheusSourceSchema } from '@rollgate/contract';
import { SourceError, type JsonClient } from './json-client.js';
import { DEFAULT_TIMEOUT_MS, messageOf, observationOf, UNKNOWN_SAMPLES, type CohortReading, type MetricReading, type ReadRequest, type SourceProblem } from './reading.js';
import { promDuration, promqlString, renderTemplate, usesPlaceholder } from './templates.js';

export type PrometheusSourceConfig = z.infer<typeof prometheusSourceSchema>;

/** Series resolution: one interval a minute. */
export const SERIES_STEP_MS = 60_000;
/** Prometheus refuses ranges of more than 11,000 points; the series keeps the newest 10,000 (6.9 days of minutes). */
const MAX_POINTS = 10_000;

export interface PrometheusReaderOptions {
  client: JsonClient;
  /** ROLLGATE_PROMETHEUS_URL, for definitions without a `baseUrl`. */
  defaultBaseUrl?: string;
  /** Interval of the series; default one minute. */
  stepMs?: number;
}

interface PromResponse {
  status?: unknown;
  data?: { resultType?: unknown; result?: unknown };
  errorType?: unknown;
  error?: unknown;
}

/** `base` + `path`, keeping a path prefix of the base (`http://gw/prometheus/`). */
export function apiUrl(base: string, path: string, params: Record<string, string>): URL {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/** The `data` of a successful answer; throws SourceError with Prometheus's own error otherwise. */
async function request(client: JsonClient, url: URL, config: PrometheusSourceConfig): Promise<{ resultType: unknown; result: unknown }> {
  const { status, body } = await client.get(url, config.headers ?? {}, config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const answer = (typeof body === 'object' && body !== null ? body : {}) as PromResponse;
  if (status < 200 || status >= 300 || answer.status !== 'success') {
    const why = typeof answer.error === 'string' ? `: ${typeof answer.errorType === 'string' ? `${answer.errorType}: ` : ''}${answer.error}` : '';
    throw new SourceError(`Prometheus answered ${status}${why}`);
  }
  return { resultType: answer.data?.resultType, result: answer.data?.result };
}

/** A sample value as Prometheus writes it (a string); throws unless finite. */
function sampleValue(raw: unknown): number {
  const value = typeof raw === 'string' ? Number(raw) : NaN;
  if (!Number.isFinite(value)) throw new SourceError(`the query gave ${typeof raw === 'string' ? raw : 'no number'}, not a finite number`);
  return value;
}

/** The one value of an instant query. */
export async function instantValue(client: JsonClient, base: string, query: string, at: number, config: PrometheusSourceConfig): Promise<number> {
  const data = await request(client, apiUrl(base, 'api/v1/query', { query, time: (at / 1000).toFixed(3) }), config);
  if (data.resultType === 'scalar') return sampleValue((data.result as unknown[] | undefined)?.[1]);
  if (data.resultType !== 'vector' || !Array.isArray(data.result)) throw new SourceError(`the query gave a ${String(data.resultType)}, not an instant vector or scalar`);
  if (data.result.length === 0) throw new SourceError('the query gave an empty result (no series matched)');
  if (data.result.length > 1) throw new SourceError(`the query gave ${data.result.length} series, not one: aggregate them (e.g. sum(...))`);
  return sampleValue((data.result[0] as { value?: unknown[] }).value?.[1]);
}

/** The points of a range query, by time in ms; NaN and infinite points are left out. */
export async function rangeValues(client: JsonClient, base: string, query: string, start: number, end: number, stepMs: number, config: PrometheusSourceConfig): Promise<Map<number, number>> {
  const data = await request(
    client,
    apiUrl(base, 'api/v1/query_range', { query, start: (start / 1000).toFixed(3), end: (end / 1000).toFixed(3), step: `${stepMs / 1000}s` }),
    config,
  );
  if (data.resultType !== 'matrix' || !Array.isArray(data.result)) throw new SourceError(`the range query gave a ${String(data.resultType)}, not a range vector`);
  const points = new Map<number, number>();
  if (data.result.length === 0) return points;
  if (data.result.length > 1) throw new SourceError(`the range query gave ${data.result.length} series, not one: aggregate them (e.g. sum(...))`);
  for (const point of (data.result[0] as { values?: unknown[] }).values ?? []) {
    if (!Array.isArray(point)) continue;
    const value = typeof point[1] === 'string' ? Number(point[1]) : NaN;
    if (typeof point[0] === 'number' && Number.isFinite(value)) points.set(Math.round(point[0] * 1000), value);
  }
  return points;
}

/** A sample count read from Prometheus: 0 or more (an increase() is fractional; counts are whole). */
function sampleCount(value: number): number {
  if (value < 0) throw new SourceError(`the samples query gave ${value}, a negative count`);
  return Math.round(value);
}

/** Reads one metric of one rollout's stage. Never throws: failures are problems. */
export async function readPrometheus(config: PrometheusSourceConfig, req: ReadRequest, options: PrometheusReaderOptions): Promise<MetricReading> {
  const base = config.baseUrl ?? options.defaultBaseUrl;
  if (base === undefined) {
    return { observation: undefined, problems: [{ cohort: null, message: 'no Prometheus to ask: give the source a baseUrl, or set ROLLGATE_PROMETHEUS_URL on the server' }] };
  }
  const step = options.stepMs ?? SERIES_STEP_MS;
  const cohorts: Cohort[] = usesPlaceholder(config.query, 'cohort') ? ['treatment', 'control'] : ['treatment'];
  const seriesEnd = Math.floor(req.now / step) * step;
  const seriesStart = Math.max(Math.ceil(req.stageStartedAt / step) * step + step, seriesEnd - (MAX_POINTS - 1) * step);
  const problems: SourceProblem[] = [];
  const readings: Partial<Record<Cohort, CohortReading>> = {};

  const readCohort = async (cohort: Cohort): Promise<void> => {
    const values = { cohort, flag: req.flagKey, environment: req.environmentKey, project: req.projectKey };
    const stageVars = { ...values, window: promDuration(req.now - req.stageStartedAt) };
    const seriesVars = { ...values, window: promDuration(step) };
    const render = (template: string, vars: Record<string, string>) => renderTemplate(template, vars, promqlString);
    const samplesQuery = config.samplesQuery;
    const wantSeries = seriesEnd >= seriesStart;
    const [value, samples, series, seriesSamples] = await Promise.allSettled([
      instantValue(options.client, base, render(config.query, stageVars), req.now, config),
      samplesQuery === undefined ? Promise.resolve(undefined) : instantValue(options.client, base, render(samplesQuery, stageVars), req.now, config),
      wantSeries ? rangeValues(options.client, base, render(config.query, seriesVars), seriesStart, seriesEnd, step, config) : Promise.resolve(new Map<number, number>()),
      wantSeries && samplesQuery !== undefined
        ? rangeValues(options.client, base, render(samplesQuery, seriesVars), seriesStart, seriesEnd, step, config)
        : Promise.resolve(undefined),
    ]);
    const problem = (what: string, reason: unknown) => problems.push({ cohort, message: `${what}: ${messageOf(reason)}` });
    const reading: CohortReading = {};

    if (value.status === 'rejected') problem('stage value', value.reason);
    else if (samples.status === 'rejected') problem('stage samples', samples.reason);
    else {
      try {
        let n: number;
        if (samples.value !== undefined) n = sampleCount(samples.value);
        else if (req.kind === 'gauge' && series.status === 'fulfilled') n = Math.max(UNKNOWN_SAMPLES, series.value.size);
        else n = UNKNOWN_SAMPLES;
        reading.aggregate = { value: value.value, samples: n };
      } catch (error) {
        problem('stage samples', error);
      }
    }

    if (series.status === 'rejected') problem('series', series.reason);
    else if (seriesSamples.status === 'rejected') problem('series samples', seriesSamples.reason);
    else if (wantSeries) {
      const points = new Map<number, CohortAggregate>();
      for (const [end, v] of series.value) {
        const n = seriesSamples.value === undefined ? UNKNOWN_SAMPLES : seriesSamples.value.get(end);
        // A minute whose sample count is missing or negative is left out, not guessed.
        if (n !== undefined && n >= 0) points.set(end, { value: v, samples: Math.round(n) });
      }
      reading.series = points;
    }
    readings[cohort] = reading;
  };
  await Promise.all(
    cohorts.map((cohort) =>
      readCohort(cohort).catch((error: unknown) => {
        problems.push({ cohort, message: messageOf(error) });
      }),
    ),
  );
  return { observation: observationOf(readings, step), problems };
}
