import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sequentialGateAssessor } from './gate-assessor.js';
import { assessGate } from '../rollouts/assess-gate.js';
import { decide } from '../rollouts/decide.js';
import { metricDefinition } from '../rollouts/metrics-catalog.js';
import { SEED_001_STAGED_ROLLOUT as S001, SEED_002_PHASED_ROLLOUT as S002, SEED_003_GRADUAL_ROLLOUT as S003 } from '../rollouts/templates.js';
import type { CohortAggregate, Gate, GateInput, MetricObservation, Observations } from '../rollouts/types.js';
import { DAY, T0, healthy, ready } from '../rollouts/rollouts.test-helpers.js';

const input = (metric: string, observation: MetricObservation | undefined, minSamples = 1000): GateInput => {
  const definition = metricDefinition(metric);
  return { observation, minSamples, stageStartedAt: T0, now: T0 + DAY, ...(definition ? { definition } : {}) };
};
const latency = (value: number, samples: number, sd = 60): CohortAggregate => ({ value, samples, variance: sd * sd });
const rate = (value: number, samples: number): CohortAggregate => ({ value, samples });

const degradation: Gate = { id: 'deg', metric: 'response-time-avg', role: 'rollback', condition: { type: 'relative', op: '>', value: 20 } };
const tickets: Gate = { id: 'tickets', metric: 'support-ticket-rate', role: 'success', condition: { type: 'relative', op: '<', value: 10 } };
const errorDiff: Gate = { id: 'err', metric: 'error-rate', role: 'alert', condition: { type: 'difference', op: '>', value: 0 } };
const p95: Gate = { id: 'p95', metric: 'response-time-p95', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } };

describe('sequentialGateAssessor: verdicts', () => {
  const assess = sequentialGateAssessor();

  it('leaves absolute gates and sustained windows to the point-estimate assessor', () => {
    const gate: Gate = { id: 'e', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } };
    const i = input('error-rate', { treatment: rate(0.4, 5000) });
    expect(assess(gate, i)).toEqual(assessGate(gate, i));
    const sustained: Gate = { ...degradation, sustainedFor: 3_600_000 };
    const j = input('response-time-avg', { treatment: latency(300, 5000), control: latency(200, 5000) });
    expect(assess(sustained, j)).toEqual(assessGate(sustained, j));
  });

  it('no data in a cohort is no_data; fewer samples than the burn-in is inconclusive with the shortfall', () => {
    expect(assess(degradation, input('response-time-avg', { treatment: latency(300, 5000) }))).toMatchObject({ verdict: 'no_data', shortfall: { cohort: 'control' } });
    expect(assess(degradation, input('response-time-avg', undefined))).toMatchObject({ verdict: 'no_data', shortfall: { cohort: 'treatment' } });
    const r = assess(degradation, input('response-time-avg', { treatment: latency(300, 5000), control: latency(200, 300) }, 100));
    expect(r).toMatchObject({ verdict: 'inconclusive', shortfall: { cohort: 'control', reason: 'samples', samples: 300, required: 500 } });
  });

  it('a clear degradation fails the rollback trigger with estimate, interval, p-value and samples', () => {
    const r = assess(degradation, input('response-time-avg', { treatment: latency(260, 5000), control: latency(200, 5000) }));
    expect(r).toMatchObject({ verdict: 'fail', method: 'msprt-relative-welch', treatment: { samples: 5000 }, control: { samples: 5000 } });
    expect(r.estimate).toBeCloseTo(30, 6);
    expect(r.pValue).toBeLessThan(0.05);
    expect(r.interval?.lower).toBeGreaterThan(20);
    expect(r.interval?.level).toBe(0.95);
    expect(r.summary).toMatch(/^response-time-avg \+30% vs control \(260 ms vs 200 ms\) breaches > \+20% by sequential test: 95% confidence sequence/);
  });

  it('a degradation near the threshold is inconclusive for a trigger; clearly below it passes', () => {
    const near = assess(degradation, input('response-time-avg', { treatment: latency(244, 2000, 150), control: latency(200, 2000, 150) }));
    expect(near.verdict).toBe('inconclusive');
    expect(near.interval!.lower).toBeLessThan(20);
    expect(near.interval!.upper).toBeGreaterThan(20);
    const fine = assess(degradation, input('response-time-avg', { treatment: latency(202, 20_000), control: latency(200, 20_000) }));
    expect(fine.verdict).toBe('pass');
  });

  it('a success criterion passes only when the confidence sequence lies inside it', () => {
    const clear = assess(tickets, input('support-ticket-rate', { treatment: rate(1, 500_000), control: rate(1, 500_000) }));
    expect(clear).toMatchObject({ verdict: 'pass', method: 'msprt-relative-proportions' });
    expect(clear.interval!.upper).toBeLessThan(10);
    const unsure = assess(tickets, input('support-ticket-rate', { treatment: rate(1, 5000), control: rate(1, 5000) }));
    expect(unsure.verdict).toBe('inconclusive');
    expect(unsure.summary).toMatch(/is not yet shown to meet < \+10%/);
    const bad = assess(tickets, input('support-ticket-rate', { treatment: rate(2, 50_000), control: rate(1, 50_000) }));
    expect(bad.verdict).toBe('fail');
  });

  it('error-rate difference uses the pooled proportion test, in percentage points', () => {
    const r = assess(errorDiff, input('error-rate', { treatment: rate(2, 20_000), control: rate(1, 20_000) }));
    expect(r).toMatchObject({ verdict: 'fail', method: 'msprt-proportions' });
    expect(r.estimate).toBeCloseTo(1, 9);
    expect(r.interval!.lower).toBeGreaterThan(0);
    const aa = assess(errorDiff, input('error-rate', { treatment: rate(1, 20_000), control: rate(1, 20_000) }));
    expect(aa.verdict).toBe('inconclusive');
  });

  it('without a variance or exceedance counts, comparative gates fall back to point estimates and say so', () => {
    const mean = assess(degradation, input('response-time-avg', { treatment: rate(300, 5000), control: rate(200, 5000) }));
    expect(mean).toMatchObject({ verdict: 'fail', method: 'point-estimate (no variance for a sequential test)' });
    const q = assess(p95, input('response-time-p95', { treatment: rate(1300, 5000), control: rate(800, 5000) }));
    expect(q.method).toBe('point-estimate (no exceedance counts for a sequential test)');
  });

  it('a quantile gate tests the share of treatment samples above the bound', () => {
    // Bound: 800 ms * 1.5 = 1200 ms. 9% of treatment requests above 1200 ms: its p95 is above the bound.
    const slow = assess(
      p95,
      input('response-time-p95', { treatment: { value: 1350, samples: 10_000, exceeding: [{ bound: 1000, count: 1500 }, { bound: 1200, count: 900 }] }, control: rate(800, 10_000) }),
    );
    expect(slow).toMatchObject({ verdict: 'fail', method: 'msprt-quantile-share' });
    expect(slow.estimate).toBeCloseTo(68.75, 6);
    expect(slow.tested).toMatch(/^share of treatment samples above 1200 \(gate bound 1200\): 9% vs the 5% a p95 at the bound allows/);
    // 2% above 1200 ms: the p95 is clearly below the bound.
    const fine = assess(
      p95,
      input('response-time-p95', { treatment: { value: 900, samples: 10_000, exceeding: [{ bound: 1200, count: 200 }] }, control: rate(800, 10_000) }),
    );
    expect(fine.verdict).toBe('pass');
  });

  it('splits alpha over the stage gates with a plan (Bonferroni)', () => {
    const planned = sequentialGateAssessor({ plan: S001 });
    const gate = S001.stages[1]!.gates!.find((g) => g.id === 'auto-degradation')!;
    const r = planned(gate, input('response-time-p95', { treatment: { value: 1350, samples: 10_000, exceeding: [{ bound: 1200, count: 900 }] }, control: rate(800, 10_000) }));
    expect(r.alpha).toBeCloseTo(0.025, 12);
    expect(r.interval === undefined && r.tested !== undefined).toBe(true);
  });

  it('property: never throws and never returns NaN for arbitrary aggregates', () => {
    const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, 1, 1e300, -1, Number.MAX_VALUE, Infinity, Number.NaN));
    const agg = fc.option(
      fc.record(
        { value: num, samples: num, variance: num, exceeding: fc.array(fc.record({ bound: num, count: num }), { maxLength: 3 }) },
        { requiredKeys: ['value', 'samples'] },
      ),
      { nil: undefined },
    );
    const gates = [degradation, tickets, errorDiff, p95, { ...degradation, condition: { type: 'difference', op: '<=', value: 5 } } as Gate];
    fc.assert(
      fc.property(fc.constantFrom(...gates), agg, agg, num, (gate, t, c, minSamples) => {
        const observation: MetricObservation = {};
        if (t) observation.treatment = t;
        if (c) observation.control = c;
        const r = sequentialGateAssessor()(gate, input(gate.metric, observation, minSamples));
        expect(['pass', 'fail', 'inconclusive', 'no_data']).toContain(r.verdict);
        for (const v of [r.estimate, r.pValue, r.interval?.lower, r.interval?.upper, r.alpha]) if (v !== undefined) expect(Number.isNaN(v)).toBe(false);
        expect(r.summary).not.toMatch(/NaN/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('decide with the sequential assessor', () => {
  const withMetric = (o: Observations, metric: string, observation: MetricObservation): Observations => ({ metrics: { ...o.metrics, [metric]: { ...o.metrics[metric], ...observation } } });

  it('rolls back (disables) on a degradation the sequential test confirms', () => {
    const started = T0;
    const now = started + 15 * DAY;
    const obs = withMetric(healthy(S002.stages[0]!, started, now), 'response-time-avg', { treatment: latency(190, 20_000), control: latency(150, 20_000) });
    const d = decide(S002, ready(S002, 0, started), obs, now, { assessGate: sequentialGateAssessor({ plan: S002 }) });
    expect(d).toMatchObject({ kind: 'disable', trigger: 'rollback-degradation' });
    expect(d.evidence.gates.find((g) => g.gateId === 'rollback-degradation')).toMatchObject({ method: 'msprt-relative-welch', verdict: 'fail' });
  });

  it('never advances on an inconclusive success criterion: it waits', () => {
    const started = T0;
    const now = started + 3 * DAY;
    const obs = withMetric(healthy(S003.stages[1]!, started, now), 'support-ticket-rate', { treatment: rate(1, 5000), control: rate(1, 5000) });
    const d = decide(S003, ready(S003, 1, started), obs, now, { assessGate: sequentialGateAssessor({ plan: S003 }) });
    expect(d.kind).toBe('none');
    expect(d.waitingFor).toContainEqual({ kind: 'criteria', gateIds: ['support-tickets'] });
    // With enough data the criterion is shown and the stage moves on (to its approvals or the next stage).
    const more = withMetric(healthy(S003.stages[1]!, started, now), 'support-ticket-rate', { treatment: rate(1, 500_000), control: rate(1, 500_000) });
    const next = decide(S003, ready(S003, 1, started), more, now, { assessGate: sequentialGateAssessor({ plan: S003 }) });
    expect(['advance', 'await_approval']).toContain(next.kind);
  });

  it('holds for the burn-in like any sample shortfall', () => {
    const started = T0;
    const now = started + 3 * DAY;
    const obs = withMetric(healthy(S003.stages[1]!, started, now), 'support-ticket-rate', { treatment: rate(1, 1200), control: rate(1, 1200) });
    const d = decide(S003, ready(S003, 1, started), obs, now, { assessGate: sequentialGateAssessor({ plan: S003, burnIn: 2000 }) });
    expect(d.kind).toBe('hold');
    expect(d.reason).toMatch(/support-ticket-rate has 1200 of 2000 treatment samples/);
  });
});
