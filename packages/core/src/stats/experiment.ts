/**
 * A/B experiments (seed 002's test groups): each group's metrics against the
 * control group's, with always-valid confidence sequences so results may be
 * read every tick, and a sample-ratio check of the groups' sizes against
 * their weights. Pure: the controller and the API call it with observations.
 */
import { metricDefinition, METRIC_CATALOG } from '../rollouts/metrics-catalog.js';
import { formatNumber, formatValue } from '../rollouts/internal/format.js';
import type { CohortAggregate, Experiment, MetricDefinition, Observations } from '../rollouts/types.js';
import { meanDifferenceTest, proportionDifferenceTest, type SequentialTestResult } from './msprt.js';
import { sequentialSrmTest, type SrmOptions, type SrmResult } from './srm.js';

/** `better` or `worse` than the control group by the metric's direction, when the confidence sequence excludes no difference. */
export type ExperimentVerdict = 'better' | 'worse' | 'inconclusive' | 'no_data';

/** One group against the control group on one metric. */
export interface GroupComparison {
  variation: string;
  name?: string;
  /** The group's aggregate (value in the metric's unit, samples). */
  aggregate?: CohortAggregate;
  /** Group minus control, in the metric's unit (percentage points for percent metrics). */
  difference?: number;
  /** Confidence sequence of the difference at level 1 - alpha per comparison. */
  interval?: { lower: number; upper: number; level: number };
  /** Always-valid p-value of "no difference". */
  pValue?: number;
  verdict: ExperimentVerdict;
  method: string;
  summary: string;
}

/** Every group's comparison on one metric. */
export interface ExperimentMetricResult {
  metric: string;
  direction?: 'lower' | 'higher';
  control?: CohortAggregate;
  groups: GroupComparison[];
}

/** The analysis of an experiment stage at one moment. */
export interface ExperimentResult {
  control: string;
  groups: { variation: string; name?: string; weight: number; assigned?: number }[];
  /** Group sizes against the weights; absent when the source counts no assignments. */
  srm?: SrmResult;
  metrics: ExperimentMetricResult[];
  /** Alpha of each comparison: the experiment's alpha over (groups - 1) x metrics. */
  alpha: number;
  comparisons: number;
}

/** Options of {@link analyzeExperiment}. */
export interface ExperimentOptions {
  /** Metric definitions (catalog and project metrics); default the built-in catalog. */
  catalog?: readonly MetricDefinition[];
  /** Samples each group needs before a verdict; default 500. */
  burnIn?: number;
  /** Samples per group expected when the stage ends, to tune the mixing variance; default 10,000. */
  expectedSamples?: number;
  /** Alpha of the SRM check; default 0.001. */
  srmAlpha?: number;
}

function usable(a: CohortAggregate | undefined): a is CohortAggregate {
  return a !== undefined && Number.isFinite(a.value) && Number.isFinite(a.samples) && a.samples > 0;
}

/**
 * The sequential SRM test of an experiment's groups: contexts assigned to
 * each group (by variation) against the groups' weights.
 *
 * @example
 * groupSrm(experiment, { advanced: 3000, simplified: 2333, choice: 2333, automatic: 2334 }).mismatch; // true
 */
export function groupSrm(experiment: Experiment, assigned: Readonly<Record<string, number>>, options: SrmOptions = {}): SrmResult {
  return sequentialSrmTest(
    experiment.groups.map((g) => assigned[g.variation] ?? 0),
    experiment.groups.map((g) => g.weight),
    options,
  );
}

/** Metrics an experiment compares: its own list, else what the stage's gates and matrices read. */
export function experimentMetrics(experiment: Experiment, stageMetrics: readonly string[]): string[] {
  return experiment.metrics !== undefined && experiment.metrics.length > 0 ? [...experiment.metrics] : [...stageMetrics];
}

/**
 * Compares every group with the control group on each metric, and checks the
 * groups' sizes against their weights.
 *
 * @example
 * analyzeExperiment(stage.experiment, ['error-rate'], observations).metrics[0].groups[0].verdict; // 'inconclusive'
 */
export function analyzeExperiment(experiment: Experiment, stageMetrics: readonly string[], observations: Observations, options: ExperimentOptions = {}): ExperimentResult {
  const catalog = options.catalog ?? METRIC_CATALOG;
  const burnIn = Number.isFinite(options.burnIn) && (options.burnIn as number) >= 1 ? (options.burnIn as number) : 500;
  const expected = Number.isFinite(options.expectedSamples) && (options.expectedSamples as number) >= 1 ? (options.expectedSamples as number) : 10_000;
  const metrics = experimentMetrics(experiment, stageMetrics);
  const others = experiment.groups.filter((g) => g.variation !== experiment.control);
  const comparisons = Math.max(1, others.length * metrics.length);
  const total = typeof experiment.alpha === 'number' && experiment.alpha > 0 && experiment.alpha < 1 ? experiment.alpha : 0.05;
  const alpha = total / comparisons;
  const assigned = observations.assignments?.variants;
  const groups = experiment.groups.map((g) => {
    const out: ExperimentResult['groups'][number] = { variation: g.variation, weight: g.weight };
    if (g.name !== undefined) out.name = g.name;
    if (assigned !== undefined) out.assigned = assigned[g.variation] ?? 0;
    return out;
  });
  const result: ExperimentResult = { control: experiment.control, groups, metrics: [], alpha, comparisons };
  if (assigned !== undefined) result.srm = groupSrm(experiment, assigned, options.srmAlpha === undefined ? {} : { alpha: options.srmAlpha });
  for (const metric of metrics) {
    const definition = metricDefinition(metric, catalog);
    const byVariant = observations.metrics[metric]?.variants ?? {};
    const control = byVariant[experiment.control];
    const entry: ExperimentMetricResult = { metric, groups: [] };
    if (definition !== undefined) entry.direction = definition.direction;
    if (usable(control)) entry.control = control;
    for (const g of others) {
      entry.groups.push(compare(g.variation, g.name, byVariant[g.variation], control, definition, metric, { alpha, burnIn, expected, controlName: experiment.control }));
    }
    result.metrics.push(entry);
  }
  return result;
}

interface CompareOptions {
  alpha: number;
  burnIn: number;
  expected: number;
  controlName: string;
}

function compare(
  variation: string,
  name: string | undefined,
  group: CohortAggregate | undefined,
  control: CohortAggregate | undefined,
  definition: MetricDefinition | undefined,
  metric: string,
  o: CompareOptions,
): GroupComparison {
  const base: GroupComparison = { variation, verdict: 'no_data', method: 'none', summary: '' };
  if (name !== undefined) base.name = name;
  if (usable(group)) base.aggregate = group;
  const who = `${metric}: ${JSON.stringify(variation)} vs ${JSON.stringify(o.controlName)}`;
  if (!usable(group) || !usable(control)) {
    return { ...base, summary: `${who}: no data for ${usable(group) ? 'the control group' : 'this group'}.` };
  }
  base.difference = group.value - control.value;
  const fewest = Math.min(group.samples, control.samples);
  if (fewest < o.burnIn) {
    return { ...base, verdict: 'inconclusive', method: 'msprt', summary: `${who}: ${formatNumber(fewest)} of the ${formatNumber(o.burnIn)} samples per group a verdict needs.` };
  }
  const percent = definition?.unit === 'percent';
  const testOptions = { alpha: o.alpha, expectedEffectiveSamples: o.expected / 2 };
  let test: SequentialTestResult | undefined;
  let method: string;
  let scale = 1;
  if (definition?.kind === 'ratio' || definition?.kind === 'unique') {
    scale = percent ? 100 : 1;
    const p = (a: CohortAggregate): number => Math.min(1, Math.max(0, a.value / scale));
    test = proportionDifferenceTest({ events: p(group) * group.samples, samples: group.samples }, { events: p(control) * control.samples, samples: control.samples }, 0, testOptions);
    method = 'msprt-proportions';
  } else if ((definition === undefined || definition.kind === 'mean') && Number.isFinite(group.variance) && Number.isFinite(control.variance)) {
    test = meanDifferenceTest(
      { mean: group.value, variance: group.variance as number, samples: group.samples },
      { mean: control.value, variance: control.variance as number, samples: control.samples },
      0,
      testOptions,
    );
    method = 'msprt-welch';
  } else {
    return { ...base, verdict: 'inconclusive', method: 'none', summary: `${who}: ${signed(base.difference, definition, percent)}; no sequential test for a ${definition?.kind ?? 'metric'} without per-sample variance.` };
  }
  const interval = { lower: test.lower * scale, upper: test.upper * scale, level: 1 - o.alpha };
  const lowerIsBetter = definition?.direction !== 'higher';
  let verdict: ExperimentVerdict = 'inconclusive';
  if (test.rejects === 'above') verdict = lowerIsBetter ? 'worse' : 'better';
  else if (test.rejects === 'below') verdict = lowerIsBetter ? 'better' : 'worse';
  const level = formatNumber((1 - o.alpha) * 100);
  const bounds = Number.isFinite(interval.lower) && Number.isFinite(interval.upper) ? `${signed(interval.lower, definition, percent)} to ${signed(interval.upper, definition, percent)}` : 'unbounded';
  const p = test.pValue < 1e-4 ? test.pValue.toExponential(1) : formatNumber(test.pValue);
  const what = verdict === 'inconclusive' ? 'not distinguishable from the control group yet' : `${verdict} than the control group`;
  return {
    ...base,
    verdict,
    method,
    interval,
    pValue: test.pValue,
    summary: `${who}: ${formatValue(group.value, definition)} vs ${formatValue(control.value, definition)} (${signed(base.difference, definition, percent)}, ${level}% confidence sequence ${bounds}, always-valid p = ${p}; samples ${formatNumber(group.samples)} and ${formatNumber(control.samples)}): ${what}.`,
  };
}

function signed(n: number, d: MetricDefinition | undefined, percent: boolean): string {
  const s = percent ? `${formatNumber(Math.round(n * 1000) / 1000)} points` : formatValue(n, d);
  return n > 0 ? `+${s}` : s;
}

/** An experiment stage's analysis at one decision, with the group that won, if one did. */
export interface ExperimentOutcome extends ExperimentResult {
  stageIndex: number;
  stageId: string;
  stageName: string;
  /** The winning group's variation; absent when the analysis has no winner. */
  winner?: string;
  /** Why that group won, or why none did, with the numbers, for people. */
  verdict: string;
}

/**
 * The winner of an analysed experiment: the one group better than the
 * control group on some metric and worse on none (the most metrics better
 * when several are); the control group when every other group is worse on
 * some metric and better on none; nobody when the groups' sizes do not
 * match their weights, or the comparisons leave it open.
 *
 * @example
 * experimentWinner(analyzeExperiment(stage.experiment, ['error-rate'], observations)).winner; // 'choice'
 */
export function experimentWinner(result: ExperimentResult): { winner?: string; verdict: string } {
  if (result.srm?.mismatch === true) {
    return { verdict: `no winner: the groups' sizes do not match their weights (SRM always-valid p = ${formatNumber(result.srm.pValue)}), so the comparisons cannot be trusted` };
  }
  const others = result.groups.filter((g) => g.variation !== result.control);
  const tally = others.map((g) => {
    const better: string[] = [];
    const worse: string[] = [];
    for (const m of result.metrics) {
      const v = m.groups.find((x) => x.variation === g.variation)?.verdict;
      if (v === 'better') better.push(m.metric);
      if (v === 'worse') worse.push(m.metric);
    }
    return { variation: g.variation, better, worse };
  });
  const control = JSON.stringify(result.control);
  const candidates = tally.filter((t) => t.better.length > 0 && t.worse.length === 0).sort((a, b) => b.better.length - a.better.length);
  const [first, second] = candidates;
  if (first !== undefined && (second === undefined || second.better.length < first.better.length)) {
    return { winner: first.variation, verdict: `${JSON.stringify(first.variation)} wins: better than ${control} on ${first.better.join(', ')} and worse on none` };
  }
  if (first !== undefined && second !== undefined) {
    const tied = candidates.filter((c) => c.better.length === first.better.length).map((c) => JSON.stringify(c.variation));
    return { verdict: `no winner: ${tied.join(' and ')} are each better than ${control} on ${first.better.length} metric${first.better.length === 1 ? '' : 's'} and worse on none` };
  }
  if (tally.length > 0 && tally.every((t) => t.worse.length > 0 && t.better.length === 0)) {
    return { winner: result.control, verdict: `${control} (the control group) wins: every other group is worse on some metric (${tally.map((t) => `${JSON.stringify(t.variation)} on ${t.worse.join(', ')}`).join('; ')}) and better on none` };
  }
  const mixed = tally.filter((t) => t.better.length > 0 && t.worse.length > 0).map((t) => `${JSON.stringify(t.variation)} is better on ${t.better.join(', ')} but worse on ${t.worse.join(', ')}`);
  return { verdict: `no winner: ${mixed.length > 0 ? mixed.join('; ') : `no group is shown better than ${control} on any metric`}` };
}
