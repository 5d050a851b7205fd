/**
 * Assessment of a rollback matrix (seed 003's "when to rollback" table).
 */
import type { CohortAggregate, MatrixAction, MatrixBand, MatrixResult, MetricDefinition, Observations, RollbackMatrix } from './types.js';
import { formatNumber, formatValue } from './internal/format.js';
import { metricDefinition } from './metrics-catalog.js';

const SEVERITY: Readonly<Record<MatrixAction, number>> = { continue: 0, monitor: 1, rollback: 2, disable: 3 };

/** The more severe of two matrix actions. */
export function severerMatrixAction(a: MatrixAction, b: MatrixAction): MatrixAction {
  return (SEVERITY[b] ?? 0) > (SEVERITY[a] ?? 0) ? b : a;
}

function usable(a: CohortAggregate | undefined): a is CohortAggregate {
  return a !== undefined && a !== null && Number.isFinite(a.value) && Number.isFinite(a.samples) && a.samples > 0;
}

/**
 * The band a value falls in: the first whose `below` the value is under, else
 * the last band. A boundary value belongs to the band above it.
 *
 * @example
 * matrixBand([{ below: 0.1, action: 'continue' }, { below: 0.5, action: 'monitor' }, { action: 'rollback' }], 0.5)?.action; // 'rollback'
 */
export function matrixBand(bands: readonly MatrixBand[], value: number): MatrixBand | undefined {
  if (!Array.isArray(bands)) return undefined;
  for (const band of bands) {
    if (band.below === undefined || value < band.below) return band;
  }
  return bands[bands.length - 1];
}

/**
 * The thresholds around `band`: the previous band's `below` (where this band
 * starts) and its own `below` (where it ends).
 *
 * @example
 * bandRange([{ below: 0.1, action: 'continue' }, { below: 0.5, action: 'monitor' }, { action: 'rollback' }], { below: 0.5, action: 'monitor' }); // { from: 0.1, below: 0.5 }
 */
export function bandRange(bands: readonly MatrixBand[], band: MatrixBand): { from?: number; below?: number } {
  const i = bands.indexOf(band);
  const from = i > 0 ? bands[i - 1]?.below : undefined;
  return { ...(from !== undefined ? { from } : {}), ...(band.below !== undefined ? { below: band.below } : {}) };
}

function rangeText(range: { from?: number; below?: number }, d: MetricDefinition | undefined): string {
  const from = range.from === undefined ? undefined : `at or above ${formatValue(range.from, d)}`;
  const below = range.below === undefined ? undefined : `under ${formatValue(range.below, d)}`;
  if (from !== undefined && below !== undefined) return `${from} and ${below}`;
  return from ?? below ?? 'in the only band';
}

/**
 * Assesses a matrix on the treatment cohort's aggregate over the current
 * stage. Any-occurrence rules act on a single event, so they do not wait for
 * `minSamples`: one data-loss event is enough to roll back.
 *
 * @example
 * assessMatrix(
 *   { id: 'm', metric: 'error-rate', bands: [{ below: 0.5, action: 'continue' }, { action: 'rollback' }] },
 *   { metrics: { 'error-rate': { treatment: { value: 0.7, samples: 5000 } } } },
 *   1000,
 * ).action; // 'rollback'
 */
export function assessMatrix(
  matrix: RollbackMatrix,
  observations: Observations,
  minSamples: number,
  catalog?: readonly MetricDefinition[],
): MatrixResult {
  const metrics = observations?.metrics ?? {};
  const need = Math.max(1, Number.isFinite(minSamples) ? minSamples : 1);
  const d = metricDefinition(matrix.metric, catalog);

  // Any-occurrence rules first: they fire on one event whatever the band says.
  let occurrence: MatrixResult | undefined;
  let missingOccurrence: string | undefined;
  const rules: NonNullable<RollbackMatrix['anyOccurrence']> = Array.isArray(matrix.anyOccurrence) ? matrix.anyOccurrence : [];
  for (const rule of rules) {
    const t = metrics[rule.metric]?.treatment;
    const value = t !== undefined && t !== null && Number.isFinite(t.value) ? t.value : undefined;
    // A positive count is evidence on its own; a zero needs samples behind it.
    if (value === undefined || (value <= 0 && !usable(t))) {
      missingOccurrence ??= rule.metric;
      continue;
    }
    const current: MatrixAction | undefined = occurrence?.action;
    if (value > 0 && (current === undefined || (SEVERITY[rule.action] ?? 0) > (SEVERITY[current] ?? 0))) {
      const label = rule.label ? ` (${rule.label})` : '';
      occurrence = {
        matrixId: matrix.id,
        metric: matrix.metric,
        action: rule.action,
        verdict: 'occurrence',
        occurrence: { metric: rule.metric, value },
        summary: `${formatNumber(value)} ${rule.metric} in the treatment cohort${label}: any occurrence means ${rule.action} (matrix ${matrix.id}).`,
      };
    }
  }

  const t = metrics[matrix.metric]?.treatment;
  let banded: MatrixResult;
  if (!usable(t)) {
    banded = {
      matrixId: matrix.id,
      metric: matrix.metric,
      action: 'continue',
      verdict: 'no_data',
      shortfall: { metric: matrix.metric, cohort: 'treatment', reason: 'no_data' },
      summary: `No data for ${matrix.metric} in the treatment cohort (matrix ${matrix.id}).`,
    };
  } else if (t.samples < need) {
    banded = {
      matrixId: matrix.id,
      metric: matrix.metric,
      action: 'continue',
      verdict: 'inconclusive',
      treatment: t,
      shortfall: { metric: matrix.metric, cohort: 'treatment', reason: 'samples', samples: t.samples, required: need },
      summary: `${matrix.metric} has ${formatNumber(t.samples)} of the ${formatNumber(need)} treatment samples needed (matrix ${matrix.id}).`,
    };
  } else {
    const band = matrixBand(matrix.bands, t.value);
    const action = band?.action ?? 'continue';
    const range = band === undefined ? {} : bandRange(matrix.bands, band);
    banded = {
      matrixId: matrix.id,
      metric: matrix.metric,
      action,
      verdict: 'band',
      treatment: t,
      range,
      summary: `${matrix.metric} ${formatValue(t.value, d)} is ${rangeText(range, d)}${band?.label ? ` (band ${JSON.stringify(band.label)})` : ''}: ${action} (matrix ${matrix.id}; samples: treatment ${formatNumber(t.samples)}).`,
    };
    if (band) banded.band = band;
  }

  if (occurrence && (SEVERITY[occurrence.action] ?? 0) >= (SEVERITY[banded.action] ?? 0)) {
    if (banded.treatment) occurrence.treatment = banded.treatment;
    return occurrence;
  }
  if (missingOccurrence !== undefined && banded.verdict === 'band' && (SEVERITY[banded.action] ?? 0) < SEVERITY.rollback) {
    // Silence about data loss is not "no data loss": hold like any missing metric.
    return {
      ...banded,
      verdict: 'no_data',
      shortfall: { metric: missingOccurrence, cohort: 'treatment', reason: 'no_data' },
      summary: `${banded.summary} No data for ${missingOccurrence} in the treatment cohort.`,
    };
  }
  return banded;
}
