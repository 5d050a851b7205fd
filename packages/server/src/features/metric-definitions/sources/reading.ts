/**
 * What the external metric sources read, and how they say why a cohort has
 * no data. A reading never makes up a value: anything that fails leaves the
 * cohort (or the whole metric) out, which the rollout reads as "no data".
 */
import type { Cohort, CohortAggregate, MetricKind, MetricObservation, SeriesInterval } from '@rollgate/core';

/** One metric of one rollout's current stage. */
export interface ReadRequest {
  metric: string;
  /** The metric's kind (a gauge without samples counts its readings). */
  kind: MetricKind | null;
  projectKey: string;
  flagKey: string;
  environmentKey: string;
  stageStartedAt: number;
  now: number;
}

/** Why something is missing from a reading. */
export interface SourceProblem {
  /** The cohort it concerns; null for the metric as a whole. */
  cohort: Cohort | null;
  message: string;
}

export interface MetricReading {
  /** Undefined when nothing could be read: the metric has no data. */
  observation: MetricObservation | undefined;
  problems: SourceProblem[];
}

/** Per-request timeout when a source sets none. */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Samples of a value read without a sample count: one reading. A gate then
 * has a verdict only when it needs at most one sample (`minSamples: 1`), and
 * a sequential test (which needs real counts) stays inconclusive; see
 * docs/metrics.md, "Samples".
 */
export const UNKNOWN_SAMPLES = 1;

/** What one cohort gave: its stage aggregate and its series points (by interval end). */
export interface CohortReading {
  aggregate?: CohortAggregate;
  series?: Map<number, CohortAggregate>;
}

/**
 * Joins the cohorts' readings into one observation; undefined when no cohort
 * has anything.
 */
export function observationOf(cohorts: Partial<Record<Cohort, CohortReading>>, stepMs: number): MetricObservation | undefined {
  const observation: MetricObservation = {};
  let any = false;
  const ends = new Set<number>();
  let hasSeries = false;
  for (const cohort of ['treatment', 'control'] as const) {
    const reading = cohorts[cohort];
    if (reading?.aggregate !== undefined) {
      observation[cohort] = reading.aggregate;
      any = true;
    }
    if (reading?.series !== undefined) {
      hasSeries = true;
      for (const end of reading.series.keys()) ends.add(end);
    }
  }
  if (hasSeries) {
    const series: SeriesInterval[] = [...ends]
      .sort((a, b) => a - b)
      .map((end) => {
        const interval: SeriesInterval = { start: end - stepMs, end };
        for (const cohort of ['treatment', 'control'] as const) {
          const point = cohorts[cohort]?.series?.get(end);
          if (point !== undefined) interval[cohort] = point;
        }
        return interval;
      });
    if (series.length > 0) {
      observation.series = series;
      any = true;
    }
  }
  return any ? observation : undefined;
}

/** The message of a failure, for a problem. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
