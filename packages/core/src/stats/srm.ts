/**
 * Sequential sample-ratio-mismatch (SRM) test: are the observed cohort sizes
 * consistent with the split the rollout asked for? When they are not, the
 * assignment itself is broken (a bucketing bug, a redirect that drops one
 * cohort, bots in one arm), and every comparison between the cohorts is
 * suspect, so the rollout holds and says "assignment problem".
 *
 * The test is the Dirichlet-multinomial Bayes factor of Lindon and Malek
 * ("Anytime-valid inference for multinomial count data", 2022): under the
 * null the counts are multinomial with the expected shares p0; the
 * alternative mixes over shares ~ Dirichlet(k * p0). The Bayes factor is a
 * nonnegative martingale under the null, so 1/BF is an always-valid p-value
 * and checking it every tick does not inflate false alarms.
 */
import type { Decision, Evidence } from '../rollouts/types.js';

// Lanczos approximation (g = 7, n = 9), relative error about 1e-15.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/**
 * ln Gamma(x) for x > 0.
 *
 * @example
 * logGamma(5); // ln(24) = 3.1780538303479458
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = LANCZOS[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The result of an SRM check. */
export interface SrmResult {
  /** The counts are inconsistent with the expected split at `alpha`. */
  mismatch: boolean;
  /** Always-valid p-value, min(1, 1/BF) (or the running minimum when a previous p is given). */
  pValue: number;
  /** ln of the Dirichlet-multinomial Bayes factor against the expected split. */
  logBayesFactor: number;
  /** The counts as given (non-finite or negative ones read as 0). */
  observed: readonly number[];
  /** The counts the split expects for the same total. */
  expected: readonly number[];
  /** Observed shares of the total. */
  observedShares: readonly number[];
  /** Expected shares (the weights normalized). */
  expectedShares: readonly number[];
  alpha: number;
}

/** Options of {@link sequentialSrmTest}. */
export interface SrmOptions {
  /** Default 0.001: an SRM hold stops a rollout, so it should almost never fire on a correct split. */
  alpha?: number;
  /**
   * Concentration k of the Dirichlet(k p0) mixture; default 1000. Larger k
   * concentrates the alternative near the expected split, which detects
   * small imbalances (a 10/90 split seen as 12/88) sooner at large n, at the
   * cost of gross imbalances at small n. Lindon and Malek discuss the choice.
   */
  concentration?: number;
  /** The previous check's p-value, to carry the running minimum. */
  previousPValue?: number;
}

function nonNegative(n: number): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Sequential SRM test of observed cohort counts against expected shares
 * (any positive weights, e.g. [10, 90]). Total: never throws, never NaN; with
 * no usable counts or weights it reports no mismatch and p = 1.
 *
 * @example
 * sequentialSrmTest([12_000, 88_000], [10, 90]).mismatch; // true
 * sequentialSrmTest([10_050, 89_950], [10, 90]).mismatch; // false
 */
export function sequentialSrmTest(observed: readonly number[], expectedWeights: readonly number[], options: SrmOptions = {}): SrmResult {
  const alpha = typeof options.alpha === 'number' && options.alpha > 0 && options.alpha < 1 ? options.alpha : 0.001;
  const k = typeof options.concentration === 'number' && Number.isFinite(options.concentration) && options.concentration > 0 ? options.concentration : 1000;
  const counts = Array.from(observed ?? [], nonNegative);
  const weights = Array.from(expectedWeights ?? [], nonNegative);
  const size = Math.min(counts.length, weights.length);
  const x = counts.slice(0, size);
  const w = weights.slice(0, size);
  const totalWeight = w.reduce((s, v) => s + v, 0);
  const n = x.reduce((s, v) => s + v, 0);
  const shares = totalWeight > 0 && Number.isFinite(totalWeight) ? w.map((v) => v / totalWeight) : w.map(() => 0);
  const result = (logBF: number): SrmResult => {
    const l = Number.isFinite(logBF) ? logBF : logBF > 0 ? 745 : 0;
    let p = Math.min(1, Math.exp(-l));
    if (typeof options.previousPValue === 'number' && options.previousPValue >= 0 && options.previousPValue < p) p = options.previousPValue;
    return {
      mismatch: p <= alpha,
      pValue: p,
      logBayesFactor: l,
      observed: x,
      // A total that overflows (counts near Number.MAX_VALUE) would make 0 * Infinity = NaN here.
      expected: shares.map((s) => (s > 0 && Number.isFinite(n) ? s * n : 0)),
      observedShares: x.map((v) => (n > 0 && Number.isFinite(n) ? v / n : 0)),
      expectedShares: shares,
      alpha,
    };
  };
  if (size < 2 || n === 0 || !(totalWeight > 0) || !Number.isFinite(totalWeight) || !Number.isFinite(n)) return result(0);
  // A cohort the split gives no share: any count there is an outright mismatch.
  for (let i = 0; i < size; i++) if ((shares[i] as number) === 0 && (x[i] as number) > 0) return result(Infinity);
  // ln BF = ln B(k p0 + x) - ln B(k p0) - sum x_i ln p0_i, with ln B(a) = sum ln Gamma(a_i) - ln Gamma(sum a_i).
  let logBF = logGamma(k) - logGamma(k + n);
  for (let i = 0; i < size; i++) {
    const p = shares[i] as number;
    const xi = x[i] as number;
    if (p === 0) continue;
    logBF += logGamma(k * p + xi) - logGamma(k * p) - xi * Math.log(p);
  }
  return result(logBF);
}

/** What {@link srmCheck} needs about the current stage. */
export interface SrmCheckInput {
  /** Contexts assigned to each cohort during the current stage (e.g. exposure counts). */
  treatment: number;
  control: number;
  /**
   * The share (0..1) of assigned contexts the split sends to treatment. For a
   * stage of only a percentage, `percentage / 100`; a stage with segments has
   * no fixed split, so leave it out there (the check is skipped).
   */
  expectedTreatmentShare: number | undefined;
}

/** A hold for an assignment problem, shaped like `decide`'s hold decision. */
export type SrmHold = Extract<Decision, { kind: 'hold' }> & { srm: SrmResult };

const EMPTY_EVIDENCE: Evidence = { gates: [], matrices: [] };

/** A share as a percent with one decimal: 0.123 -> `12.3%`. */
export function percent(x: number): string {
  return `${String(Math.round(x * 1000) / 10)}%`;
}

/**
 * The SRM check the controller runs before `decide` (decide's options take a
 * gate assessor, not a rollout-wide check, so this stays outside it). Returns
 * a hold that a person must resume when the cohort sizes do not match the
 * split, and undefined otherwise. Wiring: call `decide`; if it returns
 * `rollback` or `disable`, apply that (an absolute rollback trigger stays
 * credible); otherwise, if `srmCheck` returns a hold, apply the hold instead.
 * {@link preferSrmHold} does exactly that.
 *
 * @example
 * srmCheck({ treatment: 12_000, control: 88_000, expectedTreatmentShare: 0.1 })?.reason;
 * // 'Holding: assignment problem: the treatment cohort has 12% of 100000 assigned contexts where the split expects 10% ...'
 */
export function srmCheck(input: SrmCheckInput, options: SrmOptions = {}): SrmHold | undefined {
  const share = input?.expectedTreatmentShare;
  if (typeof share !== 'number' || !(share > 0) || !(share < 1)) return undefined;
  const srm = sequentialSrmTest([input.treatment, input.control], [share, 1 - share], options);
  if (!srm.mismatch) return undefined;
  const total = (srm.observed[0] ?? 0) + (srm.observed[1] ?? 0);
  return srmHold(
    srm,
    `the treatment cohort has ${percent(srm.observedShares[0] ?? 0)} of ${String(total)} assigned contexts where the split expects ${percent(share)}`,
    'cohorts',
  );
}

/**
 * The hold for a mismatch `srm` found: "Holding: assignment problem:
 * `what` (sequential SRM test p = ...); every comparison between the
 * `between` is suspect ...", for a person to resume.
 */
export function srmHold(srm: SrmResult, what: string, between: string): SrmHold {
  const p = srm.pValue < 1e-6 ? srm.pValue.toExponential(1) : String(Math.round(srm.pValue * 1e6) / 1e6);
  return {
    kind: 'hold',
    requiresPerson: true,
    trigger: 'srm',
    reason: `Holding: assignment problem: ${what} (sequential SRM test p = ${p} <= ${String(srm.alpha)}); every comparison between the ${between} is suspect until the assignment is fixed.`,
    evidence: EMPTY_EVIDENCE,
    health: 'yellow',
    waitingFor: [{ kind: 'resume' }],
    srm,
  };
}

/**
 * Combines `decide`'s decision with an SRM hold: rollback and disable win
 * (they act on the treatment's own numbers too), otherwise the hold does,
 * carrying decide's evidence.
 *
 * @example
 * const decision = preferSrmHold(decide(plan, state, obs, now), srmCheck(cohorts));
 */
export function preferSrmHold(decision: Decision, hold: SrmHold | undefined): Decision {
  if (hold === undefined || decision.kind === 'rollback' || decision.kind === 'disable') return decision;
  return { ...hold, evidence: decision.evidence };
}
