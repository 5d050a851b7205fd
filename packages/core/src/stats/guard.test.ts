import { describe, expect, it } from 'vitest';
import { guardedDecide, expectedTreatmentShare, withoutStaleData } from './guard.js';
import { sequentialGateAssessor } from './gate-assessor.js';
import { decide } from '../rollouts/decide.js';
import { METRIC_CATALOG, metricDefinition } from '../rollouts/metrics-catalog.js';
import { SEED_001_STAGED_ROLLOUT as S001, SEED_003_GRADUAL_ROLLOUT as S003 } from '../rollouts/templates.js';
import type { Gate, GateInput, Observations } from '../rollouts/types.js';
import { DAY, T0, healthy, ready, withAggregate } from '../rollouts/rollouts.test-helpers.js';

// Seed 003's 10% stage: "Support tickets <+10% increase" is a comparative success criterion.
const STAGE = 1;
const stage = S003.stages[STAGE]!;
const now = T0 + 3 * DAY;
const state = ready(S003, STAGE, T0);
const tickets = (treatment: number, control: number, samples = 100_000): Observations => withAggregate(healthy(stage, T0, now), 'support-ticket-rate', treatment, control, samples);

describe('guardedDecide', () => {
  it('seed 003: a rare-event criterion equal in both cohorts cannot be shown inside +10% at this size, so "demonstrate" waits and "guardrail" advances', () => {
    const obs = tickets(1, 1);
    const demonstrate = guardedDecide(S003, state, obs, now, { sequential: { successCriteria: 'demonstrate' } });
    expect(demonstrate.kind).toBe('none');
    expect(demonstrate.reason).toMatch(/support-ticket-rate .* is not yet shown to meet < \+10%/);
    const guardrail = guardedDecide(S003, state, obs, now, { sequential: { successCriteria: 'guardrail' } });
    expect(guardrail.kind).toBe('advance');
    const gate = guardrail.evidence.gates.find((g) => g.gateId === 'support-tickets');
    expect(gate?.verdict).toBe('pass');
    expect(gate?.summary).toMatch(/meets < \+10% by its estimate, and the sequential test does not show it broken/);
  });

  it('guardrail still fails a criterion the test shows broken, and waits on one whose estimate misses it', () => {
    const broken = guardedDecide(S003, state, tickets(1.5, 1), now, { sequential: { successCriteria: 'guardrail' } });
    expect(broken).toMatchObject({ kind: 'hold', requiresPerson: false });
    expect(broken.reason).toMatch(/support-ticket-rate \+50% vs control .* does not meet < \+10%/);
    const missing = guardedDecide(S003, state, tickets(1.12, 1), now, { sequential: { successCriteria: 'guardrail' } });
    expect(missing.kind).toBe('none');
    expect(missing.evidence.gates.find((g) => g.gateId === 'support-tickets')?.verdict).toBe('inconclusive');
  });

  it('holds for a person with "assignment problem" when the cohort sizes do not match the split', () => {
    const obs = { ...tickets(1, 1), assignments: { treatment: 12_000, control: 88_000 } };
    const d = guardedDecide(S003, state, obs, now, { sequential: { successCriteria: 'guardrail' } });
    expect(d).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'srm', health: 'yellow' });
    expect(d.reason).toMatch(/^Holding: assignment problem: the treatment cohort has 12% of 100000 assigned contexts where the split expects 10%/);
    // The gates' evidence is kept, so the dashboard still shows the numbers.
    expect(d.evidence.gates.length).toBeGreaterThan(0);
    // A correct split does not get in the way.
    const fine = guardedDecide(S003, state, { ...tickets(1, 1), assignments: { treatment: 10_020, control: 89_980 } }, now, { sequential: { successCriteria: 'guardrail' } });
    expect(fine.kind).toBe('advance');
  });

  it('a rollback from the gates wins over the SRM hold; a resume in the stage acknowledges the SRM; srm: false turns it off', () => {
    const bad = { ...withAggregate(tickets(1, 1), 'error-rate', 0.7, 0.05), assignments: { treatment: 12_000, control: 88_000 } };
    expect(guardedDecide(S003, state, bad, now).kind).toBe('rollback');
    const mismatch = { ...tickets(1, 1), assignments: { treatment: 12_000, control: 88_000 } };
    const resumed = { ...state, resumedAt: T0 + DAY };
    expect(guardedDecide(S003, resumed, mismatch, now, { sequential: { successCriteria: 'guardrail' } }).kind).toBe('advance');
    expect(guardedDecide(S003, state, mismatch, now, { srm: false, sequential: { successCriteria: 'guardrail' } }).kind).toBe('advance');
  });

  it('holds for a person on a cohort with reported drops, names them in the reason and the evidence, and a resume acknowledges the drops until then', () => {
    const options = { sequential: { successCriteria: 'guardrail' as const } };
    const lastAt = T0 + 2 * DAY;
    const obs: Observations = { ...tickets(1, 1), dropped: { control: { exposures: 12, metrics: 0, lastAt } } };
    expect(guardedDecide(S003, state, tickets(1, 1), now, options).kind).toBe('advance');
    const d = guardedDecide(S003, state, obs, now, options);
    expect(d).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'dropped', health: 'yellow', waitingFor: [{ kind: 'resume' }] });
    expect(d.reason).toBe(
      'Holding: incomplete data: SDKs reported dropping data of the control cohort (12 exposures) in this stage, so its counts are short and cannot be decided on; give the SDKs more room (metrics.maxQueue) and resume.',
    );
    expect(d.evidence.data?.dropped).toEqual({ control: { exposures: 12, metrics: 0, lastAt } });
    expect(d.evidence.gates.length).toBeGreaterThan(0);
    // While awaiting approval too: an approval does not move a stage with incomplete data.
    expect(guardedDecide(S003, { ...state, status: 'awaiting_approval' }, obs, now, options).kind).toBe('hold');
    // A resume after the drops acknowledges them; drops reported after it hold again.
    expect(guardedDecide(S003, { ...state, resumedAt: lastAt + 1 }, obs, now, options).kind).toBe('advance');
    expect(guardedDecide(S003, { ...state, resumedAt: lastAt - 1 }, obs, now, options).kind).toBe('hold');
    // A rollback on the numbers that did arrive stands.
    const bad = { ...withAggregate(tickets(1, 1), 'error-rate', 0.7, 0.05), dropped: obs.dropped };
    expect(guardedDecide(S003, state, bad, now).kind).toBe('rollback');
  });

  it('states the data window and count metrics observed at zero in the evidence', () => {
    const window = { from: T0 - 30_000, overlapMs: 30_000 };
    const obs = withAggregate(tickets(1, 1), 'data-loss-events', 0, 0, 4_000);
    const zero = { ...obs, window, metrics: { ...obs.metrics, 'data-loss-events': { treatment: { value: 0, samples: 4_000, observedZero: true } } } };
    const d = guardedDecide(S003, state, zero, now, { sequential: { successCriteria: 'guardrail' } });
    expect(d.evidence.data).toEqual({ window, observedZero: [{ metric: 'data-loss-events', cohort: 'treatment', exposures: 4_000 }] });
  });

  it('has no split to check on segment stages and at 100%', () => {
    expect(expectedTreatmentShare(S001, { ...state, stageIndex: 0 })).toBeUndefined(); // internal team segment
    expect(expectedTreatmentShare(S003, { ...state, stageIndex: 4 })).toBeUndefined(); // 100%
    expect(expectedTreatmentShare(S003, state)).toBe(0.1);
  });

  it('decides as decide does with the sequential assessor when nothing else applies', () => {
    const obs = tickets(1, 1);
    const expected = decide(S003, state, obs, now, { assessGate: sequentialGateAssessor({ plan: S003 }) });
    expect(guardedDecide(S003, state, obs, now)).toEqual(expected);
  });
});

describe('guardedDecide: data that stopped arriving', () => {
  const MIN = 60_000;
  // Seed 003's 10% stage, healthy and past its minimum duration, but the series of every metric ended `silentFor` ago.
  const silentObservations = (silentFor: number): Observations => {
    const obs = tickets(1, 1);
    const metrics = Object.fromEntries(
      Object.entries(obs.metrics).map(([k, o]) => [k, { ...o!, series: (o!.series ?? []).filter((i) => i.end <= now - silentFor) }]),
    );
    return { metrics };
  };
  it('holds with "no data" when every source went quiet 11 minutes ago, instead of advancing on the stale stage totals', () => {
    const obs = silentObservations(11 * MIN);
    expect(guardedDecide(S003, state, obs, now, { sequential: { successCriteria: 'guardrail' } }).kind).toBe('advance');
    const d = guardedDecide(S003, state, obs, now, { sequential: { successCriteria: 'guardrail' }, staleAfterMs: 10 * MIN });
    expect(d).toMatchObject({ kind: 'hold', requiresPerson: false });
    expect(d.reason).toMatch(/^Holding: no data for .*error-rate.* in the treatment cohort/);
  });
  it('keeps data that is fresh, and metrics that have no series to judge by', () => {
    const fresh = tickets(1, 1);
    expect(withoutStaleData(fresh, now, 10 * 60_000)).toBe(fresh);
    const noSeries: Observations = { metrics: { 'error-rate': { treatment: { value: 1, samples: 10 } } } };
    expect(withoutStaleData(noSeries, now, 1)).toBe(noSeries);
    // One cohort quiet, the other not: only the quiet one goes.
    const half: Observations = {
      metrics: {
        'error-rate': {
          treatment: { value: 1, samples: 10 },
          control: { value: 1, samples: 10 },
          series: [
            { start: now - 30 * MIN, end: now - 29 * MIN, treatment: { value: 1, samples: 5 } },
            { start: now - MIN, end: now, control: { value: 1, samples: 5 } },
          ],
        },
      },
    };
    const r = withoutStaleData(half, now, 10 * MIN).metrics['error-rate']!;
    expect(r.treatment).toBeUndefined();
    expect(r.control).toEqual({ value: 1, samples: 10 });
  });
});

describe('guardedDecide with a project catalog', () => {
  it("judges a project's own metric by its definition: a ratio gets the proportions test and its unit", () => {
    const plan = {
      ...S003,
      stages: S003.stages.map((st, i) =>
        i !== STAGE ? st : { ...st, gates: [...(st.gates ?? []), { id: 'checkout', metric: 'checkout-failures', role: 'rollback' as const, condition: { type: 'difference' as const, op: '>' as const, value: 0 } }] },
      ),
    };
    const catalog = [...METRIC_CATALOG, { key: 'checkout-failures', name: 'Checkout failures', unit: 'percent' as const, kind: 'ratio' as const, direction: 'lower' as const }];
    const obs = withAggregate(tickets(1, 1), 'checkout-failures', 3, 1, 20_000);
    const withCatalog = guardedDecide(plan, state, obs, now, { catalog, sequential: { successCriteria: 'guardrail' } });
    expect(withCatalog.kind).toBe('rollback');
    const gate = withCatalog.evidence.gates.find((g) => g.gateId === 'checkout');
    expect(gate).toMatchObject({ verdict: 'fail', method: 'msprt-proportions' });
    expect(gate?.summary).toMatch(/checkout-failures \+2% vs control \(3% vs 1%\)/);
    // Without the definition the metric has no kind: point estimates, no unit.
    const without = guardedDecide(plan, state, obs, now, { sequential: { successCriteria: 'guardrail' } });
    expect(without.evidence.gates.find((g) => g.gateId === 'checkout')?.method).not.toBe('msprt-proportions');
  });
});

describe('sequentialGateAssessor: guardrail success criteria', () => {
  const gate: Gate = { id: 'tickets', metric: 'support-ticket-rate', role: 'success', condition: { type: 'relative', op: '<', value: 10 } };
  const input = (t: number, c: number, n: number): GateInput => ({
    observation: { treatment: { value: t, samples: n }, control: { value: c, samples: n } },
    minSamples: 1000,
    stageStartedAt: T0,
    now,
    definition: metricDefinition('support-ticket-rate')!,
  });
  it('a criterion the confidence sequence shows met passes in both modes', () => {
    for (const mode of ['demonstrate', 'guardrail'] as const) {
      const r = sequentialGateAssessor({ successCriteria: mode })(gate, input(20, 30, 200_000));
      expect(r.verdict).toBe('pass');
      expect(r.summary).not.toMatch(/by its estimate/);
    }
  });
});
