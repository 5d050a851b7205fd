/**
 * The HTTP JSON source: GET a URL (placeholders filled and URL-encoded), with
 * the source's headers and timeout, and read the value (and, if configured,
 * the samples) at a dot/bracket path of the JSON answer.
 *
 * Treatment and control are read separately when the URL or a path names
 * `{{cohort}}` (a URL shared by both cohorts is fetched once); otherwise the
 * value is the whole service's and goes to the treatment only, as with
 * Prometheus. There is no series: gates with `sustainedFor` on such a metric
 * have no data (docs/metrics.md).
 *
 * A failure, a timeout, a status outside 2xx, a value that is missing or not
 * a finite JSON number, or samples configured but unreadable leave the cohort
 * without data, with a problem saying why. Nothing is read as zero.
 */
import type { Cohort, CohortAggregate } from '@rollgate/core';
import type { z } from 'zod';
import type { httpSourceSchema } from '@rollgate/contract';
import { describeUrl, SourceError, type JsonClient, type JsonResponse } from './json-client.js';
import { describeJsonValue, parseJsonPath, readJsonPath } from './json-path.js';
import { DEFAULT_TIMEOUT_MS, messageOf, observationOf, UNKNOWN_SAMPLES, type CohortReading, type MetricReading, type ReadRequest, type SourceProblem } from './reading.js';
import { promDuration, renderTemplate, urlComponent, usesPlaceholder } from './templates.js';

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;

/** The URL of a cohort's reading; throws SourceError when it is not http(s). */
export function httpSourceUrl(config: HttpSourceConfig, req: ReadRequest, cohort: Cohort): URL {
  const values = {
    cohort,
    flag: req.flagKey,
    environment: req.environmentKey,
    project: req.projectKey,
    window: promDuration(req.now - req.stageStartedAt),
    from: new Date(req.stageStartedAt).toISOString(),
    to: new Date(req.now).toISOString(),
  };
  let url: URL;
  try {
    url = new URL(renderTemplate(config.url, values, urlComponent));
  } catch {
    throw new SourceError('the URL is not valid once filled in');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SourceError(`the URL is ${url.protocol}, not http: or https:`);
  return url;
}

/** A finite number at `path`, or a SourceError naming what is there instead. */
function numberAt(body: unknown, path: string, what: string): number {
  const value = readJsonPath(body, parseJsonPath(path));
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SourceError(`${what} at ${path} is ${describeJsonValue(value)}, not a finite number`);
  return value;
}

/** Reads one metric of one rollout's stage. Never throws: failures are problems. */
export async function readHttpJson(config: HttpSourceConfig, req: ReadRequest, client: JsonClient): Promise<MetricReading> {
  const perCohort = usesPlaceholder(config.url, 'cohort') || usesPlaceholder(config.valuePath, 'cohort') || usesPlaceholder(config.samplesPath, 'cohort');
  const cohorts: Cohort[] = perCohort ? ['treatment', 'control'] : ['treatment'];
  const problems: SourceProblem[] = [];
  const readings: Partial<Record<Cohort, CohortReading>> = {};
  // One request per distinct URL.
  const answers = new Map<string, Promise<JsonResponse>>();
  await Promise.all(
    cohorts.map(async (cohort) => {
      try {
        const url = httpSourceUrl(config, req, cohort);
        let answer = answers.get(url.href);
        if (answer === undefined) {
          answer = client.get(url, config.headers ?? {}, config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
          answers.set(url.href, answer);
        }
        const { status, body } = await answer;
        if (status < 200 || status >= 300) throw new SourceError(`${describeUrl(url)} answered ${status}`);
        const path = (p: string) => renderTemplate(p, { cohort }, (v) => v);
        const value = numberAt(body, path(config.valuePath), 'the value');
        let samples = UNKNOWN_SAMPLES;
        if (config.samplesPath !== undefined) {
          samples = numberAt(body, path(config.samplesPath), 'the samples');
          if (samples < 0) throw new SourceError(`the samples at ${path(config.samplesPath)} are ${samples}, a negative count`);
        }
        const aggregate: CohortAggregate = { value, samples: Math.round(samples) };
        readings[cohort] = { aggregate };
      } catch (error) {
        problems.push({ cohort, message: messageOf(error) });
      }
    }),
  );
  return { observation: observationOf(readings, 0), problems };
}
