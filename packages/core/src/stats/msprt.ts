/**
 * The normal-mixture sequential probability ratio test (mSPRT) of Johari,
 * Koomen, Pekelis and Walsh ("Always valid inference", 2017/2022), and its
 * confidence sequence (Howard, Ramdas, McAuliffe and Sekhon 2021). Gates are
 * checked every tick; a fixed-horizon z-test checked that often raises false
 * alarms far above its alpha, while these p-values and intervals stay valid at
 * every look. docs/statistics.md derives the formulas.
 *
 * Notation: an estimator theta_hat of a difference theta with (plug-in)
 * variance V; the test of theta = theta0 mixes the likelihood ratio over
 * theta ~ N(theta0, tau2):
 *
 *   Lambda = sqrt(V / (V + tau2)) * exp(tau2 (theta_hat - theta0)^2 / (2 V (V + tau2)))
 *
 * and p = min(1, 1 / Lambda). The mixing variance is tuned to the sample
 * expected at decision time and scaled with the data's own standard
 * deviation, so everything depends only on z = (theta_hat - theta0) / sqrt(V)
 * and rho = tau2 / V (see {@link mixingRatio}).
 */
import { normalQuantile, normalSurvival } from './normal.js';

/**
 * The optimal rho* = tau2 / V at the expected sample: the root of
 * rho = 2 ln(1/alpha) + ln(1 + rho), which minimizes the confidence
 * sequence's half-width there (docs/statistics.md).
 *
 * @example
 * optimalMixingRatio(0.05); // about 8.19
 */
export function optimalMixingRatio(alpha: number): number {
  const a = clampAlpha(alpha);
  const c = 2 * Math.log(1 / a);
  let rho = c + 1;
  // A contraction (derivative 1/(1+rho) < 1); 60 steps reach double precision.
  for (let i = 0; i < 60; i++) rho = c + Math.log1p(rho);
  return rho;
}

/**
 * rho = tau2 / V at the current sample, for a mixing variance tuned so the
 * confidence sequence is narrowest when the effective sample size reaches
 * `expectedEffectiveSamples`: tau2 = rho* * sigma^2 / n_expected, and since
 * V = sigma^2 / n_eff now, rho = rho* * n_eff / n_expected. Fixed before the
 * data (it depends on sample sizes only), as validity requires.
 *
 * @example
 * mixingRatio(5000, 5000, 0.05); // optimalMixingRatio(0.05), about 8.19
 */
export function mixingRatio(effectiveSamples: number, expectedEffectiveSamples: number, alpha: number): number {
  const n = Number.isFinite(effectiveSamples) && effectiveSamples > 0 ? effectiveSamples : 0;
  const m = Number.isFinite(expectedEffectiveSamples) && expectedEffectiveSamples > 0 ? expectedEffectiveSamples : 1;
  return (optimalMixingRatio(alpha) * n) / m;
}

/**
 * The effective sample size of a two-sample comparison, 1 / (1/n_t + 1/n_c):
 * the one-sample size with the same variance of a difference when both
 * cohorts share a variance. Half of n for a balanced split.
 *
 * @example
 * effectiveSamples(1000, 1000); // 500
 */
export function effectiveSamples(nTreatment: number, nControl: number): number {
  if (!(nTreatment > 0) || !(nControl > 0)) return 0;
  if (!Number.isFinite(nTreatment)) return Number.isFinite(nControl) ? nControl : Number.MAX_VALUE;
  if (!Number.isFinite(nControl)) return nTreatment;
  return 1 / (1 / nTreatment + 1 / nControl);
}

function clampAlpha(alpha: number): number {
  return Number.isFinite(alpha) && alpha > 0 ? Math.min(alpha, 0.5) : 0.05;
}

/**
 * ln Lambda, the log mixture likelihood ratio, from the z-score and rho = tau2 / V:
 * -ln(1 + rho) / 2 + rho z^2 / (2 (1 + rho)). Logs, because Lambda overflows
 * a double once z passes about 38.
 *
 * @example
 * logMixtureLikelihoodRatio(0, 8); // -1.0986 (= -ln(9)/2): no evidence against theta0
 */
export function logMixtureLikelihoodRatio(z: number, rho: number): number {
  if (!Number.isFinite(rho) || rho <= 0) return 0;
  const zz = Number.isFinite(z) ? z * z : Number.MAX_VALUE;
  return -0.5 * Math.log1p(rho) + (rho / (1 + rho)) * 0.5 * zz;
}

/**
 * The mixture likelihood ratio in the brief's form, from the estimate, its
 * variance V and the mixing variance tau2 (capped at Number.MAX_VALUE).
 *
 * @example
 * mixtureLikelihoodRatio(0.01, 0.003 ** 2, 8 * 0.003 ** 2); // about 46.5
 */
export function mixtureLikelihoodRatio(estimate: number, variance: number, tau2: number, nullValue = 0): number {
  if (!(variance > 0) || !(tau2 > 0)) return 1;
  const l = logMixtureLikelihoodRatio((estimate - nullValue) / Math.sqrt(variance), tau2 / variance);
  return Math.min(Math.exp(l), Number.MAX_VALUE);
}

/**
 * The always-valid p-value p_n = min(1, 1/Lambda_n, previous): pass the
 * previous tick's p to keep the running minimum (p_n = min over k <= n of
 * 1/Lambda_k), which is what Johari et al. define; without it the value
 * computed from the current aggregates alone still rejects exactly when the
 * running form first would, at any monitoring schedule, because the decision
 * acts on the first rejection.
 *
 * @example
 * alwaysValidPValue(Math.log(40));       // 0.025
 * alwaysValidPValue(Math.log(40), 0.01); // 0.01
 */
export function alwaysValidPValue(logLikelihoodRatio: number, previous?: number): number {
  const l = Number.isNaN(logLikelihoodRatio) ? 0 : logLikelihoodRatio;
  let p = Math.min(1, Math.exp(-l));
  if (typeof previous === 'number' && previous >= 0 && previous < p) p = previous;
  return p;
}

/**
 * The squared z boundary of the confidence sequence at rho = tau2 / V:
 * z^2 <= (1 + rho)/rho * (ln(1 + rho) + 2 ln(1/alpha)). Infinite when rho is 0
 * (no information yet).
 *
 * @example
 * Math.sqrt(boundaryZSquared(optimalMixingRatio(0.05), 0.05)); // about 3.03 (a fixed-horizon test needs 1.96)
 */
export function boundaryZSquared(rho: number, alpha: number): number {
  if (!Number.isFinite(rho) || rho <= 0) return Infinity;
  return ((1 + rho) / rho) * (Math.log1p(rho) + 2 * Math.log(1 / clampAlpha(alpha)));
}

/**
 * The always-valid confidence sequence for theta at level 1 - alpha:
 * theta_hat +- sqrt(V (V + tau2)/tau2 * (ln((V + tau2)/V) + 2 ln(1/alpha))).
 * With probability at least 1 - alpha it covers theta at every n at once.
 *
 * @example
 * confidenceSequence(0.01, 0.003 ** 2, 8 * 0.003 ** 2, 0.05); // { lower: 0.0009, upper: 0.0191 } roughly
 */
export function confidenceSequence(estimate: number, variance: number, tau2: number, alpha: number): { lower: number; upper: number } {
  if (!(variance > 0) || !(tau2 > 0) || !Number.isFinite(estimate)) return { lower: -Infinity, upper: Infinity };
  const half = Math.sqrt(variance * boundaryZSquared(tau2 / variance, alpha));
  return { lower: estimate - half, upper: estimate + half };
}

/** The result of one sequential look at a comparison. */
export interface SequentialTestResult {
  /** The estimate of the compared quantity. */
  estimate: number;
  /** Its variance used for the confidence sequence. */
  variance: number;
  /** The value tested (the gate's threshold). */
  nullValue: number;
  /** rho = tau2 / V at this look. */
  mixingRatio: number;
  /** ln Lambda of the test of nullValue. */
  logLikelihoodRatio: number;
  /** Always-valid p-value of the two-sided test of nullValue. */
  pValue: number;
  /** The confidence sequence at 1 - alpha; infinite bounds when there is no information. */
  lower: number;
  upper: number;
  alpha: number;
  /** Effective sample size behind the estimate. */
  effectiveSamples: number;
  /**
   * p <= alpha and the estimate above (`above`) or below (`below`) the null
   * value; `none` otherwise. A one-sided use of the two-sided test, so its
   * error rate is at most alpha.
   */
  rejects: 'above' | 'below' | 'none';
  /** The fixed-horizon z-test's p-value at this look, for contrast only: not valid under repeated looks. */
  naivePValue: number;
}

/** What every test takes besides its data. */
export interface SequentialTestOptions {
  /** Error rate over all looks; default 0.05. */
  alpha?: number;
  /** Effective samples (see {@link effectiveSamples}) at which the decision is expected; tunes tau2. Default 5000 (10,000 per cohort, balanced). */
  expectedEffectiveSamples?: number;
  /** The previous look's p-value, to carry the running minimum. */
  previousPValue?: number;
}

/**
 * One look of the mSPRT at `nullValue`, with the test's variance (`testVariance`,
 * e.g. pooled under the null) possibly different from the confidence sequence's.
 * Total: never throws, never NaN (degenerate inputs give p = 1 and an infinite interval).
 *
 * @example
 * const r = sequentialTest({ estimate: 0.01, variance: 1e-5, testVariance: 1e-5, nullValue: 0, effectiveSamples: 2500 });
 * r.rejects; // 'above' when p <= 0.05
 */
export function sequentialTest(input: {
  estimate: number;
  variance: number;
  testVariance?: number;
  nullValue: number;
  effectiveSamples: number;
  options?: SequentialTestOptions;
}): SequentialTestResult {
  const options = input.options ?? {};
  const alpha = clampAlpha(options.alpha ?? 0.05);
  const expected = options.expectedEffectiveSamples ?? 5000;
  const estimate = Number.isFinite(input.estimate) ? input.estimate : 0;
  const nullValue = Number.isFinite(input.nullValue) ? input.nullValue : 0;
  const neff = Number.isFinite(input.effectiveSamples) && input.effectiveSamples > 0 ? input.effectiveSamples : 0;
  const variance = Number.isFinite(input.variance) && input.variance > 0 ? input.variance : 0;
  const testVariance = Number.isFinite(input.testVariance) && (input.testVariance ?? 0) > 0 ? (input.testVariance as number) : variance;
  const rho = variance > 0 && Number.isFinite(input.estimate) ? mixingRatio(neff, expected, alpha) : 0;
  const z = testVariance > 0 ? (estimate - nullValue) / Math.sqrt(testVariance) : 0;
  const logLR = logMixtureLikelihoodRatio(z, rho);
  const pValue = alwaysValidPValue(logLR, options.previousPValue);
  const half = rho > 0 ? Math.sqrt(variance * boundaryZSquared(rho, alpha)) : Infinity;
  const rejects = pValue <= alpha && rho > 0 ? (estimate > nullValue ? 'above' : estimate < nullValue ? 'below' : 'none') : 'none';
  return {
    estimate,
    variance,
    nullValue,
    mixingRatio: rho,
    logLikelihoodRatio: logLR,
    pValue,
    lower: Number.isFinite(half) ? estimate - half : -Infinity,
    upper: Number.isFinite(half) ? estimate + half : Infinity,
    alpha,
    effectiveSamples: neff,
    rejects,
    naivePValue: testVariance > 0 ? Math.min(1, 2 * normalSurvival(Math.abs(z))) : 1,
  };
}

/** Counts of one cohort for a proportion: events out of samples. */
export interface ProportionCounts {
  events: number;
  samples: number;
}

/** Mean, sample variance and size of one cohort. */
export interface MeanSummary {
  mean: number;
  variance: number;
  samples: number;
}

function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * A proportion with one pseudo-event and one pseudo-non-event (Agresti-Coull
 * style) for variances only: with no events yet a plug-in variance of 0 would
 * make any difference look certain.
 */
function smoothed(events: number, samples: number): number {
  return (Math.min(count(events), count(samples)) + 1) / (count(samples) + 2);
}

/**
 * mSPRT of a difference of proportions p_t - p_c (e.g. error rates as
 * fractions) against `nullValue`: the pooled variance under the null for the
 * test when nullValue is 0, the unpooled one for the confidence sequence.
 *
 * @example
 * proportionDifferenceTest({ events: 200, samples: 10000 }, { events: 100, samples: 10000 }).rejects; // 'above'
 */
export function proportionDifferenceTest(treatment: ProportionCounts, control: ProportionCounts, nullValue = 0, options: SequentialTestOptions = {}): SequentialTestResult {
  const nt = count(treatment.samples);
  const nc = count(control.samples);
  const xt = Math.min(count(treatment.events), nt);
  const xc = Math.min(count(control.events), nc);
  const pt = nt > 0 ? xt / nt : 0;
  const pc = nc > 0 ? xc / nc : 0;
  const st = smoothed(xt, nt);
  const sc = smoothed(xc, nc);
  const unpooled = nt > 0 && nc > 0 ? (st * (1 - st)) / nt + (sc * (1 - sc)) / nc : 0;
  const pooledP = smoothed(xt + xc, nt + nc);
  const pooled = nt > 0 && nc > 0 ? pooledP * (1 - pooledP) * (1 / nt + 1 / nc) : 0;
  return sequentialTest({
    estimate: pt - pc,
    variance: unpooled,
    testVariance: nullValue === 0 ? pooled : unpooled,
    nullValue,
    effectiveSamples: effectiveSamples(nt, nc),
    options,
  });
}

/**
 * mSPRT of a difference of means m_t - m_c with Welch's variance
 * V = s_t^2/n_t + s_c^2/n_c, against `nullValue`.
 *
 * @example
 * meanDifferenceTest({ mean: 230, variance: 900, samples: 5000 }, { mean: 200, variance: 900, samples: 5000 }).rejects; // 'above'
 */
export function meanDifferenceTest(treatment: MeanSummary, control: MeanSummary, nullValue = 0, options: SequentialTestOptions = {}): SequentialTestResult {
  const nt = count(treatment.samples);
  const nc = count(control.samples);
  const v = nt > 0 && nc > 0 ? count(treatment.variance) / nt + count(control.variance) / nc : 0;
  return sequentialTest({ estimate: treatment.mean - control.mean, variance: v, nullValue, effectiveSamples: effectiveSamples(nt, nc), options });
}

/**
 * Test and confidence sequence of a relative difference r = m_t / m_c - 1
 * (in fractions, 0.5 for "+50%"), for means or proportions, with the
 * estimates' variances v_t, v_c. The test at r0 is the mSPRT of the linear
 * contrast D = m_t - (1 + r0) m_c against 0, with Var D = v_t + (1 + r0)^2 v_c:
 * exact in the estimates (no delta method) and D > 0 exactly when the ratio
 * exceeds 1 + r0 (for m_c > 0). The interval is the set of r0 the test does
 * not reject, a Fieller-type set: bounded only when the control is clearly
 * nonzero, otherwise infinite on one or both sides.
 *
 * @example
 * relativeDifferenceTest({ mean: 1.3, variance: 0.01 }, { mean: 1, variance: 0.01 }, 1000, 1000, 0.2).rejects; // 'above'
 */
export function relativeDifferenceTest(
  treatment: { mean: number; variance: number },
  control: { mean: number; variance: number },
  nTreatment: number,
  nControl: number,
  nullRelative: number,
  options: SequentialTestOptions = {},
): SequentialTestResult {
  const nt = count(nTreatment);
  const nc = count(nControl);
  const mt = Number.isFinite(treatment.mean) ? treatment.mean : 0;
  const mc = Number.isFinite(control.mean) ? control.mean : 0;
  const vt = count(treatment.variance);
  const vc = count(control.variance);
  const r0 = Number.isFinite(nullRelative) ? nullRelative : 0;
  const k = 1 + r0;
  const neff = effectiveSamples(nt, nc);
  const contrast = sequentialTest({ estimate: mt - k * mc, variance: vt + k * k * vc, nullValue: 0, effectiveSamples: neff, options });
  const estimate = mc !== 0 ? mt / mc - 1 : 0;
  // Fieller: the R = 1 + r with (m_t - R m_c)^2 <= c (v_t + R^2 v_c).
  const c = contrast.mixingRatio > 0 ? boundaryZSquared(contrast.mixingRatio, contrast.alpha) : Infinity;
  let lower = -Infinity;
  let upper = Infinity;
  const a = mc * mc - c * vc;
  if (Number.isFinite(c) && a > 0) {
    const b = mt * mc;
    const disc = b * b - a * (mt * mt - c * vt);
    if (disc >= 0) {
      const root = Math.sqrt(disc);
      const r1 = (b - root) / a - 1;
      const r2 = (b + root) / a - 1;
      if (Number.isFinite(r1) && Number.isFinite(r2)) {
        lower = Math.min(r1, r2);
        upper = Math.max(r1, r2);
      }
    }
  }
  // The contrast's direction is the ratio's when the control is positive, and flips when it is negative.
  const flip = mc < 0;
  const rejects = contrast.rejects === 'none' ? 'none' : (contrast.rejects === 'above') !== flip ? 'above' : 'below';
  return { ...contrast, estimate, nullValue: r0, lower, upper, rejects };
}

/**
 * One-sample mSPRT of a share (events / samples, e.g. the share of requests
 * slower than a bound) against a nominal share p0, with the null variance
 * p0 (1 - p0) / n for the test and the smoothed observed one for the
 * confidence sequence. "p95 above the bound" is "more than 5% above the
 * bound", so a quantile gate becomes a test of this share against 1 - q.
 *
 * @example
 * shareTest({ events: 700, samples: 10000 }, 0.05).rejects; // 'above'
 */
export function shareTest(counts: ProportionCounts, nominalShare: number, options: SequentialTestOptions = {}): SequentialTestResult {
  const n = count(counts.samples);
  const x = Math.min(count(counts.events), n);
  const p0 = Number.isFinite(nominalShare) ? Math.min(Math.max(nominalShare, 0), 1) : 0.5;
  const s = smoothed(x, n);
  const nullVar = p0 > 0 && p0 < 1 ? (p0 * (1 - p0)) / Math.max(n, 1) : (s * (1 - s)) / Math.max(n, 1);
  return sequentialTest({
    estimate: n > 0 ? x / n : 0,
    variance: n > 0 ? (s * (1 - s)) / n : 0,
    testVariance: nullVar,
    nullValue: p0,
    effectiveSamples: n,
    options,
  });
}

/**
 * The fixed-horizon z boundary, for comparison in docs and tests only.
 *
 * @example
 * fixedHorizonZ(0.05); // 1.959963984540054
 */
export function fixedHorizonZ(alpha: number): number {
  return -normalQuantile(clampAlpha(alpha) / 2);
}
