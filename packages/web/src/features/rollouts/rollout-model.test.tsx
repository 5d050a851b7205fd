// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { SEED_001_STAGED_ROLLOUT, type Plan } from '@rollgate/core';
import type { MetricSeries, RolloutDecision } from '../../api/types.js';
import { MetricTile, verdictSentence } from './MetricTile.js';
import { actionConsequence, dailyMetrics, stageTimeline } from './rollout-model.js';

afterEach(cleanup);

const HOUR = 3_600_000;
const PLAN: Plan = {
  id: 'p',
  name: 'p',
  version: 1,
  stages: [
    { id: 'a', name: 'Internal', audience: { segments: ['internal-team'] }, minDuration: HOUR },
    { id: 'b', name: '10%', audience: { segments: ['internal-team'], percentage: 10 }, minDuration: 2 * HOUR },
    { id: 'c', name: 'Everyone', audience: { percentage: 100 }, minDuration: HOUR },
  ],
};

const decision = (seq: number, at: number, kind: string, fromStage: number | null, toStage: number | null): RolloutDecision => ({
  id: `d${seq}`,
  seq,
  at: new Date(at).toISOString(),
  kind,
  actor: { kind: 'system', id: 'controller' },
  reason: '',
  fromVersion: seq,
  fromStage,
  toStage,
  fromPercentage: null,
  toPercentage: null,
  decision: {},
});

describe('the stage timeline', () => {
  it('marks past, current and next stages with their audiences and actual durations', () => {
    const decisions = [decision(2, 3 * HOUR, 'advance', 0, 1), decision(1, 0, 'start', null, 0)];
    const stages = stageTimeline(PLAN, { status: 'running', stageIndex: 1, state: { stageStartedAt: 3 * HOUR, startedAt: 0 } }, decisions);
    expect(stages.map((s) => s.when)).toEqual(['past', 'current', 'next']);
    expect(stages[0]).toMatchObject({ audience: 'internal-team', enteredAt: 0, leftAt: 3 * HOUR, plannedMs: HOUR });
    expect(stages[1]).toMatchObject({ audience: 'internal-team + 10% of everyone else', enteredAt: 3 * HOUR });
    expect(stages[1]?.leftAt).toBeUndefined();
    expect(stages[2]?.enteredAt).toBeUndefined();
  });

  it('forgets the exits of an earlier run after a restart', () => {
    const decisions = [decision(3, 5 * HOUR, 'restart', null, 0), decision(2, 4 * HOUR, 'rollback', 0, null), decision(1, 0, 'start', null, 0)];
    const [first] = stageTimeline(PLAN, { status: 'running', stageIndex: 0, state: { stageStartedAt: 5 * HOUR } }, decisions);
    expect(first).toMatchObject({ when: 'current', enteredAt: 5 * HOUR });
    expect(first?.leftAt).toBeUndefined();
  });
});

describe('what an action does to whom', () => {
  const r = { flagKey: 'new-checkout', environmentKey: 'production', variation: 'on', stageIndex: 1, statusSummary: { environment: 'production' } as never };
  it('names the audience that loses the feature on a rollback', () => {
    expect(actionConsequence('rollback-zero', PLAN, r)).toMatch(/^internal-team \+ 10% of everyone else will stop seeing new-checkout \(on\) in production/);
    expect(actionConsequence('rollback-previous', PLAN, r)).toMatch(/shrink to internal-team/);
    expect(actionConsequence('disable', PLAN, r)).toMatch(/every user gets the off variation/);
    expect(actionConsequence('advance', PLAN, r)).toMatch(/100% of users will start seeing new-checkout/);
  });
  it('works on the seed templates', () => {
    expect(actionConsequence('restart', SEED_001_STAGED_ROLLOUT, { ...r, stageIndex: 0 })).toMatch(/Starts again at stage 1/);
  });
});

const DAY0 = Date.UTC(2026, 0, 1);
const series = (treatment: number[], control: number[], condition: { type: 'absolute' | 'difference' | 'relative'; op: '<' | '>'; value: number }, role: 'success' | 'rollback' = 'success'): MetricSeries => ({
  rolloutId: 'r',
  stageIndex: 0,
  stageName: 's',
  stageStartedAt: DAY0,
  now: DAY0 + 2 * 86_400_000,
  metrics: [
    {
      metric: 'error-rate',
      name: 'Error rate',
      unit: 'percent',
      treatment: { value: 1, samples: 2000 },
      control: { value: 0.5, samples: 2000 },
      gates: [
        {
          gateId: 'g',
          role,
          condition,
          verdict: 'fail',
          estimate: 0.9,
          interval: { lower: 0.4, upper: 1.4, level: 0.95 },
          summary: 'x',
          method: 'msprt',
          points: [{ t: DAY0 + HOUR, estimate: 0.9, lower: 0.4, upper: 1.4, verdict: 'fail' }],
        },
      ],
      matrices: [],
      raw: treatment.map((v, i) => ({ t: DAY0 + (i + 1) * 12 * HOUR, treatment: v, control: control[i] ?? null, treatmentSamples: 100, controlSamples: 100 })),
    },
  ],
});

describe('the daily metrics table', () => {
  it('gives target, the day’s actual and the status, grouped as seed 000 groups them', () => {
    const s = series([0.2, 0.4, 2, 2], [0.2, 0.2, 0.2, 0.2], { type: 'absolute', op: '<', value: 0.5 });
    const [day1] = dailyMetrics(s, '2026-01-01');
    expect(day1).toEqual({ group: 'System health', rows: [{ metric: 'error-rate', name: 'Error rate', target: '< 0.5%', actual: '0.3%', status: 'met' }] });
    expect(dailyMetrics(s, '2026-01-02')[0]?.rows[0]).toMatchObject({ actual: '2%', status: 'missed' });
    expect(dailyMetrics(s, '2026-01-05')[0]?.rows[0]).toMatchObject({ actual: 'no data', status: 'no data' });
  });
  it('compares against control for comparative gates; a rollback condition that holds is missed', () => {
    const s = series([1.5, 1.5], [0.5, 0.5], { type: 'difference', op: '>', value: 0.5 }, 'rollback');
    expect(dailyMetrics(s, '2026-01-01')[0]?.rows[0]).toMatchObject({ target: '> 0.5% vs control', status: 'missed' });
  });
});

describe('a metric tile', () => {
  it('says the verdict in a sentence with the estimate, interval and line', () => {
    const s = series([1], [0.5], { type: 'difference', op: '>', value: 0.5 }, 'rollback');
    const tile = s.metrics[0] as MetricSeries['metrics'][number];
    expect(verdictSentence(tile, tile.gates[0] as never)).toBe('Error rate +0.9 pp (95% CS +0.4 pp to +1.4 pp), rollback trigger > +0.5 pp vs control: breached.');
  });
  it('shows the sample sizes and switches to the raw view', () => {
    const s = series([1, 1.2], [0.5, 0.5], { type: 'difference', op: '>', value: 0.5 }, 'rollback');
    render(<MetricTile tile={s.metrics[0] as MetricSeries['metrics'][number]} />);
    expect(screen.getByRole('heading', { name: 'Error rate' })).toBeTruthy();
    expect(screen.getByText('Failing')).toBeTruthy();
    expect(screen.getByText(/treatment 2,000 · control 2,000/)).toBeTruthy();
    const raw = screen.getByRole('button', { name: 'Treatment and control' });
    fireEvent.click(raw);
    expect(raw.getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('img', { name: /treatment and control over time/ })).toBeTruthy();
  });
});
