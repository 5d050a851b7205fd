import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzeExperiment, experimentWinner } from './experiment.js';
import { recordExperiments, stageVariation } from './experiment-decision.js';
import { groupSrmCheck, guardedDecide } from './guard.js';
import { validatePlan, metricsObservedBy, metricsReadBy } from '../rollouts/validate-plan.js';
import { SEED_002_AB_EXPERIMENT as AB } from '../rollouts/templates.js';
import type { CohortAggregate, Experiment, Observations, Plan } from '../rollouts/types.js';
import { DAY, T0, healthy, ready } from '../rollouts/rollouts.test-helpers.js';
import { binomial, gaussian, mulberry32 } from './stats.test-helpers.js';

const stage = AB.stages[1]!;
const experiment = stage.experiment!;
const GROUPS = experiment.groups.map((g) => g.variation);

/** Per-variant aggregates for `metric`. */
function variants(values: Record<string, CohortAggregate>): Record<string, CohortAggregate> {
  return values;
}
function observations(metrics: Record<string, Record<string, CohortAggregate>>, assigned?: Record<string, number>): Observations {
  const out: Observations = { metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { variants: variants(v) }])) };
  return assigned === undefined ? out : { ...out, assignments: { treatment: Object.values(assigned).reduce((a, b) => a + b, 0), control: 0, variants: assigned } };
}

describe('experiments: the plan', () => {
  it('seed 002 A/B template: four groups of a quarter each, compared with the Advanced Model group on the seed\'s test metrics; it validates', () => {
    expect(experiment.groups.map((g) => [g.variation, g.weight])).toEqual([
      ['advanced', 25_000],
      ['simplified', 25_000],
      ['choice', 25_000],
      ['automatic', 25_000],
    ]);
    expect(experiment.control).toBe('advanced');
    expect(validatePlan(AB)).toEqual([]);
    // The source fetches the experiment's metrics too; the gates read only theirs.
    expect(metricsObservedBy(stage)).toEqual([...metricsReadBy(stage), 'satisfaction-score', 'adoption']);
  });

  it('refuses experiments that cannot run, saying why', () => {
    const withExperiment = (e: unknown, audience: unknown = { percentage: 25 }): Plan =>
      ({ ...AB, stages: [{ ...stage, audience, experiment: e }] }) as unknown as Plan;
    const issues = (e: unknown, audience?: unknown) => validatePlan(withExperiment(e, audience)).map((i) => `${i.path}: ${i.message}`);
    expect(issues({ groups: [{ variation: 'a', weight: 100_000 }], control: 'a' })).toContain('stages[0].experiment.groups: must list at least two groups {variation, weight}');
    expect(issues({ groups: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 40_000 }], control: 'a' })).toContain(
      'stages[0].experiment.groups: weights must sum to 100000 (thousandths of a percent); they sum to 90000',
    );
    expect(issues({ groups: [{ variation: 'a', weight: 50_000 }, { variation: 'a', weight: 50_000 }], control: 'a' })).toContain('stages[0].experiment.groups[1].variation: duplicate group "a"');
    expect(issues({ groups: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }], control: 'c' })).toContain('stages[0].experiment.control: "c" is not one of the groups (a, b)');
    expect(issues({ groups: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }], control: 'a', metrics: ['nope'] })).toContain('stages[0].experiment.metrics[0]: unknown metric "nope"');
    expect(issues({ groups: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }], control: 'a' }, { segments: ['x'], percentage: 10 })[0]).toMatch(
      /cannot have segments/,
    );
    expect(issues('x')).toContain('stages[0].experiment: must be {groups, control, metrics?, alpha?}');
  });
});

describe('experiments: analysis', () => {
  const rate = (value: number, samples: number): CohortAggregate => ({ value, samples });
  const mean = (value: number, sd: number, samples: number): CohortAggregate => ({ value, samples, variance: sd * sd });

  it('gives a verdict per metric and group by the metric\'s direction, with interval, p-value and samples', () => {
    const r = analyzeExperiment(
      experiment,
      [],
      observations({
        'error-rate': { advanced: rate(1, 20_000), simplified: rate(2, 20_000), choice: rate(1.02, 20_000), automatic: rate(0.5, 20_000) },
        'response-time-avg': { advanced: mean(300, 100, 20_000), simplified: mean(200, 100, 20_000), choice: mean(301, 100, 20_000), automatic: mean(330, 100, 20_000) },
        'satisfaction-score': { advanced: mean(4, 1, 5_000), simplified: mean(4.3, 1, 5_000), choice: mean(4, 1, 5_000), automatic: mean(4, 1, 100) },
      }),
    );
    expect(r.comparisons).toBe(12);
    expect(r.alpha).toBeCloseTo(0.05 / 12, 12);
    const verdicts = Object.fromEntries(r.metrics.map((m) => [m.metric, Object.fromEntries(m.groups.map((g) => [g.variation, g.verdict]))]));
    expect(verdicts).toEqual({
      'response-time-avg': { simplified: 'better', choice: 'inconclusive', automatic: 'worse' },
      'satisfaction-score': { simplified: 'better', choice: 'inconclusive', automatic: 'inconclusive' },
      adoption: { simplified: 'no_data', choice: 'no_data', automatic: 'no_data' },
      'error-rate': { simplified: 'worse', choice: 'inconclusive', automatic: 'better' },
    });
    const worse = r.metrics.find((m) => m.metric === 'error-rate')!.groups[0]!;
    expect(worse.difference).toBeCloseTo(1, 9);
    expect(worse.interval!.lower).toBeGreaterThan(0);
    expect(worse.pValue).toBeLessThan(r.alpha);
    expect(worse.summary).toMatch(/^error-rate: "simplified" vs "advanced": 2% vs 1% \(\+1 points, 99\.583% confidence sequence \+0\.\d+ points to \+1\.\d+ points, always-valid p = .*; samples 20000 and 20000\): worse than the control group\.$/);
    // Too few samples in a group: a verdict waits for the burn-in.
    expect(r.metrics.find((m) => m.metric === 'satisfaction-score')!.groups[2]!.summary).toMatch(/100 of the 500 samples per group/);
  });

  it('checks the groups\' sizes against their weights and holds a rollout on a mismatch', () => {
    const fine = { advanced: 2_510, simplified: 2_490, choice: 2_475, automatic: 2_525 };
    const bad = { advanced: 3_000, simplified: 2_333, choice: 2_333, automatic: 2_334 };
    expect(analyzeExperiment(experiment, [], observations({}, fine)).srm?.mismatch).toBe(false);
    expect(analyzeExperiment(experiment, [], observations({}, bad)).srm?.mismatch).toBe(true);
    const state = ready(AB, 1, T0);
    const now = T0 + 15 * DAY;
    const obs = (assigned: Record<string, number>): Observations => ({ ...healthy(stage, T0, now), assignments: { treatment: 10_000, control: 30_000, variants: assigned } });
    expect(groupSrmCheck(AB, state, obs(fine))).toBeUndefined();
    const hold = guardedDecide(AB, state, obs(bad), now);
    expect(hold).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'srm' });
    expect(hold.reason).toMatch(/^Holding: assignment problem: the experiment's groups do not match their weights: advanced 30% \(expected 25%\), simplified 23\.3% \(expected 25%\)/);
    // No group differs: General Availability serves the winner, so a person must choose.
    expect(guardedDecide(AB, state, obs(fine), now).kind).toBe('await_approval');
  });

  it('A/A: 500 seeded experiments of four identical groups, looked at every 1,000 contexts per group, call a difference in few runs (<= alpha + slack)', () => {
    const random = mulberry32(20261121);
    const two: Experiment = { groups: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }], control: 'a', metrics: ['error-rate', 'response-time-avg'] };
    let called = 0;
    const runs = 500;
    for (let run = 0; run < runs; run++) {
      const sums = { a: { e: 0, n: 0, s: 0, ss: 0 }, b: { e: 0, n: 0, s: 0, ss: 0 } };
      let anyCall = false;
      for (let look = 0; look < 20 && !anyCall; look++) {
        for (const g of ['a', 'b'] as const) {
          sums[g].e += binomial(random, 1000, 0.02);
          for (let i = 0; i < 1000; i++) {
            const x = 200 * Math.exp(0.5 * gaussian(random));
            sums[g].s += x;
            sums[g].ss += x * x;
          }
          sums[g].n += 1000;
        }
        const agg = (g: 'a' | 'b') => {
          const m = sums[g].s / sums[g].n;
          return { rate: rate((sums[g].e / sums[g].n) * 100, sums[g].n), mean: { value: m, samples: sums[g].n, variance: (sums[g].ss - sums[g].n * m * m) / (sums[g].n - 1) } };
        };
        const r = analyzeExperiment(two, [], observations({ 'error-rate': { a: agg('a').rate, b: agg('b').rate }, 'response-time-avg': { a: agg('a').mean, b: agg('b').mean } }));
        anyCall = r.metrics.some((m) => m.groups.some((g) => g.verdict === 'better' || g.verdict === 'worse'));
      }
      if (anyCall) called++;
    }
    expect(called / runs).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / runs));
  });

  it('property: never throws, and an absent metric is no data, never a verdict', () => {
    const agg = fc.record({ value: fc.double(), samples: fc.oneof(fc.double(), fc.nat()), variance: fc.option(fc.double(), { nil: undefined }) });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...GROUPS, 'other'), agg), fc.option(fc.dictionary(fc.constantFrom(...GROUPS), fc.nat()), { nil: undefined }), (byVariant, assigned) => {
        const clean = Object.fromEntries(Object.entries(byVariant).map(([k, v]) => [k, v.variance === undefined ? { value: v.value, samples: v.samples } : v]));
        const r = analyzeExperiment(experiment, [], observations({ 'error-rate': clean, 'response-time-avg': clean }, assigned));
        for (const m of r.metrics) for (const g of m.groups) expect(['better', 'worse', 'inconclusive', 'no_data']).toContain(g.verdict);
        expect(r.metrics.find((m) => m.metric === 'adoption')!.groups.every((g) => g.verdict === 'no_data')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('experiments: the result decides what the next stage serves', () => {
  const now = T0 + 15 * DAY;
  const rate = (value: number) => ({ value, samples: 20_000 });
  const score = (value: number) => ({ value, samples: 5_000, variance: 1 });
  const assigned = { advanced: 2_500, simplified: 2_500, choice: 2_500, automatic: 2_500 };
  /** Healthy stage metrics, with per-group error rates and satisfaction scores. */
  const obs = (errors: Record<string, number>, scores: Record<string, number>): Observations => {
    const base = healthy(stage, T0, now);
    const by = (f: (v: number) => CohortAggregate, values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, f(v)]));
    return {
      metrics: {
        ...base.metrics,
        'error-rate': { ...base.metrics['error-rate'], variants: by(rate, errors) },
        'satisfaction-score': { ...base.metrics['satisfaction-score'], variants: by(score, scores) },
      },
      assignments: { treatment: 10_000, control: 30_000, variants: assigned },
    };
  };
  const sameErrors = { advanced: 0.5, simplified: 0.5, choice: 0.5, automatic: 0.5 };

  it('advances to General Availability serving the group better on some metric and worse on none, with the analysis in the evidence and the reason', () => {
    const d = guardedDecide(AB, ready(AB, 1, T0), obs(sameErrors, { advanced: 4, simplified: 4, choice: 4.3, automatic: 4.02 }), now);
    expect(d).toMatchObject({ kind: 'advance', toStage: 2, variation: 'choice' });
    expect(d.evidence.experiment).toMatchObject({ stageIndex: 1, stageId: 'controlled', winner: 'choice', control: 'advanced' });
    const satisfaction = d.evidence.experiment!.metrics.find((m) => m.metric === 'satisfaction-score')!;
    expect(satisfaction.groups.map((g) => g.verdict)).toEqual(['inconclusive', 'better', 'inconclusive']);
    expect(d.reason).toMatch(/Experiment of "Controlled Expansion": "choice" wins: better than "advanced" on satisfaction-score and worse on none\. "General Availability" serves "choice", the winner of the experiment of "Controlled Expansion"\.$/);
  });

  it('has no winner when the better group is also worse elsewhere, and waits for a person, who may choose with an advance request', () => {
    const o = obs({ ...sameErrors, choice: 1.5 }, { advanced: 4, simplified: 4, choice: 4.3, automatic: 4.02 });
    const waiting = guardedDecide(AB, ready(AB, 1, T0), o, now);
    expect(waiting).toMatchObject({ kind: 'await_approval', waitingFor: [{ kind: 'variation', stageId: 'controlled', choices: GROUPS }] });
    expect(waiting.reason).toMatch(/but the experiment of "Controlled Expansion" has no winner: "choice" is better on satisfaction-score but worse on error-rate\. A person chooses what it serves: one of "advanced", "simplified", "choice" and "automatic"/);
    expect(waiting.evidence.experiment?.winner).toBeUndefined();
    const asked = ready(AB, 1, T0, { advanceRequest: { by: 'usr_1', name: 'Ann Approver', role: 'approver', at: now - 1, variation: 'simplified' } });
    const chosen = guardedDecide(AB, asked, o, now);
    expect(chosen).toMatchObject({ kind: 'advance', variation: 'simplified' });
    expect(chosen.reason).toMatch(/"General Availability" serves "simplified", chosen by Ann Approver\.$/);
    // The final analysis is kept with who chose, and General Availability serves the choice.
    const experiments = recordExperiments(AB, asked, { kind: 'advance', outcome: chosen.evidence.experiment!, toStage: 2, variation: 'simplified' }, now)!;
    expect(experiments).toHaveLength(1);
    expect(experiments[0]).toMatchObject({ stageId: 'controlled', endedAt: now, endedBy: 'advance', chosen: 'simplified', chosenBy: 'Ann Approver' });
    expect(stageVariation(AB, { experiments }, 2, 'automatic')).toBe('simplified');
    expect(stageVariation(AB, { experiments }, 0, 'automatic')).toBe('automatic');
    expect(stageVariation(AB, {}, 2, 'automatic')).toBe('automatic');
  });

  it('the control group wins when every other group is worse; an SRM mismatch leaves no winner', () => {
    const r = analyzeExperiment(experiment, ['error-rate'], obs({ advanced: 0.5, simplified: 1.5, choice: 1.5, automatic: 1.5 }, {}));
    expect(experimentWinner(r)).toMatchObject({ winner: 'advanced', verdict: expect.stringMatching(/^"advanced" \(the control group\) wins/) });
    const skewed = analyzeExperiment(experiment, ['error-rate'], { ...obs(sameErrors, {}), assignments: { treatment: 10_000, control: 30_000, variants: { advanced: 3_000, simplified: 2_333, choice: 2_333, automatic: 2_334 } } });
    expect(experimentWinner(skewed)).toEqual({ verdict: expect.stringMatching(/^no winner: the groups' sizes do not match their weights/) });
  });

  it('a rollback trigger (seed 002: disable the flag) on the experiment stage keeps its final analysis too', () => {
    const o = obs({ ...sameErrors, simplified: 9 }, {});
    const d = guardedDecide(AB, ready(AB, 1, T0), { ...o, metrics: { ...o.metrics, 'error-rate': { ...o.metrics['error-rate'], treatment: { value: 3, samples: 100_000 } } } }, now);
    expect(d.kind).toBe('disable');
    expect(d.evidence.experiment?.metrics.find((m) => m.metric === 'error-rate')?.groups[0]?.verdict).toBe('worse');
  });

  it('validation: serve names a variation or an earlier experiment stage, not both', () => {
    const base = { ...AB, stages: AB.stages.map((s) => ({ ...s })) };
    const withServe = (serve: unknown, at = 2) => ({ ...base, stages: base.stages.map((s, i) => (i === at ? { ...s, serve } : s)) });
    expect(validatePlan(AB)).toEqual([]);
    expect(validatePlan(withServe({ variation: 'advanced' }))).toEqual([]);
    expect(validatePlan(withServe({ experimentWinner: 'beta' }))).toEqual([{ path: 'stages[2].serve.experimentWinner', message: 'stage "beta" runs no experiment' }]);
    expect(validatePlan(withServe({ experimentWinner: 'controlled' }, 1))[0]?.message).toMatch(/no earlier stage has id "controlled"/);
    expect(validatePlan(withServe({ variation: 'a', experimentWinner: 'controlled' }))[0]).toMatchObject({ path: 'stages[2].serve' });
  });
});
