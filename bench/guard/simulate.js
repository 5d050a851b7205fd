/**
 * The rollout-guard simulation behind bench/guard (see bench/guard/README.md).
 *
 * A canary stage of a real plan serves 10% of simulated traffic for up to 48
 * hours. Every simulated minute brings treatment and control requests (a daily
 * shape around the mean), errors drawn from binomials and latencies from a
 * lognormal, aggregated the way Rollgate's observation source aggregates them:
 * per metric, cohort aggregates over the stage and a per-minute series, plus
 * the distinct users assigned to each cohort. Each minute is one check (one
 * controller tick) of every guard: Rollgate's (core's `guardedDecide`, which
 * the controller calls: `decide` with the sequential gate assessor, then the
 * SRM check) and fixed-threshold rules. All guards watch the same simulated
 * traffic, so they see the same seeds.
 *
 * Nothing here reads the clock or `Math.random`: a run is a function of its
 * scenario and its seed.
 */
import { guardedDecide, logGamma, metricDefinition, normalSurvival, quantileLevelOf, withoutStaleData, SEED_001_STAGED_ROLLOUT } from '@rollgate/core';

/** Milliseconds per simulated minute. */
export const MINUTE_MS = 60_000;
/** Minutes per hour and per day (simulated time is counted in minutes). */
export const HOUR = 60;
export const DAY = 24 * HOUR;
/** The base seed; run i uses `mixSeed(BASE_SEED, i)` in every scenario and for every guard. */
export const BASE_SEED = 0x6a09e667;
/** The stage starts on this day (UTC midnight) plus a random time of day. */
const STAGE_DAY = Date.UTC(2026, 10, 2);

/**
 * Traffic of the headline scenarios. The canary (treatment) gets 10% of the
 * users, the control the other 90%; traffic follows a daily cosine between
 * half and one and a half times its mean, peaking at 15:00.
 */
export const TRAFFIC = Object.freeze({
  canaryShare: 0.1,
  /** Canary requests per minute at the daily mean (the control gets 9 times as many). */
  canaryRequestsPerMinute: 200,
  baseErrorRate: 0.01,
  /** Lognormal latency: median 200 ms, sigma 0.5 of ln(ms): mean 227 ms, p95 455 ms. */
  latencyMedianMs: 200,
  latencySigma: 0.5,
  dailyAmplitude: 0.5,
  peakHour: 15,
  /** Each user (one assignment) makes 1 + Poisson(3) requests in the minute it arrives. */
  requestsPerUser: 4,
});

/**
 * Latencies are counted in the buckets of core's `LogHistogram` at its default
 * relative accuracy of 1% (bucket i holds (gamma^(i-1), gamma^i], gamma =
 * 1.01 / 0.99), as the metrics pipeline stores them; quantiles and the
 * counts above gate bounds are read from these buckets the way
 * `LogHistogram.quantile` and `exceedingAround` read them.
 */
export const LATENCY_ACCURACY = 0.01;
const LOG_GAMMA = Math.log((1 + LATENCY_ACCURACY) / (1 - LATENCY_ACCURACY));
const REPRESENTATIVE = 2 / ((1 + LATENCY_ACCURACY) / (1 - LATENCY_ACCURACY) + 1);

/** The index of the bucket holding `ms`. */
export function latencyBucket(ms) {
  return Math.ceil(Math.log(ms) / LOG_GAMMA);
}

/** The upper edge of bucket i (ms). */
export function latencyEdge(i) {
  return Math.exp(i * LOG_GAMMA);
}

/**
 * Counts of one cohort's latencies per bucket, from bucket `lo` to `hi`;
 * the first slot also holds everything below and the last everything above
 * (the quantiles and bounds read here lie well inside).
 */
export class LatencyCounts {
  constructor(lo, hi) {
    this.lo = lo;
    this.hi = hi;
    this.counts = new Float64Array(hi - lo + 1);
    this.total = 0;
  }

  /** Adds n samples to bucket i. */
  add(i, n = 1) {
    const k = i <= this.lo ? 0 : i >= this.hi ? this.hi - this.lo : i - this.lo;
    this.counts[k] += n;
    this.total += n;
  }

  /** The q-quantile as `LogHistogram.quantile` reads it: the representative of the bucket holding rank q (n - 1). */
  quantile(q) {
    if (this.total === 0) return Number.NaN;
    const rank = q * (this.total - 1);
    let seen = 0;
    for (let k = 0; k < this.counts.length; k++) {
      seen += this.counts[k];
      if (seen > rank) return latencyEdge(this.lo + k) * REPRESENTATIVE;
    }
    return latencyEdge(this.hi) * REPRESENTATIVE;
  }

  /** Samples in the buckets above bucket i (above latencyEdge(i)). */
  above(i) {
    let n = 0;
    for (let k = Math.max(0, i + 1 - this.lo); k < this.counts.length; k++) n += this.counts[k];
    return n;
  }

  /**
   * Exact counts above the bounds next to `bound`, as `LogHistogram.exceedingAround`
   * gives them: at `bound` itself when its bucket is empty, else at the two
   * edges of its bucket.
   */
  exceedingAround(bound) {
    const i = latencyBucket(bound);
    const k = i - this.lo;
    if (k <= 0 || k >= this.counts.length - 1 || this.counts[k] === 0) return [{ bound, count: this.above(i) }];
    return [
      { bound: latencyEdge(i - 1), count: this.above(i - 1) },
      { bound: latencyEdge(i), count: this.above(i) },
    ];
  }
}

/** Treatment latencies are drawn one by one into these buckets (10 ms to 30 s). */
const TREATMENT_BUCKETS = [latencyBucket(10), latencyBucket(30_000)];
/**
 * The control never changes, and only its p95 is read (for the bounds of the
 * comparative gates), so its counts are drawn per bucket around the p95 (380
 * to 560 ms; the stage's p95 is 455 ms), a multinomial by conditional
 * binomials.
 */
const CONTROL_BUCKETS = [latencyBucket(380), latencyBucket(560)];

// ------------------------------------------------------------------ randomness

/** splitmix32: expands one 32-bit seed into a well-mixed stream (used to seed xoshiro). */
function splitmix32(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

/**
 * The seed of run `index`: the same for every scenario and every guard, so
 * guards are compared on identical traffic.
 *
 * @example
 * mixSeed(BASE_SEED, 0) === mixSeed(BASE_SEED, 0); // true
 */
export function mixSeed(base, index) {
  const next = splitmix32((base ^ Math.imul(index + 1, 0x85ebca6b)) | 0);
  next();
  return next();
}

const rotl = (x, k) => (x << k) | (x >>> (32 - k));

/**
 * A seeded source of randomness: xoshiro128** for uniforms, Box-Muller for
 * normals, and exact Poisson (inversion, or Hormann's PTRS from a mean of 12)
 * and binomial draws (inversion while the smaller of n p and n (1 - p) is
 * under 30, a rounded normal beyond: only the control's latency buckets
 * and, at its busiest minutes, its error count go there).
 *
 * @example
 * const random = createRandom(42);
 * random.binomial(200, 0.01); // errors among 200 requests at 1%
 */
export function createRandom(seed) {
  const init = splitmix32(seed);
  let s0 = init();
  let s1 = init();
  let s2 = init();
  let s3 = init();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  let spare = Number.NaN;

  function uniform() {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return (result >>> 0) / 4294967296;
  }

  function normal() {
    if (!Number.isNaN(spare)) {
      const z = spare;
      spare = Number.NaN;
      return z;
    }
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  function poisson(mean) {
    if (!(mean > 0)) return 0;
    if (mean < 12) {
      const u = uniform();
      let k = 0;
      let p = Math.exp(-mean);
      let cdf = p;
      while (u > cdf && k < 1000) {
        k++;
        p *= mean / k;
        cdf += p;
      }
      return k;
    }
    // PTRS (Hormann 1993, "The transformed rejection method for generating Poisson random variables").
    const slam = Math.sqrt(mean);
    const loglam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = uniform() - 0.5;
      const v = uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - logGamma(k + 1)) return k;
    }
  }

  function binomial(n, p) {
    if (!(n > 0) || !(p > 0)) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binomial(n, 1 - p);
    const mean = n * p;
    if (mean >= 30) {
      const k = Math.round(mean + Math.sqrt(mean * (1 - p)) * normal());
      return k < 0 ? 0 : k > n ? n : k;
    }
    const u = uniform();
    const ratio = p / (1 - p);
    let k = 0;
    let pmf = Math.exp(n * Math.log1p(-p));
    let cdf = pmf;
    while (u > cdf && k < n) {
      pmf *= ((n - k) / (k + 1)) * ratio;
      k++;
      cdf += pmf;
    }
    return k;
  }

  return { uniform, normal, poisson, binomial };
}

// ------------------------------------------------------------------ scenarios

/**
 * The scenarios of the issue. `healthy` ones have no bad change: any rollback
 * there is a false rollback. Effects apply to the treatment from `onsetMinute`
 * (default 0, the stage start).
 */
export const SCENARIOS = Object.freeze([
  { name: 'aa', title: 'no change (A/A)', healthy: true },
  { name: 'error-x1.25', title: 'error rate x1.25', errorMultiplier: 1.25 },
  { name: 'error-x1.5', title: 'error rate x1.5', errorMultiplier: 1.5 },
  { name: 'error-x2', title: 'error rate x2', errorMultiplier: 2 },
  { name: 'error-x5', title: 'error rate x5', errorMultiplier: 5 },
  { name: 'latency+10%', title: 'latency +10%', latencyMultiplier: 1.1 },
  { name: 'latency+25%', title: 'latency +25%', latencyMultiplier: 1.25 },
  { name: 'latency+50%', title: 'latency +50%', latencyMultiplier: 1.5 },
  { name: 'delayed-x2', title: 'error rate x2 from hour 6', errorMultiplier: 2, onsetMinute: 6 * HOUR },
  {
    name: 'warm-up-spike',
    title: 'warm-up spike that heals (errors x3, latency x1.5, half-life 2 min)',
    healthy: true,
    spike: { error: 3, latency: 1.5, halfLifeMinutes: 2 },
  },
  { name: 'low-traffic', title: 'low traffic (0.3 canary requests/min)', healthy: true, trafficFactor: 0.3 / 200 },
  { name: 'metric-outage', title: 'metric outage from hour 20 to hour 28', healthy: true, outage: { fromMinute: 20 * HOUR, toMinute: 28 * HOUR } },
  { name: 'srm-bug', title: 'SRM bug (1 in 10 canary users lost, with their errors)', lostTreatmentShare: 0.1 },
]);

/**
 * The scenario called `name`.
 *
 * @example
 * scenarioByName('error-x2').errorMultiplier; // 2
 */
export function scenarioByName(name) {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}

/** The treatment's error and latency multipliers in minute `m`. */
function effectAt(scenario, m) {
  if (scenario.spike) {
    const decay = 2 ** (-m / scenario.spike.halfLifeMinutes);
    return { error: 1 + (scenario.spike.error - 1) * decay, latency: 1 + (scenario.spike.latency - 1) * decay };
  }
  if (m < (scenario.onsetMinute ?? 0)) return { error: 1, latency: 1 };
  return { error: scenario.errorMultiplier ?? 1, latency: scenario.latencyMultiplier ?? 1 };
}

// ------------------------------------------------------------------ the plan

const SEED_INTERNAL = SEED_001_STAGED_ROLLOUT.stages[0];
const SEED_PILOT = SEED_001_STAGED_ROLLOUT.stages[1];

/**
 * The error-rate gate a canary needs beyond the seed's absolute thresholds:
 * the treatment's error rate above the control's, by the sequential test.
 */
export const CANARY_ERROR_GATE = Object.freeze({
  id: 'canary-error-rate',
  metric: 'error-rate',
  role: 'rollback',
  condition: Object.freeze({ type: 'difference', op: '>', value: 0 }),
  description: 'Automatic rollback: error rate above the control cohort (sequential test)',
});

/**
 * The canary stage the simulation runs: seed 001's rollback plan, verbatim
 * (the five gates every stage of SEED_001_STAGED_ROLLOUT carries: error rate
 * > 5% and a data integrity event roll back, error rate > 2% for 1 h alerts,
 * p95 degradation > 50% vs control rolls back, > 20% alerts), plus
 * CANARY_ERROR_GATE; 10% of users; the Internal stage's 1 to 2 days and the
 * Pilot stage's 1,000 minimum samples. No checklist or approvals: the
 * simulation measures the gates, so people are taken as ready.
 */
export const CANARY_STAGE = Object.freeze({
  id: 'canary',
  name: 'Canary 10%',
  audience: Object.freeze({ percentage: TRAFFIC.canaryShare * 100 }),
  minDuration: SEED_INTERNAL.minDuration,
  maxDuration: SEED_INTERNAL.maxDuration,
  onTimeout: 'hold',
  minSamples: SEED_PILOT.minSamples,
  gates: Object.freeze([...SEED_INTERNAL.gates, CANARY_ERROR_GATE]),
});

/**
 * A plan whose first stage is `stage`, followed by seed 001's Expanded (25%)
 * and General Availability stages (its Pilot, 5% plus segments, would go
 * back from the canary's 10%).
 *
 * @example
 * planWith(CANARY_STAGE).stages[1].name; // 'Expanded'
 */
export function planWith(stage) {
  return Object.freeze({
    id: `bench-guard-${stage.id}`,
    name: `bench/guard: ${stage.name}, then seed 001`,
    version: 1,
    source: 'bench/guard: seed 001 rollback plan on a 10% canary stage',
    stages: Object.freeze([stage, ...SEED_001_STAGED_ROLLOUT.stages.slice(2)]),
  });
}

/** The plan Rollgate's guard runs by default. */
export const CANARY_PLAN = planWith(CANARY_STAGE);

/** The sequential gates of the canary stage (comparative, not sustained): its alpha is split over them. */
export const CANARY_SEQUENTIAL_GATES = CANARY_STAGE.gates.filter((g) => g.condition.type !== 'absolute' && g.sustainedFor === undefined).length;

/**
 * The guard options the bench recommends, which the controller's
 * `DEFAULT_GUARD` (packages/server/src/features/rollouts/rollout-controller.ts)
 * uses (bench/RESULTS.md has the measurements behind them): comparative
 * success criteria as guardrails; alpha 0.03 per stage (split over the
 * stage's sequential gates: 0.01 each for the canary stage's three); the
 * mixing variance tuned to the treatment samples of about ten minutes of
 * canary traffic at the mean (2,000 at 200 requests a minute), when a
 * rollback trigger should have decided; and a cohort whose data stopped
 * arriving 10 minutes ago counts as no data.
 */
export const RECOMMENDED_GUARD_OPTIONS = Object.freeze({
  sequential: Object.freeze({ successCriteria: 'guardrail', alpha: 0.03, expectedSamples: 2000 }),
  staleAfterMs: 10 * MINUTE_MS,
});

/**
 * The option sets `run.js --sweep` compares, as the assessor options of the
 * full canary stage. The sweep runs the error-rate gate alone, so its alpha
 * there is the stage's alpha divided by CANARY_SEQUENTIAL_GATES (`perGate`
 * gives a gate's alpha directly: no split).
 */
export const SWEEP_OPTIONS = Object.freeze([
  { name: 'defaults (alpha 0.05, expectedSamples 10,000)', sequential: {} },
  { name: 'expectedSamples 1000', sequential: { expectedSamples: 1000 } },
  { name: 'expectedSamples 2000', sequential: { expectedSamples: 2000 } },
  { name: 'expectedSamples 4000', sequential: { expectedSamples: 4000 } },
  { name: 'expectedSamples 2000, burnIn 2000', sequential: { expectedSamples: 2000, burnIn: 2000 } },
  { name: 'expectedSamples 2000, alpha 0.03', sequential: { expectedSamples: 2000, alpha: 0.03 } },
  { name: 'expectedSamples 2000, alpha 0.02', sequential: { expectedSamples: 2000, alpha: 0.02 } },
  { name: 'expectedSamples 2000, alpha 0.05 per gate (no split)', sequential: { expectedSamples: 2000 }, perGate: 0.05 },
]);

// ------------------------------------------------------------------ one run

/** Lognormal survival P(X > edge) at the control's bucket edges, and the conditional ratios of its histogram chain. */
const CONTROL_CHAIN = (() => {
  const mu = Math.log(TRAFFIC.latencyMedianMs);
  const [lo, hi] = CONTROL_BUCKETS;
  const survival = [];
  for (let i = lo; i < hi; i++) survival.push(normalSurvival((Math.log(latencyEdge(i)) - mu) / TRAFFIC.latencySigma));
  return survival.map((x, k) => (k === 0 ? x : x / survival[k - 1]));
})();

function emptyCohort([lo, hi]) {
  return { requests: 0, errors: 0, users: 0, latency: new LatencyCounts(lo, hi), lastData: -1 };
}

/**
 * The bounds the stage's gates compare a quantile metric's treatment against,
 * as the metrics source computes them (`quantileBounds` in
 * packages/server/src/features/metrics/metrics-source.ts): absolute
 * thresholds, and the control's quantile plus the difference or times one
 * plus the relative difference.
 */
export function quantileBounds(stage, metric, controlValue) {
  const bounds = new Set();
  for (const g of stage.gates ?? []) {
    if (g.metric !== metric) continue;
    const { type, value } = g.condition;
    if (type === 'absolute') bounds.add(value);
    else if (controlValue !== undefined && type === 'difference') bounds.add(controlValue + value);
    else if (controlValue !== undefined && type === 'relative' && controlValue > 0) bounds.add(controlValue * (1 + value / 100));
  }
  for (const m of stage.matrices ?? []) if (m.metric === metric) for (const band of m.bands) if (band.below !== undefined) bounds.add(band.below);
  return [...bounds].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
}

const P95 = 'response-time-p95';
const P95_LEVEL = quantileLevelOf(metricDefinition(P95));

/**
 * One simulated canary stage: call `step()` once per minute, then read the
 * minute (`minute`), the stage totals (`treatment`, `control`) or the
 * observations the metrics source would pass (`observations()`).
 */
export class Simulation {
  /**
   * @param scenario one of SCENARIOS
   * @param seed the run's seed (see mixSeed)
   * @param stage the stage whose gates the observations serve (for the quantile bounds)
   */
  constructor(scenario, seed, stage = CANARY_STAGE) {
    this.scenario = scenario;
    this.stage = stage;
    this.random = createRandom(seed);
    /** Time of day the stage starts, in hours (uniform over the day). */
    this.startHour = this.random.uniform() * 24;
    this.stageStartedAt = STAGE_DAY + Math.round(this.startHour * 60) * MINUTE_MS;
    this.state = Object.freeze({ status: 'running', stageIndex: 0, stageStartedAt: this.stageStartedAt, startedAt: this.stageStartedAt, startedBy: 'bench' });
    this.onsetMinute = scenario.onsetMinute ?? 0;
    this.treatment = emptyCohort(TREATMENT_BUCKETS);
    this.control = emptyCohort(CONTROL_BUCKETS);
    /** Minutes simulated so far (the tick after minute m sees m + 1). */
    this.elapsed = 0;
    /** Every canary user so far, including users an SRM bug hides, per minute (cumulative). */
    this.exposedUsers = [0];
    /** The last minute: observed requests and errors per cohort. */
    this.minute = { treatment: { requests: 0, errors: 0 }, control: { requests: 0, errors: 0 } };
    /** The newest per-minute intervals of the error rate (enough for the longest sustained window). */
    this.series = [];
    this.seriesLength = 61;
    this.cached = undefined;
    /** The same minutes for the data-loss count (always 0). */
    this.dataLossSeries = [];
  }

  /** Traffic multiplier of the daily shape at the middle of minute m. */
  shapeAt(m) {
    const hour = this.startHour + (m + 0.5) / 60;
    return 1 + TRAFFIC.dailyAmplitude * Math.cos((2 * Math.PI * (hour - TRAFFIC.peakHour)) / 24);
  }

  /** Simulates the next minute. */
  step() {
    const m = this.elapsed;
    const s = this.scenario;
    const r = this.random;
    const totalRequests = (TRAFFIC.canaryRequestsPerMinute / TRAFFIC.canaryShare) * (s.trafficFactor ?? 1) * this.shapeAt(m);
    // Users arrive as a Poisson stream split 10/90 (Poisson thinning), each making 1 + Poisson(3) requests.
    const usersT = r.poisson((totalRequests * TRAFFIC.canaryShare) / TRAFFIC.requestsPerUser);
    const usersC = r.poisson((totalRequests * (1 - TRAFFIC.canaryShare)) / TRAFFIC.requestsPerUser);
    const lost = s.lostTreatmentShare ? r.binomial(usersT, s.lostTreatmentShare) : 0;
    const seenT = usersT - lost;
    const extra = TRAFFIC.requestsPerUser - 1;
    const requestsT = seenT + r.poisson(extra * seenT);
    const requestsC = usersC + r.poisson(extra * usersC);
    const effect = effectAt(s, m);
    const errorsT = r.binomial(requestsT, Math.min(1, TRAFFIC.baseErrorRate * effect.error));
    const errorsC = r.binomial(requestsC, TRAFFIC.baseErrorRate);
    const out = s.outage !== undefined && m >= s.outage.fromMinute && m < s.outage.toMinute;
    this.exposedUsers.push(this.exposedUsers[m] + usersT);
    this.elapsed = m + 1;
    this.cached = undefined;
    if (out) {
      // The metrics pipeline is down: traffic goes on, nothing is recorded.
      this.minute = { treatment: { requests: 0, errors: 0 }, control: { requests: 0, errors: 0 } };
      return;
    }
    this.minute = { treatment: { requests: requestsT, errors: errorsT }, control: { requests: requestsC, errors: errorsC } };
    this.record(this.treatment, m, seenT, requestsT, errorsT);
    this.record(this.control, m, usersC, requestsC, errorsC);
    // Treatment latencies one by one (their multiplier may change minute to minute).
    const mu = Math.log(TRAFFIC.latencyMedianMs * effect.latency);
    for (let i = 0; i < requestsT; i++) this.treatment.latency.add(Math.ceil((mu + TRAFFIC.latencySigma * r.normal()) / LOG_GAMMA));
    // Control latencies per bucket around the p95: a multinomial as a chain of conditional binomials.
    const c = this.control.latency;
    let n = requestsC;
    let previous = n;
    for (let k = 0; k < CONTROL_CHAIN.length; k++) {
      n = n > 0 ? r.binomial(n, CONTROL_CHAIN[k]) : 0;
      c.add(c.lo + k, previous - n);
      previous = n;
    }
    c.add(c.hi, n);
    if (requestsT > 0 || requestsC > 0) {
      const start = this.stageStartedAt + m * MINUTE_MS;
      const interval = { start, end: start + MINUTE_MS };
      if (requestsT > 0) interval.treatment = { value: (errorsT / requestsT) * 100, samples: requestsT };
      if (requestsC > 0) interval.control = { value: (errorsC / requestsC) * 100, samples: requestsC };
      this.series.push(interval);
      if (this.series.length > this.seriesLength) this.series.shift();
      const zero = { start, end: start + MINUTE_MS };
      if (requestsT > 0) zero.treatment = { value: 0, samples: requestsT };
      if (requestsC > 0) zero.control = { value: 0, samples: requestsC };
      this.dataLossSeries.push(zero);
      if (this.dataLossSeries.length > this.seriesLength) this.dataLossSeries.shift();
    }
  }

  record(cohort, m, users, requests, errors) {
    cohort.users += users;
    cohort.requests += requests;
    cohort.errors += errors;
    if (requests > 0) cohort.lastData = m;
  }

  /** Canary users who met the bad version from its onset through the last simulated minute. */
  exposedSinceOnset() {
    const from = Math.min(this.onsetMinute, this.elapsed);
    return this.exposedUsers[this.elapsed] - this.exposedUsers[from];
  }

  /** Epoch ms of the current tick (the end of the last simulated minute). */
  get now() {
    return this.stageStartedAt + this.elapsed * MINUTE_MS;
  }

  /**
   * What the metrics source passes the guard at this tick: per metric the
   * stage aggregates (the p95 with counts above the gates' bounds, at the
   * edges of the 1% buckets holding them), the per-minute series of the
   * metrics read from sums (their last hour: the longest sustained window),
   * and the assignments. A cohort without requests so far is absent. During
   * an outage the totals stop growing, as the stored rows do.
   */
  observations() {
    if (this.cached !== undefined) return this.cached;
    const t = this.treatment.requests > 0 ? this.treatment : undefined;
    const c = this.control.requests > 0 ? this.control : undefined;
    const controlP95 = c && c.latency.quantile(P95_LEVEL);
    let exceeding;
    if (t !== undefined) {
      const byBound = new Map();
      for (const b of quantileBounds(this.stage, P95, controlP95)) for (const e of t.latency.exceedingAround(b)) byBound.set(e.bound, e.count);
      exceeding = [...byBound].sort((a, b) => a[0] - b[0]).map(([bound, count]) => ({ bound, count }));
    }
    const metrics = {
      'error-rate': {
        treatment: t && { value: (t.errors / t.requests) * 100, samples: t.requests },
        control: c && { value: (c.errors / c.requests) * 100, samples: c.requests },
        series: this.series.slice(),
      },
      [P95]: {
        treatment: t && { value: t.latency.quantile(P95_LEVEL), samples: t.requests, exceeding },
        control: c && { value: controlP95, samples: c.requests },
      },
      'data-loss-events': {
        treatment: t && { value: 0, samples: t.requests },
        control: c && { value: 0, samples: c.requests },
        series: this.dataLossSeries.slice(),
      },
    };
    this.cached = { metrics, assignments: { treatment: this.treatment.users, control: this.control.users } };
    return this.cached;
  }
}

// ------------------------------------------------------------------ guards

/**
 * What a guard did: `rollback` (rollback or disable), `escalate` (an alert
 * asks a person), `hold` (a hold only a person can lift, e.g. the SRM check),
 * `timeout` (the stage's maximum duration ran out, a hold for a person),
 * `advance`, or `none` (still running when the simulation ended).
 */
export const OUTCOME_KINDS = Object.freeze(['rollback', 'escalate', 'hold', 'timeout', 'advance', 'none']);

/**
 * Rollgate's decision for one tick: core's `guardedDecide` on `plan` with
 * `guard` options, exactly as the controller calls it. The last decision is
 * remembered with its observations object, so guards sharing an evaluator
 * decide once per tick while they see the same data.
 *
 * @example
 * const evaluate = rollgateEvaluator({ guard: RECOMMENDED_GUARD_OPTIONS });
 */
export function rollgateEvaluator({ plan = CANARY_PLAN, guard = RECOMMENDED_GUARD_OPTIONS } = {}) {
  // The last decision and what it was made from (a WeakMap would cost every scavenge its ephemerons).
  let last;
  let decision;
  return (sim, observations) => {
    if (observations !== last) {
      decision = guardedDecide(plan, sim.state, observations, sim.now, guard);
      last = observations;
    }
    return decision;
  };
}

/**
 * The evaluator of `guard` without its `staleAfterMs`, the guard the
 * metrics source's stale totals would get. While core's `withoutStaleData`
 * finds nothing stale it returns `evaluate`'s decision (exact: guardedDecide
 * then decides on the very same observations), so the two decide once a tick.
 *
 * @example
 * const stale = withoutStaleRule(evaluate, { guard: RECOMMENDED_GUARD_OPTIONS });
 */
export function withoutStaleRule(evaluate, { plan = CANARY_PLAN, guard = RECOMMENDED_GUARD_OPTIONS } = {}) {
  const { staleAfterMs, ...rest } = guard;
  const own = rollgateEvaluator({ plan, guard: rest });
  return (sim, observations) =>
    staleAfterMs === undefined || withoutStaleData(observations, sim.now, staleAfterMs) !== observations ? own(sim, observations) : evaluate(sim, observations);
}

/**
 * Rollgate's guard: every minute, the evaluator's decision (see
 * rollgateEvaluator) on the observations the controller would pass.
 *
 * @example
 * const guard = rollgateGuard({ guard: RECOMMENDED_GUARD_OPTIONS });
 */
export function rollgateGuard({ name = 'rollgate', evaluate, plan, guard } = {}) {
  const evaluator = evaluate ?? rollgateEvaluator({ plan, guard });
  return {
    name,
    create() {
      return {
        step(sim) {
          const decision = evaluator(sim, sim.observations());
          switch (decision.kind) {
            case 'rollback':
            case 'disable':
              return { kind: 'rollback', trigger: decision.trigger ?? decision.kind };
            case 'escalate':
              return { kind: 'escalate', trigger: decision.gateIds.join('+') };
            case 'hold':
              if (!decision.requiresPerson) return undefined;
              return { kind: decision.trigger === 'maxDuration' ? 'timeout' : 'hold', trigger: decision.trigger ?? 'hold' };
            case 'advance':
            case 'complete':
            case 'await_approval':
              return { kind: 'advance', trigger: decision.kind };
            default:
              return undefined;
          }
        },
      };
    },
  };
}

/**
 * A fixed-threshold rule on the canary's error rate: roll back when it is
 * above `limitPercent` in `consecutive` checks in a row, read over the last
 * minute (`window: 'minute'`) or over the stage so far (`'stage'`); a check
 * without requests in the window is not a breach and ends a streak. Without a
 * breach the stage advances on its timer, after `advanceAfterMinutes`.
 *
 * @example
 * thresholdGuard({ name: 'error > 2%, 3 checks', limitPercent: 2, consecutive: 3 });
 */
export function thresholdGuard({ name, limitPercent, consecutive = 1, window = 'minute', advanceAfterMinutes = CANARY_STAGE.minDuration / MINUTE_MS }) {
  return {
    name,
    create() {
      let streak = 0;
      return {
        step(sim) {
          const { requests, errors } = window === 'minute' ? sim.minute.treatment : sim.treatment;
          streak = requests > 0 && (errors / requests) * 100 > limitPercent ? streak + 1 : 0;
          if (streak >= consecutive) return { kind: 'rollback', trigger: name };
          if (sim.elapsed >= advanceAfterMinutes) return { kind: 'advance', trigger: 'timer' };
          return undefined;
        },
      };
    },
  };
}

/**
 * Runs every guard over one simulated stage (run `index` of `scenario`),
 * minute by minute, until each has acted or `maxMinutes` have passed.
 * Returns one outcome per guard: what it did, at which elapsed minute, and
 * how many canary users met the bad version from its onset until then.
 *
 * @example
 * simulateRun(scenarioByName('error-x2'), 0, [rollgateGuard()]);
 * // [{ guard: 'rollgate', kind: 'rollback', trigger: 'canary-error-rate', minute: 9, exposed: 470, ... }]
 */
export function simulateRun(scenario, index, guards, { seed = BASE_SEED, maxMinutes = 2 * DAY, stage = CANARY_STAGE } = {}) {
  const sim = new Simulation(scenario, mixSeed(seed, index), stage);
  const running = guards.map((g) => ({ guard: g, instance: g.create(), outcome: undefined }));
  let left = running.length;
  while (left > 0 && sim.elapsed < maxMinutes) {
    sim.step();
    for (const r of running) {
      if (r.outcome !== undefined) continue;
      const acted = r.instance.step(sim);
      if (acted === undefined) continue;
      r.outcome = { guard: r.guard.name, ...acted, minute: sim.elapsed, exposed: sim.exposedSinceOnset() };
      left--;
    }
  }
  return running.map((r) => ({
    ...(r.outcome ?? { guard: r.guard.name, kind: 'none', trigger: 'end of simulation', minute: sim.elapsed, exposed: sim.exposedSinceOnset() }),
    onsetMinute: sim.onsetMinute,
    startHour: sim.startHour,
    canaryRateAtOnset: TRAFFIC.canaryRequestsPerMinute * (scenario.trafficFactor ?? 1) * sim.shapeAt(sim.onsetMinute),
  }));
}
