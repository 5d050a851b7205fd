import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, rolloutStatus } from './decide.js';
import {
  PLAN_TEMPLATES,
  SEED_000_GRADUAL_PRODUCTION_ROLLOUT as S000,
  SEED_001_STAGED_ROLLOUT as S001,
  SEED_002_PHASED_ROLLOUT as S002,
  SEED_003_GRADUAL_ROLLOUT as S003,
} from './templates.js';
import type { DecisionKind, Gate, GateAssessor, Health, MetricObservation, Observations, Plan, RolloutState } from './types.js';
import { metricsReadBy } from './validate-plan.js';
import { DAY, HOUR, MINUTE, SAMPLES, T0, healthy, ready, running, series, withAggregate, withSeries } from './rollouts.test-helpers.js';

interface Row {
  rule: string;
  plan: Plan;
  stage: number;
  elapsed: number;
  change?: (o: Observations, started: number, now: number) => Observations;
  state?: (started: number) => RolloutState;
  expect: {
    kind: DecisionKind;
    to?: 'previous' | 'zero';
    toStage?: number | null;
    gateIds?: string[];
    requiresPerson?: boolean;
    health?: Health;
    reason?: RegExp;
  };
}

function run(row: Pick<Row, 'plan' | 'stage' | 'elapsed' | 'change' | 'state'>) {
  const started = T0 + 10 * DAY;
  const now = started + row.elapsed;
  const stage = row.plan.stages[row.stage];
  if (!stage) throw new Error('no such stage');
  let observations = healthy(stage, started, now);
  if (row.change) observations = row.change(observations, started, now);
  const state = row.state ? row.state(started) : ready(row.plan, row.stage, started);
  return decide(row.plan, state, observations, now);
}

/** Both cohorts at the same value, so comparative gates see no difference. */
const both = (metric: string, value: number) => (o: Observations) => withAggregate(o, metric, value, value);
/** The treatment at `t` against a control at `c`. */
const versus = (metric: string, t: number, c: number) => (o: Observations) => withAggregate(o, metric, t, c);
/** The newest `minutes` minutes of error-rate at `value`, healthy before, in one-minute intervals. */
const errorRateFor = (minutes: number, value: number) => (o: Observations, started: number, now: number) =>
  withSeries(o, 'error-rate', [...series(started, now - minutes * MINUTE, MINUTE, 0.05), ...series(now - minutes * MINUTE, now, MINUTE, value)]);

const ROWS: Row[] = [
  // ---- seed 001, Internal (team segment, 1-2 days)
  { rule: '001 internal: healthy after 1 day -> advance', plan: S001, stage: 0, elapsed: 1.5 * DAY, expect: { kind: 'advance', toStage: 1, health: 'green' } },
  { rule: '001 internal: before 1 day -> none, waiting', plan: S001, stage: 0, elapsed: 20 * HOUR, expect: { kind: 'none', reason: /20 h of its minimum 1 d; 4 h to go/ } },
  {
    rule: '001 internal: too few samples (50 of 100) -> hold',
    plan: S001,
    stage: 0,
    elapsed: 1.5 * DAY,
    change: (o) => withAggregate(o, 'error-rate', 0.05, 0.05, 50),
    expect: { kind: 'hold', requiresPerson: false, reason: /error-rate has 50 of 100 treatment samples/ },
  },
  {
    rule: '001 internal: past 2 days without advancing -> hold for a person',
    plan: S001,
    stage: 0,
    elapsed: 2 * DAY + HOUR,
    state: (s) => running(0, s),
    expect: { kind: 'hold', requiresPerson: true, health: 'yellow', reason: /past its maximum of 2 d/ },
  },
  // ---- seed 001, Pilot 5-10% (1-2 weeks)
  { rule: '001 pilot: healthy after 1 week -> advance to 25%', plan: S001, stage: 1, elapsed: 8 * DAY, expect: { kind: 'advance', toStage: 2 } },
  {
    rule: '001 pilot: error rate < 1% not met in the latest interval -> hold',
    plan: S001,
    stage: 1,
    elapsed: 8 * DAY,
    change: (o, s, n) => withSeries(o, 'error-rate', [...series(s, n - HOUR, HOUR, 0.05), ...series(n - HOUR, n, HOUR, 1.5)]),
    expect: { kind: 'hold', requiresPerson: false, health: 'yellow', reason: /does not meet < 1%/ },
  },
  {
    rule: '001 pilot: error rate < 1% sustained for only 2 of 3 days -> none, waiting',
    plan: S001,
    stage: 1,
    elapsed: 8 * DAY,
    change: (o, s, n) => withSeries(o, 'error-rate', [...series(s, n - 2 * DAY, HOUR, 1.2), ...series(n - 2 * DAY, n, HOUR, 0.05)]),
    expect: { kind: 'none', reason: /held for 2 d of the 3 d required/ },
  },
  { rule: '001 pilot: error rate > 2% -> escalate', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('error-rate', 2.5), expect: { kind: 'escalate', gateIds: ['error-rate-alert'] } },
  { rule: '001 pilot: p95 < 2 s not met -> hold', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('response-time-p95', 2200), expect: { kind: 'hold', reason: /response-time-p95 2200 ms does not meet < 2000 ms/ } },
  { rule: '001 pilot: p95 > 3 s -> escalate', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('response-time-p95', 3200), expect: { kind: 'escalate', gateIds: ['p95-alert'] } },
  { rule: '001 pilot: user complaints < 2 not met -> hold', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('user-complaints', 3), expect: { kind: 'hold' } },
  { rule: '001 pilot: user complaints > 5 -> escalate', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('user-complaints', 6), expect: { kind: 'escalate', gateIds: ['complaints-alert'] } },
  { rule: '001 pilot: support tickets < 5 not met -> hold', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('support-tickets', 6), expect: { kind: 'hold' } },
  { rule: '001 pilot: support tickets > 10 -> escalate', plan: S001, stage: 1, elapsed: 8 * DAY, change: both('support-tickets', 11), expect: { kind: 'escalate', gateIds: ['tickets-alert'] } },
  {
    rule: '001 automatic rollback: error rate 6% -> rollback to 0% at once',
    plan: S001,
    stage: 1,
    elapsed: HOUR,
    change: both('error-rate', 6),
    expect: { kind: 'rollback', to: 'zero', toStage: null, health: 'red', reason: /^Rolling back to 0%: error-rate 6% breaches > 5%/ },
  },
  {
    rule: '001 automatic rollback: data integrity issue -> rollback to 0%',
    plan: S001,
    stage: 2,
    elapsed: 8 * DAY,
    change: both('data-loss-events', 1),
    expect: { kind: 'rollback', to: 'zero' },
  },
  {
    rule: '001 automatic rollback: degradation 55% vs control -> rollback to 0%',
    plan: S001,
    stage: 1,
    elapsed: 8 * DAY,
    change: versus('response-time-p95', 1240, 800),
    expect: { kind: 'rollback', to: 'zero', reason: /response-time-p95 \+55% vs control \(1240 ms vs 800 ms\) breaches vs control > \+50%/ },
  },
  { rule: '001 manual decision: degradation 25% -> escalate', plan: S001, stage: 1, elapsed: 8 * DAY, change: versus('response-time-p95', 1000, 800), expect: { kind: 'escalate', gateIds: ['manual-degradation'] } },
  { rule: '001 manual decision: degradation 15% -> advance', plan: S001, stage: 1, elapsed: 8 * DAY, change: versus('response-time-p95', 920, 800), expect: { kind: 'advance' } },
  // ---- seed 001, Expanded 25%
  { rule: '001 expanded: error < 1% not met -> hold', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('error-rate', 1.2), expect: { kind: 'hold' } },
  { rule: '001 expanded: error > 1.5% -> escalate', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('error-rate', 1.6), expect: { kind: 'escalate', gateIds: ['error-rate-alert'] } },
  { rule: '001 expanded: p95 < 2 s not met -> hold', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('response-time-p95', 2200), expect: { kind: 'hold' } },
  { rule: '001 expanded: p95 > 2.5 s -> escalate', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('response-time-p95', 2600), expect: { kind: 'escalate', gateIds: ['p95-alert'] } },
  { rule: '001 expanded: CPU < 60% not met -> hold', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('cpu-usage', 65), expect: { kind: 'hold' } },
  { rule: '001 expanded: CPU > 80% -> escalate', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('cpu-usage', 85), expect: { kind: 'escalate', gateIds: ['cpu-alert'] } },
  { rule: '001 expanded: memory < 70% not met -> hold', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('memory-usage', 75), expect: { kind: 'hold' } },
  { rule: '001 expanded: memory > 85% -> escalate', plan: S001, stage: 2, elapsed: 8 * DAY, change: both('memory-usage', 90), expect: { kind: 'escalate', gateIds: ['memory-alert'] } },
  { rule: '001 expanded: healthy after 1 week -> advance to GA', plan: S001, stage: 2, elapsed: 8 * DAY, expect: { kind: 'advance', toStage: 3 } },
  // ---- seed 001, GA (48 h intensive monitoring)
  { rule: '001 GA: healthy after 48 h -> complete', plan: S001, stage: 3, elapsed: 49 * HOUR, expect: { kind: 'complete', health: 'green' } },
  { rule: '001 GA: 47 h -> none, 1 h to go', plan: S001, stage: 3, elapsed: 47 * HOUR, expect: { kind: 'none', reason: /1 h to go/ } },
  {
    rule: '001 manual decision: error 2.5% for 61 minutes -> escalate',
    plan: S001,
    stage: 3,
    elapsed: 49 * HOUR,
    change: errorRateFor(61, 2.5),
    expect: { kind: 'escalate', gateIds: ['manual-error-rate'], health: 'yellow', reason: /error-rate 2\.5% breaches > 2% and has for 1 h 1 min/ },
  },
  { rule: '001 manual decision: error 2.5% for 59 minutes -> not yet', plan: S001, stage: 3, elapsed: 49 * HOUR, change: errorRateFor(59, 2.5), expect: { kind: 'complete', health: 'green' } },
  { rule: '001 GA: error rate 6% -> rollback to 0%', plan: S001, stage: 3, elapsed: 49 * HOUR, change: both('error-rate', 6), expect: { kind: 'rollback', to: 'zero' } },
  // ---- seed 003 (10% -> 25% -> 50% -> 100%, 48 h each), rollback matrix on error rate
  { rule: '003 stage 0 (staging, no gates): ready after 1 day -> advance to 10%', plan: S003, stage: 0, elapsed: 25 * HOUR, change: () => ({ metrics: {} }), expect: { kind: 'advance', toStage: 1 } },
  { rule: '003 stage 1: healthy after 48 h -> advance', plan: S003, stage: 1, elapsed: 49 * HOUR, expect: { kind: 'advance', toStage: 2 } },
  { rule: '003 stage 1: 47 h -> none', plan: S003, stage: 1, elapsed: 47 * HOUR, expect: { kind: 'none' } },
  { rule: '003 stage 1: error < 0.1% not met (0.2%, matrix monitor) -> hold, yellow', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('error-rate', 0.2), expect: { kind: 'hold', health: 'yellow' } },
  { rule: '003 matrix: 0.09% continue -> advance, green', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.09), expect: { kind: 'advance', health: 'green' } },
  { rule: '003 matrix: exactly 0.1% monitor -> advance, yellow', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.1), expect: { kind: 'advance', health: 'yellow' } },
  { rule: '003 matrix: 0.49% monitor -> advance, yellow', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.49), expect: { kind: 'advance', health: 'yellow' } },
  { rule: '003 matrix: exactly 0.5% -> rollback to 0%', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.5), expect: { kind: 'rollback', to: 'zero', reason: /Major/ } },
  { rule: '003 matrix: 0.99% -> rollback to 0%', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.99), expect: { kind: 'rollback', to: 'zero' } },
  { rule: '003 matrix: exactly 1% -> full disable', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 1), expect: { kind: 'disable', health: 'red', reason: /Critical/ } },
  { rule: '003 matrix: 1.5% -> full disable, even while held', plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 1.5), state: (s) => running(2, s, { status: 'held' }), expect: { kind: 'disable' } },
  { rule: '003 matrix: any data loss -> immediate rollback', plan: S003, stage: 3, elapsed: HOUR, change: both('data-loss-events', 1), expect: { kind: 'rollback', to: 'zero', reason: /Data Loss/ } },
  { rule: '003 alert > 0.5%: the matrix rolls back first', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('error-rate', 0.6), expect: { kind: 'rollback' } },
  { rule: '003 unhandled exceptions target 0 not met -> hold', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('unhandled-exceptions', 1), expect: { kind: 'hold' } },
  { rule: '003 unhandled exceptions > 5 -> escalate', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('unhandled-exceptions', 6), expect: { kind: 'escalate', gateIds: ['exceptions-alert'] } },
  { rule: '003 API < 500 ms not met -> hold', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('response-time-avg', 600), expect: { kind: 'hold' } },
  { rule: '003 API > 1000 ms -> escalate', plan: S003, stage: 1, elapsed: 49 * HOUR, change: both('response-time-avg', 1100), expect: { kind: 'escalate', gateIds: ['api-alert'] } },
  { rule: '003 LCP < 2.5 s not met -> hold', plan: S003, stage: 3, elapsed: 49 * HOUR, change: both('page-load-lcp', 3000), expect: { kind: 'hold' } },
  { rule: '003 LCP > 4 s -> escalate', plan: S003, stage: 3, elapsed: 49 * HOUR, change: both('page-load-lcp', 4500), expect: { kind: 'escalate', gateIds: ['lcp-alert'] } },
  { rule: '003 support tickets +20% vs control (target <+10%) -> hold', plan: S003, stage: 1, elapsed: 49 * HOUR, change: versus('support-ticket-rate', 1.2, 1), expect: { kind: 'hold', reason: /\+20% vs control/ } },
  { rule: '003 stage 4 (100%): healthy after 48 h -> complete', plan: S003, stage: 4, elapsed: 49 * HOUR, expect: { kind: 'complete' } },
  // ---- seed 002 (Beta 5% -> Controlled 25% -> GA, 2 weeks each)
  { rule: '002 beta: healthy after 2 weeks -> advance', plan: S002, stage: 0, elapsed: 15 * DAY, expect: { kind: 'advance', toStage: 1 } },
  { rule: '002 beta: 13 days -> none', plan: S002, stage: 0, elapsed: 13 * DAY, expect: { kind: 'none' } },
  { rule: '002 rollback: error rate exceeds 2% -> disable', plan: S002, stage: 0, elapsed: DAY, change: both('error-rate', 2.5), expect: { kind: 'disable' } },
  { rule: '002 rollback: degradation > 20% -> disable', plan: S002, stage: 1, elapsed: DAY, change: versus('response-time-avg', 190, 150), expect: { kind: 'disable', reason: /\+26\.667% vs control/ } },
  { rule: '002 degradation 10% -> advance', plan: S002, stage: 1, elapsed: 15 * DAY, change: versus('response-time-avg', 165, 150), expect: { kind: 'advance' } },
  { rule: '002 success: 99.9% uptime not met -> hold', plan: S002, stage: 0, elapsed: 15 * DAY, change: both('uptime', 99.8), expect: { kind: 'hold' } },
  { rule: '002 success: < 1% error rate not met -> hold', plan: S002, stage: 0, elapsed: 15 * DAY, change: both('error-rate', 1.5), expect: { kind: 'hold' } },
  { rule: '002 success: < 200 ms average response not met -> hold', plan: S002, stage: 0, elapsed: 15 * DAY, change: both('response-time-avg', 250), expect: { kind: 'hold' } },
  { rule: '002 success: 95% cache hit rate not met -> hold', plan: S002, stage: 0, elapsed: 15 * DAY, change: both('cache-hit-rate', 90), expect: { kind: 'hold' } },
  { rule: '002 GA: 80% adoption not met -> hold', plan: S002, stage: 2, elapsed: 15 * DAY, change: both('adoption', 70), expect: { kind: 'hold' } },
  { rule: '002 GA: < 5% support ticket rate not met -> hold', plan: S002, stage: 2, elapsed: 15 * DAY, change: both('support-ticket-rate', 6), expect: { kind: 'hold' } },
  { rule: '002 GA: healthy after 2 weeks -> complete', plan: S002, stage: 2, elapsed: 15 * DAY, expect: { kind: 'complete' } },
  // ---- seed 000 (10 -> 25 -> 50 -> 75 -> 100, dashboard targets)
  { rule: '000 10%: healthy after a week -> advance', plan: S000, stage: 0, elapsed: 8 * DAY, expect: { kind: 'advance', toStage: 1 } },
  { rule: '000 error rate < 0.5% not met -> hold', plan: S000, stage: 1, elapsed: 8 * DAY, change: both('error-rate', 0.6), expect: { kind: 'hold' } },
  { rule: '000 avg response < 2 s not met -> hold', plan: S000, stage: 1, elapsed: 8 * DAY, change: both('response-time-avg', 2100), expect: { kind: 'hold' } },
  { rule: '000 cache hit > 80% not met at exactly 80% -> hold', plan: S000, stage: 2, elapsed: 8 * DAY, change: both('cache-hit-rate', 80), expect: { kind: 'hold' } },
  { rule: '000 DB query < 500 ms not met -> hold', plan: S000, stage: 2, elapsed: 8 * DAY, change: both('db-query-time', 600), expect: { kind: 'hold' } },
  { rule: '000 uptime 99.9% not met -> hold', plan: S000, stage: 3, elapsed: 8 * DAY, change: both('uptime', 99.8), expect: { kind: 'hold' } },
  { rule: '000 100%: healthy after a week -> complete', plan: S000, stage: 4, elapsed: 8 * DAY, expect: { kind: 'complete' } },
];

describe('decide: one row per seed rule', () => {
  it.each(ROWS.map((r) => [r.rule, r] as const))('%s', (_name, row) => {
    const d = run(row);
    expect(d.kind, d.reason).toBe(row.expect.kind);
    if (row.expect.to !== undefined && d.kind === 'rollback') expect(d.to).toBe(row.expect.to);
    if (row.expect.toStage !== undefined) expect('toStage' in d ? d.toStage : undefined).toBe(row.expect.toStage);
    if (row.expect.gateIds !== undefined && d.kind === 'escalate') expect(d.gateIds).toEqual(row.expect.gateIds);
    if (row.expect.requiresPerson !== undefined && d.kind === 'hold') expect(d.requiresPerson).toBe(row.expect.requiresPerson);
    if (row.expect.health !== undefined) expect(d.health).toBe(row.expect.health);
    if (row.expect.reason !== undefined) expect(d.reason).toMatch(row.expect.reason);
    expect(d.reason.length).toBeGreaterThan(10);
  });
});

describe('decide: evidence', () => {
  it('gives the sustained window, how long it held and the samples of each cohort', () => {
    const d = run({ plan: S001, stage: 3, elapsed: 49 * HOUR, change: errorRateFor(59, 2.5) });
    const gate = d.evidence.gates.find((g) => g.gateId === 'manual-error-rate');
    expect(gate).toMatchObject({ verdict: 'pass', sustainedFor: HOUR, heldFor: 59 * MINUTE, estimate: 2.5, treatment: { value: 2.5, samples: 1000 } });
    const auto = d.evidence.gates.find((g) => g.gateId === 'auto-error-rate');
    expect(auto).toMatchObject({ verdict: 'pass', role: 'rollback', condition: { type: 'absolute', op: '>', value: 5 }, treatment: { samples: SAMPLES } });
    expect(d.evidence.stage).toMatchObject({ index: 3, id: 'ga', elapsedMs: 49 * HOUR, minDuration: 48 * HOUR });
  });

  it('gives the matrix band with its label', () => {
    const d = run({ plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.3) });
    expect(d.evidence.matrices[0]).toMatchObject({ verdict: 'band', action: 'monitor', band: { label: 'Minor' }, range: { from: 0.1, below: 0.5 }, treatment: { value: 0.3 } });
  });

  it('a band in "monitor" names the band, the value and the thresholds in the reason, whatever the decision', () => {
    const monitor = /Monitoring: error-rate 0\.3% is at or above 0\.1% and under 0\.5% \(band "Minor"\): monitor \(matrix [\w-]+; samples: treatment 100000\)\.$/;
    const advancing = run({ plan: S003, stage: 2, elapsed: 49 * HOUR, change: both('error-rate', 0.3) });
    expect(advancing).toMatchObject({ kind: 'advance', health: 'yellow' });
    expect(advancing.reason).toMatch(monitor);
    const waiting = run({ plan: S003, stage: 2, elapsed: HOUR, change: both('error-rate', 0.3) });
    expect(waiting).toMatchObject({ kind: 'none', health: 'yellow' });
    expect(waiting.reason).toMatch(monitor);
    // Matrices are not counted as gates.
    expect(waiting.reason).toMatch(/\d+ of \d+ gates pass; 0 of 1 rollback matrix says continue\./);
    const calm = run({ plan: S003, stage: 2, elapsed: HOUR, change: both('error-rate', 0.05) });
    expect(calm.reason).not.toContain('Monitoring');
    expect(calm.reason).toMatch(/1 of 1 rollback matrix says continue\./);
    // A rollback band says it all already.
    const major = run({ plan: S003, stage: 2, elapsed: HOUR, change: both('error-rate', 0.7) });
    expect(major.reason).toMatch(/error-rate 0\.7% is at or above 0\.5% and under 1% \(band "Major"\): rollback/);
    expect(major.reason).not.toContain('Monitoring');
  });

  it('says a plan whose last stage is below 100% completes there', () => {
    const canary: Plan = { ...S003, stages: S003.stages.slice(0, 2) };
    const d = run({ plan: canary, stage: 1, elapsed: 49 * HOUR, state: (s) => ready(canary, 1, s) });
    expect(d.kind).toBe('complete');
    expect(d.reason).toMatch(/^Completing the rollout at 10% \(the plan's last stage serves less than everyone, and the flag stays so\)/);
  });
});

describe('decide: silence and samples', () => {
  it('holds on no data at all, and says which metric and cohort', () => {
    const started = T0;
    const d = decide(S001, ready(S001, 1, started), { metrics: {} }, started + 8 * DAY);
    expect(d.kind).toBe('hold');
    expect(d.reason).toBe(
      'Holding: no data for error-rate, response-time-p95, user-complaints, support-tickets and data-loss-events in the treatment cohort; no data is not healthy.',
    );
    expect(d.waitingFor).toContainEqual({ kind: 'data', metric: 'error-rate', cohort: 'treatment' });
    expect(d.health).toBe('yellow');
  });

  it('holds when only the control cohort of a comparative gate is missing', () => {
    const d = run({
      plan: S001,
      stage: 1,
      elapsed: 8 * DAY,
      change: (o) => ({ metrics: { ...o.metrics, 'response-time-p95': { treatment: { value: 800, samples: SAMPLES } } } }),
    });
    expect(d.kind).toBe('hold');
    expect(d.reason).toContain('no data for response-time-p95 in the control cohort');
  });

  it('holds when a series has no interval in the current stage', () => {
    const d = run({ plan: S001, stage: 3, elapsed: 49 * HOUR, change: (o, s) => withSeries(o, 'error-rate', series(s - 3 * HOUR, s, HOUR, 0.05)) });
    expect(d.kind).toBe('hold');
    expect(d.reason).toContain('no data for error-rate in the treatment cohort');
  });

  it('holds on a missing data-loss count even when the error rate is fine (silence is not "no data loss")', () => {
    const d = run({
      plan: S003,
      stage: 1,
      elapsed: 49 * HOUR,
      change: (o) => {
        const { ['data-loss-events']: _gone, ...rest } = o.metrics;
        return { metrics: rest };
      },
    });
    expect(d.kind).toBe('hold');
    expect(d.reason).toContain('no data for data-loss-events');
  });

  it('holds with the counts of both cohorts when the control is short', () => {
    const d = run({ plan: S001, stage: 1, elapsed: 8 * DAY, change: (o) => withAggregate(o, 'response-time-p95', 800, undefined, SAMPLES) });
    expect(d.kind).toBe('advance');
    const short = run({
      plan: S001,
      stage: 1,
      elapsed: 8 * DAY,
      change: (o) => ({ metrics: { ...o.metrics, 'response-time-p95': { treatment: { value: 800, samples: SAMPLES }, control: { value: 800, samples: 10 } } } }),
    });
    expect(short.kind).toBe('hold');
    expect(short.waitingFor).toContainEqual({ kind: 'samples', metric: 'response-time-p95', cohort: 'control', samples: 10, required: 1000 });
  });

  it('lets any-occurrence rules act without minimum samples', () => {
    const d = run({ plan: S003, stage: 1, elapsed: HOUR, change: (o) => withAggregate(o, 'data-loss-events', 1, 0, 1) });
    expect(d.kind).toBe('rollback');
  });

  it('does not roll back on a rollback trigger below the minimum samples', () => {
    const d = run({ plan: S001, stage: 1, elapsed: HOUR, change: (o) => withAggregate(o, 'error-rate', 50, 0.05, 4) });
    expect(d.kind).toBe('hold');
    expect(d.reason).toContain('error-rate has 4 of 1000 treatment samples');
  });
});

describe('decide: checklists and approvals', () => {
  const started = T0;
  const now = started + 8 * DAY;
  const obs = healthy(S001.stages[1] as NonNullable<(typeof S001.stages)[1]>, started, now);
  const base = ready(S001, 1, started);

  it('awaits the checklist, naming the open items', () => {
    const d = decide(S001, { ...base, checklist: (base.checklist ?? []).slice(1) }, obs, now);
    expect(d.kind).toBe('await_approval');
    expect(d.reason).toContain('"No critical bugs reported"');
    expect(d.waitingFor).toEqual([{ kind: 'checklist', itemIds: ['pilot.success.1'] }]);
  });

  it('ignores ticks from before the stage started and optional items', () => {
    const stale = decide(S001, { ...base, checklist: (base.checklist ?? []).map((t) => ({ ...t, at: started - 1 })) }, obs, now);
    expect(stale.kind).toBe('await_approval');
    const internal = ready(S001, 0, started);
    const withoutOptional = (internal.checklist ?? []).filter((t) => t.itemId !== 'internal.go.5');
    const d = decide(S001, { ...internal, checklist: withoutOptional }, healthy(S001.stages[0] as never, started, started + 1.5 * DAY), started + 1.5 * DAY);
    expect(d.kind).toBe('advance');
  });

  it('does not count the starter, nor roles below the requirement', () => {
    const selfOnly = decide(S001, { ...base, approvals: [{ by: 'alice', role: 'admin', at: started + 1, verdict: 'approve' }] }, obs, now);
    expect(selfOnly.kind).toBe('await_approval');
    expect(selfOnly.reason).toContain('0 of 1 approvals');
    expect(selfOnly.reason).toContain('alice started the rollout and cannot approve it');
    const editor = decide(S001, { ...base, approvals: [{ by: 'dave', role: 'editor', at: started + 1, verdict: 'approve' }] }, obs, now);
    expect(editor.kind).toBe('await_approval');
    expect(editor.waitingFor).toEqual([{ kind: 'approval', approvals: 0, required: 1, role: 'approver' }]);
    const admin = decide(S001, { ...base, approvals: [{ by: 'erin', role: 'admin', at: started + 1, verdict: 'approve' }] }, obs, now);
    expect(admin.kind).toBe('advance');
  });

  it('counts a person once, and a standing rejection blocks until its author approves', () => {
    const plan: Plan = { ...S001, stages: S001.stages.map((s, i) => (i === 1 ? { ...s, approvals: { count: 2, role: 'approver' } } : s)) };
    const twiceBob = decide(
      plan,
      {
        ...base,
        approvals: [
          { by: 'bob', role: 'approver', at: started + 1, verdict: 'approve' },
          { by: 'bob', role: 'approver', at: started + 2, verdict: 'approve' },
        ],
      },
      obs,
      now,
    );
    expect(twiceBob.kind).toBe('await_approval');
    expect(twiceBob.reason).toContain('1 of 2 approvals');
    const rejected = decide(plan, { ...base, approvals: [...(base.approvals ?? []), { by: 'frank', role: 'approver', at: started + 5, verdict: 'reject', comment: 'wait for the fix' }] }, obs, now);
    expect(rejected.kind).toBe('await_approval');
    expect(rejected.reason).toContain('rejected by frank ("wait for the fix")');
    // People are named by name when the record has one, never by their id.
    const named = decide(
      plan,
      {
        ...base,
        startedBy: 'usr_alice',
        startedByName: 'Alice Starter',
        approvals: [
          { by: 'usr_alice', name: 'Alice Starter', role: 'approver', at: started + 4, verdict: 'approve' },
          { by: 'usr_frank', name: 'Frank Reviewer', role: 'approver', at: started + 5, verdict: 'reject', comment: 'wait for the fix' },
        ],
      },
      obs,
      now,
    );
    expect(named.reason).toContain('rejected by Frank Reviewer ("wait for the fix")');
    expect(named.reason).toContain('Alice Starter started the rollout and cannot approve it');
    expect(named.reason).not.toMatch(/usr_/);
    const changedMind = decide(
      plan,
      { ...base, approvals: [...(base.approvals ?? []), { by: 'frank', role: 'approver', at: started + 5, verdict: 'reject' }, { by: 'frank', role: 'approver', at: started + 6, verdict: 'approve' }] },
      obs,
      now,
    );
    expect(changedMind.kind).toBe('advance');
  });

  it('an advance request skips the remaining wait but not the approvals; an admin may force', () => {
    const later = started + 4 * DAY;
    const o4 = healthy(S001.stages[1] as never, started, later);
    const request = { advanceRequest: { by: 'bob', role: 'approver' as const, at: later - 1 } };
    expect(decide(S001, { ...base }, o4, later).kind).toBe('none');
    expect(decide(S001, { ...base, ...request, approvals: [] }, o4, later).kind).toBe('await_approval');
    const skip = decide(S001, { ...base, ...request }, o4, later);
    expect(skip.kind).toBe('advance');
    expect(skip.reason).toContain('bob asked to skip the remaining 3 d');
    // Two days in, the pilot's 3-day sustained error rate (a success criterion) is not yet met: a plain request waits.
    const early = started + 2 * DAY;
    const o = healthy(S001.stages[1] as never, started, early);
    expect(decide(S001, { ...base, advanceRequest: { by: 'bob', role: 'approver', at: early - 1 } }, o, early).kind).toBe('none');
    const notAdmin = decide(S001, { ...base, approvals: [], advanceRequest: { by: 'bob', role: 'approver', at: early - 1, force: true } }, o, early);
    expect(notAdmin.kind).not.toBe('advance');
    const forced = decide(S001, { ...base, approvals: [], checklist: [], advanceRequest: { by: 'root', role: 'admin', at: early - 1, force: true } }, o, early);
    expect(forced).toMatchObject({ kind: 'advance', forced: true });
    expect(forced.reason).toContain('Forced by root (admin)');
    const forcedByName = decide(S001, { ...base, approvals: [], checklist: [], advanceRequest: { by: 'usr_root', name: 'Rita Root', role: 'admin', at: early - 1, force: true } }, o, early);
    expect(forcedByName.reason).toContain('Forced by Rita Root (admin)');
    const stale = decide(S001, { ...base, advanceRequest: { by: 'root', role: 'admin', at: started - 1, force: true } }, o, early);
    expect(stale.kind).not.toBe('advance');
  });

  it('a forced advance never skips missing data or rollback triggers', () => {
    const force = { advanceRequest: { by: 'root', role: 'admin' as const, at: started + 1, force: true } };
    expect(decide(S001, { ...base, ...force }, { metrics: {} }, now).kind).toBe('hold');
    expect(decide(S001, { ...base, ...force }, withAggregate(obs, 'error-rate', 7, 0.05), now).kind).toBe('rollback');
  });
});

describe('decide: states, escalations, holds and timeouts', () => {
  const started = T0;
  const now = started + 49 * HOUR;
  const ga = S001.stages[3] as never;
  const obs = healthy(ga, started, now);

  it.each([
    ['completed', 'green'],
    ['rolled_back', 'red'],
    ['aborted', 'yellow'],
  ] as const)('does nothing once %s', (status, health) => {
    const d = decide(S001, running(3, started, { status }), withAggregate(obs, 'error-rate', 9, 0.05), now);
    expect(d).toMatchObject({ kind: 'none', health });
  });

  it('does nothing for a draft, listing the open pre-start items', () => {
    const d = decide(S001, running(0, started, { status: 'draft', checklist: [{ itemId: 'pre.1', by: 'bob', at: 1 }] }), { metrics: {} }, now);
    expect(d.kind).toBe('none');
    expect(d.reason).toContain('"Security audit clean"');
    expect(d.reason).not.toContain('"All tests passing"');
    expect(d.waitingFor[0]).toEqual({ kind: 'start' });
  });

  it('holds for a person on a stage index outside the plan', () => {
    const d = decide(S001, running(9, started), obs, now);
    expect(d).toMatchObject({ kind: 'hold', requiresPerson: true });
    expect(d.reason).toContain('stage index 9');
  });

  it('stays held until a person resumes, but still rolls back', () => {
    const held = ready(S001, 3, started, { status: 'held', heldBy: 'bob', heldAt: now - HOUR, heldReason: 'checking a report' });
    const d = decide(S001, held, obs, now);
    expect(d).toMatchObject({ kind: 'none', waitingFor: [{ kind: 'resume' }] });
    expect(d.reason).toBe('Held by bob for 1 h: checking a report; resume to continue stage 4 of 4 ("General Availability").');
    expect(decide(S001, held, withAggregate(obs, 'error-rate', 6, 0.05), now).kind).toBe('rollback');
  });

  it('waits for a pending escalation, continues after go, rolls back after no-go', () => {
    const breach = errorRateFor(61, 2.5)(obs, started, now);
    const escalation = { gateIds: ['manual-error-rate'], raisedAt: now - MINUTE };
    const waiting = decide(S001, ready(S001, 3, started, { escalations: [escalation] }), breach, now);
    expect(waiting).toMatchObject({ kind: 'none', health: 'yellow', waitingFor: [{ kind: 'decision', gateIds: ['manual-error-rate'] }] });
    const go = decide(S001, ready(S001, 3, started, { escalations: [{ ...escalation, decision: { verdict: 'go', by: 'bob', at: now } }] }), breach, now);
    expect(go.kind).toBe('complete');
    expect(go.health).toBe('yellow');
    const noGo = decide(
      S001,
      ready(S001, 3, started, { escalations: [{ ...escalation, decision: { verdict: 'no_go', by: 'bob', at: now, comment: 'too many errors' } }] }),
      breach,
      now,
    );
    expect(noGo).toMatchObject({ kind: 'rollback', to: 'zero' });
    expect(noGo.reason).toContain('bob decided no-go on manual-error-rate: "too many errors"');
    const previous = decide(
      S001,
      ready(S001, 3, started, { escalations: [{ ...escalation, decision: { verdict: 'no_go', by: 'bob', at: now, action: 'rollback_previous' } }] }),
      breach,
      now,
    );
    expect(previous).toMatchObject({ kind: 'rollback', to: 'previous', toStage: 2 });
    const oldStage = decide(S001, ready(S001, 3, started, { escalations: [{ ...escalation, raisedAt: started - 1 }] }), breach, now);
    expect(oldStage.kind).toBe('escalate');
  });

  it('escalates only the alerts not yet escalated or acknowledged', () => {
    const breach = both('error-rate', 2.5)(errorRateFor(61, 2.5)(healthy(S001.stages[1] as never, started, started + 8 * DAY), started, started + 8 * DAY));
    const state = ready(S001, 1, started, {
      escalations: [{ gateIds: ['manual-error-rate'], raisedAt: started + 7 * DAY, decision: { verdict: 'go', by: 'bob', at: started + 7 * DAY } }],
    });
    const d = decide(S001, state, breach, started + 8 * DAY);
    expect(d).toMatchObject({ kind: 'escalate', gateIds: ['error-rate-alert'] });
  });

  it('times out: onTimeout hold asks a person once; a resume after the timeout acknowledges it', () => {
    const late = started + 2 * DAY + HOUR;
    const o = healthy(S001.stages[0] as never, started, late);
    const st = running(0, started);
    expect(decide(S001, st, o, late)).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'maxDuration' });
    expect(decide(S001, { ...st, resumedAt: late - MINUTE }, o, late).kind).toBe('await_approval');
    // A timeout also fires when the stage never got data.
    expect(decide(S001, st, { metrics: {} }, late)).toMatchObject({ kind: 'hold', requiresPerson: true });
  });

  it('times out: onTimeout rollback goes back to the previous stage', () => {
    const plan: Plan = { ...S001, stages: S001.stages.map((s) => ({ ...s, onTimeout: 'rollback' as const })) };
    const late = started + 15 * DAY;
    const d = decide(plan, running(1, started), healthy(plan.stages[1] as never, started, late), late);
    expect(d).toMatchObject({ kind: 'rollback', to: 'previous', toStage: 0 });
    expect(d.reason).toContain('past its maximum of 14 d');
  });

  it('rolls back to 0% when asked for the previous stage of the first stage', () => {
    const gate: Gate = { id: 'g', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 1 }, onBreach: 'rollback_previous' };
    const plan: Plan = { id: 'p', name: 'p', version: 1, stages: [{ id: 's', name: 'S', audience: { percentage: 10 }, minDuration: 0, gates: [gate] }] };
    const d = decide(plan, running(0, started), { metrics: { 'error-rate': { treatment: { value: 2, samples: 10 } } } }, now);
    expect(d).toMatchObject({ kind: 'rollback', to: 'zero', toStage: null });
    expect(d.reason).toContain('there is no previous stage');
  });

  it('a rollback gate with a hold action holds once, and a resume acknowledges it', () => {
    const gate: Gate = { id: 'g', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 1 }, onBreach: 'hold' };
    const plan: Plan = { id: 'p', name: 'p', version: 1, stages: [{ id: 's', name: 'S', audience: { percentage: 10 }, minDuration: 0, gates: [gate] }] };
    const o = { metrics: { 'error-rate': { treatment: { value: 2, samples: 10 } } } };
    expect(decide(plan, running(0, started), o, now)).toMatchObject({ kind: 'hold', requiresPerson: true, trigger: 'g' });
    expect(decide(plan, running(0, started, { resumedAt: now - 1 }), o, now).kind).toBe('complete');
  });

  it('picks the most severe of several triggers and mentions the others', () => {
    const gates: Gate[] = [
      { id: 'a', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 1 }, onBreach: 'rollback_previous' },
      { id: 'b', metric: 'response-time-p95', role: 'rollback', condition: { type: 'absolute', op: '>', value: 1000 }, onBreach: 'disable' },
    ];
    const stage = { id: 's', name: 'S', audience: { percentage: 10 }, minDuration: 0, gates };
    const plan: Plan = { id: 'p', name: 'p', version: 1, stages: [stage, { ...stage, id: 't', audience: { percentage: 20 } }] };
    const o = { metrics: { 'error-rate': { treatment: { value: 2, samples: 10 } }, 'response-time-p95': { treatment: { value: 1500, samples: 10 } } } };
    const d = decide(plan, running(1, started), o, now);
    expect(d).toMatchObject({ kind: 'disable', trigger: 'b' });
    expect(d.reason).toMatch(/^Disabling the flag \(kill switch\): response-time-p95 1500 ms breaches > 1000 ms .* Also: error-rate 2% breaches > 1%/);
  });
});

describe('decide: the gate assessor is pluggable', () => {
  it('uses a given assessor and its statistical fields reach the evidence', () => {
    const started = T0;
    const now = started + 8 * DAY;
    const sequential: GateAssessor = (gate) => ({
      gateId: gate.id,
      metric: gate.metric,
      role: gate.role,
      condition: gate.condition,
      verdict: gate.id === 'auto-degradation' ? 'fail' : 'pass',
      estimate: 61,
      interval: { lower: 52, upper: 70, level: 0.95 },
      pValue: 0.001,
      treatment: { value: 1290, samples: 4000 },
      control: { value: 800, samples: 4100 },
      method: 'msprt',
      summary: `${gate.id} by sequential test.`,
    });
    const d = decide(S001, ready(S001, 1, started), healthy(S001.stages[1] as never, started, now), now, { assessGate: sequential });
    expect(d.kind).toBe('rollback');
    expect(d.evidence.gates.find((g) => g.gateId === 'auto-degradation')).toMatchObject({ method: 'msprt', pValue: 0.001, interval: { lower: 52 } });
  });

  it('treats an assessor that throws as no data, which holds', () => {
    const started = T0;
    const now = started + 8 * DAY;
    const broken: GateAssessor = () => {
      throw new Error('boom');
    };
    const d = decide(S001, ready(S001, 1, started), healthy(S001.stages[1] as never, started, now), now, { assessGate: broken });
    expect(d.kind).toBe('hold');
  });
});

describe('rolloutStatus', () => {
  it('gives the seed 000 dashboard fields', () => {
    const started = T0 + 10 * DAY;
    const now = started + 3 * DAY + HOUR;
    const state = ready(S000, 1, started);
    const decision = decide(S000, state, healthy(S000.stages[1] as never, started, now), now);
    expect(rolloutStatus(S000, state, decision, now)).toMatchObject({
      status: 'running',
      health: 'green',
      phase: 2,
      phases: 5,
      percentage: 25,
      startDate: '2025-03-01',
      daysInPhase: 3,
      waitingFor: [{ kind: 'time', remainingMs: 4 * DAY - HOUR }],
      summary: decision.reason,
    });
  });

  it('shows 0% once rolled back', () => {
    const state = running(2, T0, { status: 'rolled_back' });
    const s = rolloutStatus(S000, state, decide(S000, state, { metrics: {} }, T0), T0);
    expect(s).toMatchObject({ percentage: 0, health: 'red', daysInPhase: 0 });
  });
});

// ---------------------------------------------------------------- properties

const finiteOrNot = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -1));
const aggregate = fc.record({ value: finiteOrNot, samples: finiteOrNot });
const interval = fc.record({ start: finiteOrNot, end: finiteOrNot, treatment: fc.option(aggregate, { nil: undefined }), control: fc.option(aggregate, { nil: undefined }) });
const metricKeys = [...new Set(PLAN_TEMPLATES.flatMap((p) => p.stages.flatMap((s) => metricsReadBy(s))))];
const observations: fc.Arbitrary<Observations> = fc
  .dictionary(
    fc.constantFrom(...metricKeys, 'unknown-metric'),
    fc.record({ treatment: fc.option(aggregate, { nil: undefined }), control: fc.option(aggregate, { nil: undefined }), series: fc.option(fc.array(interval, { maxLength: 6 }), { nil: undefined }) }),
  )
  .map((metrics) => ({ metrics }));
const person = fc.constantFrom('alice', 'bob', 'carol', 'root');
const role = fc.constantFrom('viewer', 'editor', 'approver', 'admin') as fc.Arbitrary<'viewer' | 'editor' | 'approver' | 'admin'>;
const time = fc.oneof(fc.integer({ min: T0 - 30 * DAY, max: T0 + 60 * DAY }), finiteOrNot);
const state: fc.Arbitrary<RolloutState> = fc.record(
  {
    status: fc.constantFrom('draft', 'running', 'held', 'awaiting_approval', 'completed', 'rolled_back', 'aborted'),
    stageIndex: fc.integer({ min: -2, max: 7 }),
    stageStartedAt: time,
    startedAt: time,
    startedBy: person,
    checklist: fc.array(fc.record({ itemId: fc.string({ maxLength: 20 }), by: person, at: time }), { maxLength: 5 }),
    approvals: fc.array(fc.record({ by: person, role, at: time, verdict: fc.constantFrom('approve', 'reject') as fc.Arbitrary<'approve' | 'reject'> }), { maxLength: 4 }),
    escalations: fc.array(
      fc.record({
        gateIds: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        raisedAt: time,
        decision: fc.option(fc.record({ verdict: fc.constantFrom('go', 'no_go') as fc.Arbitrary<'go' | 'no_go'>, by: person, at: time }), { nil: undefined }),
      }),
      { maxLength: 3 },
    ),
    advanceRequest: fc.option(fc.record({ by: person, role, at: time, force: fc.boolean() }), { nil: undefined }),
    resumedAt: time,
  },
  { requiredKeys: ['status', 'stageIndex', 'stageStartedAt', 'startedBy'] },
);
const KINDS: readonly DecisionKind[] = ['advance', 'hold', 'rollback', 'disable', 'escalate', 'await_approval', 'complete', 'none'];

describe('decide: properties', () => {
  it('never throws, always explains, on arbitrary states and observations', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PLAN_TEMPLATES), state, observations, time, (plan, st, obs, now) => {
        const d = decide(plan, st, obs, now);
        expect(KINDS).toContain(d.kind);
        expect(typeof d.reason).toBe('string');
        // The catch-all is for malformed input only; typed input never reaches it.
        expect(d.reason.startsWith('Could not decide')).toBe(false);
        expect(['green', 'yellow', 'red']).toContain(d.health);
        rolloutStatus(plan, st, d, now);
      }),
      { numRuns: 1500 },
    );
  });

  it('never advances or completes when a metric a gate reads has no data', () => {
    const cases = PLAN_TEMPLATES.flatMap((plan) => plan.stages.map((stage, index) => ({ plan, index, stage })).filter((c) => metricsReadBy(c.stage).length > 0));
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.nat(),
        fc.constantFrom('metric', 'treatment', 'control', 'series'),
        fc.boolean(),
        fc.integer({ min: 0, max: 20 * DAY }),
        (c, pick, what, force, elapsedAfterMin) => {
          const started = T0;
          const now = started + c.stage.minDuration + elapsedAfterMin;
          const metric = metricsReadBy(c.stage)[pick % metricsReadBy(c.stage).length] as string;
          const metrics: Record<string, MetricObservation | undefined> = { ...healthy(c.stage, started, now).metrics };
          const m = { ...metrics[metric] };
          if (what === 'metric') delete metrics[metric];
          else {
            if (what === 'treatment') delete m.treatment;
            if (what === 'control') delete m.control;
            if (what === 'series') delete m.series;
            metrics[metric] = m;
          }
          const o: Observations = { metrics };
          const st = ready(c.plan, c.index, started, force ? { advanceRequest: { by: 'root', role: 'admin', at: started + 1, force: true } } : {});
          const d = decide(c.plan, st, o, now);
          // Removing a part no gate reads (a control nobody compares with, a series no window needs) may still advance.
          const gates = c.stage.gates ?? [];
          const reads =
            what === 'metric' ||
            (what === 'treatment' && (gates.some((g) => g.metric === metric && g.sustainedFor === undefined) ||
              (c.stage.matrices ?? []).some((x) => x.metric === metric || (x.anyOccurrence ?? []).some((r) => r.metric === metric)))) ||
            (what === 'control' && gates.some((g) => g.metric === metric && g.sustainedFor === undefined && g.condition.type !== 'absolute')) ||
            (what === 'series' && gates.some((g) => g.metric === metric && g.sustainedFor !== undefined));
          if (reads) expect(['advance', 'complete'], `${c.plan.id} ${c.stage.id} ${metric} ${what}: ${d.reason}`).not.toContain(d.kind);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PLAN_TEMPLATES), state, observations, time, (plan, st, obs, now) => {
        const a = decide(plan, st, obs, now);
        const b = decide(plan, structuredClone(st), structuredClone(obs), now);
        expect(b).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });
});
