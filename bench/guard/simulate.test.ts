import { describe, expect, it } from 'vitest';
import { LogHistogram, metricsReadBy, normalSurvival, validatePlan, withoutStaleData } from '@rollgate/core';
import {
  BASE_SEED,
  CANARY_PLAN,
  CANARY_STAGE,
  LatencyCounts,
  Simulation,
  TRAFFIC,
  createRandom,
  latencyBucket,
  latencyEdge,
  mixSeed,
  rollgateGuard,
  scenarioByName,
  simulateRun,
  thresholdGuard,
} from './simulate.js';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: (sumSq - n * mean * mean) / (n - 1) };
}

function simulate(name: string, seed: number, minutes: number): Simulation {
  const sim = new Simulation(scenarioByName(name), seed);
  for (let m = 0; m < minutes; m++) sim.step();
  return sim;
}

describe('randomness', () => {
  it('a seed reproduces its stream and different runs get different streams', () => {
    const a = createRandom(mixSeed(BASE_SEED, 3));
    const b = createRandom(mixSeed(BASE_SEED, 3));
    const c = createRandom(mixSeed(BASE_SEED, 4));
    const xs = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('binomial and Poisson draws have their means and variances, on the exact and the approximate paths', () => {
    const r = createRandom(7);
    for (const [n, p] of [
      [200, 0.01],
      [1800, 0.01],
      [2000, 0.3],
    ] as const) {
      const m = moments(() => r.binomial(n, p), 20_000);
      expect(m.mean).toBeCloseTo(n * p, n * p < 10 ? 1 : 0);
      expect(m.variance / (n * p * (1 - p))).toBeGreaterThan(0.95);
      expect(m.variance / (n * p * (1 - p))).toBeLessThan(1.05);
    }
    for (const mean of [3, 50, 450]) {
      const m = moments(() => r.poisson(mean), 20_000);
      expect(Math.abs(m.mean - mean) / Math.sqrt(mean / 20_000)).toBeLessThan(4);
      expect(m.variance / mean).toBeGreaterThan(0.95);
      expect(m.variance / mean).toBeLessThan(1.05);
    }
  });
});

describe('simulated traffic (A/A)', () => {
  const days = [1, 2, 3].map((i) => simulate('aa', mixSeed(BASE_SEED, i), 1440));

  it('the canary gets 10% of users and about 200 requests a minute over a day, with a daily shape', () => {
    for (const sim of days) {
      const share = sim.treatment.users / (sim.treatment.users + sim.control.users);
      expect(share).toBeGreaterThan(0.097);
      expect(share).toBeLessThan(0.103);
      expect(sim.treatment.requests / 1440).toBeGreaterThan(190);
      expect(sim.treatment.requests / 1440).toBeLessThan(210);
      // Peak at 15:00 is three times the trough at 03:00.
      const peak = sim.shapeAt(((15 - sim.startHour + 24) % 24) * 60 - 0.5);
      const trough = sim.shapeAt(((3 - sim.startHour + 24) % 24) * 60 - 0.5);
      expect(peak / trough).toBeCloseTo(3, 5);
    }
  });

  it('both cohorts have the base error rate of 1%', () => {
    for (const sim of days) {
      for (const cohort of [sim.treatment, sim.control]) {
        const rate = cohort.errors / cohort.requests;
        const se = Math.sqrt((TRAFFIC.baseErrorRate * (1 - TRAFFIC.baseErrorRate)) / cohort.requests);
        expect(Math.abs(rate - TRAFFIC.baseErrorRate) / se).toBeLessThan(4);
      }
    }
  });

  it('latencies are lognormal: shares above bucket edges and the p95 match the parameters', () => {
    const mu = Math.log(TRAFFIC.latencyMedianMs);
    const p95 = TRAFFIC.latencyMedianMs * Math.exp(1.6448536269514722 * TRAFFIC.latencySigma); // 455 ms
    for (const sim of days) {
      const t = sim.treatment.latency;
      expect(t.total).toBe(sim.treatment.requests);
      for (const ms of [150, 200, 300, 455, 700, 1000]) {
        const i = latencyBucket(ms);
        const expected = normalSurvival((Math.log(latencyEdge(i)) - mu) / TRAFFIC.latencySigma);
        expect(Math.abs(t.above(i) / t.total - expected)).toBeLessThan(0.005);
      }
      expect(t.quantile(0.95) / p95).toBeCloseTo(1, 1);
      expect(sim.control.latency.total).toBe(sim.control.requests);
      expect(sim.control.latency.quantile(0.95) / p95).toBeCloseTo(1, 1);
    }
  });

  it('bucket counts read like the LogHistogram of core: quantile and counts around a bound', () => {
    const random = createRandom(5);
    const counts = new LatencyCounts(latencyBucket(10), latencyBucket(30_000));
    const histogram = new LogHistogram();
    for (let i = 0; i < 5000; i++) {
      const ms = Math.exp(Math.log(200) + 0.5 * random.normal());
      histogram.add(ms);
      counts.add(latencyBucket(ms));
    }
    for (const q of [0.5, 0.95, 0.99]) expect(counts.quantile(q)).toBeCloseTo(histogram.quantile(q)!, 6);
    for (const bound of [300, 455, 682.5]) {
      const mine = counts.exceedingAround(bound);
      const core = histogram.exceedingAround(bound);
      expect(mine.map((e) => e.count)).toEqual(core.map((e) => e.count));
      mine.forEach((e, k) => expect(e.bound).toBeCloseTo(core[k]!.bound, 6));
    }
  });

  it('observations hold what decide reads: the error rate with its last hour, the p95 with exceedance counts, assignments', () => {
    const sim = days[0]!;
    const o = sim.observations();
    expect(Object.keys(o.metrics).sort()).toEqual([...metricsReadBy(CANARY_STAGE)].sort());
    const errors = o.metrics['error-rate']!;
    expect(errors.treatment).toEqual({ value: (sim.treatment.errors / sim.treatment.requests) * 100, samples: sim.treatment.requests });
    expect(errors.series).toHaveLength(61);
    expect(errors.series!.at(-1)!.end).toBe(sim.now);
    // Counts at the edges of the 1% buckets holding the two bounds (control p95 x 1.2 and x 1.5).
    const p95 = o.metrics['response-time-p95']!;
    const bounds = p95.treatment!.exceeding!.map((e) => e.bound / p95.control!.value);
    expect(bounds).toHaveLength(4);
    expect(bounds[0]).toBeGreaterThan(1.17);
    expect(bounds[3]).toBeLessThan(1.53);
    expect(o.assignments).toEqual({ treatment: sim.treatment.users, control: sim.control.users });
  });
});

describe('scenarios', () => {
  it('a latency multiplier scales the p95; an error multiplier scales the error rate from its onset only', () => {
    const slow = simulate('latency+50%', mixSeed(BASE_SEED, 1), 720);
    expect(slow.treatment.latency.quantile(0.95) / slow.control.latency.quantile(0.95)).toBeCloseTo(1.5, 1);
    const delayed = simulate('delayed-x2', mixSeed(BASE_SEED, 1), 360);
    expect(delayed.treatment.errors / delayed.treatment.requests).toBeLessThan(0.0125);
    const bad = simulate('error-x2', mixSeed(BASE_SEED, 1), 360);
    expect(bad.treatment.errors / bad.treatment.requests).toBeGreaterThan(0.0175);
  });

  it('the SRM bug loses one canary user in ten; an outage records nothing, and its stale totals are dropped', () => {
    const srm = simulate('srm-bug', mixSeed(BASE_SEED, 1), 600);
    const share = srm.treatment.users / (srm.treatment.users + srm.control.users);
    expect(share).toBeGreaterThan(0.088);
    expect(share).toBeLessThan(0.094);
    expect(srm.exposedSinceOnset()).toBeGreaterThan(srm.treatment.users);
    const out = simulate('metric-outage', mixSeed(BASE_SEED, 1), 20 * 60 + 30);
    const before = simulate('metric-outage', mixSeed(BASE_SEED, 1), 20 * 60);
    expect(out.treatment.requests).toBe(before.treatment.requests);
    // The stage totals stay during the outage; core's staleness rule (10 minutes) drops them.
    expect(out.observations().metrics['error-rate']!.treatment).toEqual(before.observations().metrics['error-rate']!.treatment);
    const fresh = withoutStaleData(out.observations(), out.now, 10 * 60_000);
    expect(fresh.metrics['error-rate']!.treatment).toBeUndefined();
    expect(fresh.metrics['data-loss-events']!.control).toBeUndefined();
    expect(withoutStaleData(before.observations(), before.now, 10 * 60_000)).toBe(before.observations());
  });

  it('seeds reproduce, whatever guards watch the run', () => {
    const thresholds = [thresholdGuard({ name: 't', limitPercent: 2, consecutive: 3 })];
    const alone = simulateRun(scenarioByName('error-x2'), 11, thresholds);
    expect(simulateRun(scenarioByName('error-x2'), 11, thresholds)).toEqual(alone);
    const both = simulateRun(scenarioByName('error-x2'), 11, [rollgateGuard(), ...thresholds]);
    expect(both[1]).toEqual(alone[0]);
    // Rollgate's guard is the real guardedDecide: a doubled error rate is rolled back by the canary gate, the only one that sees it.
    expect(both[0]).toMatchObject({ guard: 'rollgate', kind: 'rollback', trigger: 'canary-error-rate' });
    expect(both[0]!.minute).toBeLessThan(120);
  });

  it('the canary plan is a valid plan', () => {
    expect(validatePlan(CANARY_PLAN, { knownSegments: ['internal-team', 'pilot-users'] })).toEqual([]);
  });
});
