/**
 * @rollgate/core: the pure domain of Rollgate. No I/O, no dependencies; time
 * and randomness are parameters.
 */
export type * from './types.js';
export { evaluate, type EvaluateOptions } from './evaluate.js';
export { compileSnapshot, isCompiledSnapshot, UNLEASH_VARIANT_SEED, type CompileOptions, type CompiledSnapshot, type CompiledFlag, type CompiledServe } from './compile.js';
export { compileCondition, type Matcher } from './conditions.js';
export { murmur3, murmur3CharCodes, murmur3Prefix, murmur3Continue, type HashEncoding, type HashPrefix } from './murmur3.js';
export { bucket, unleashNormalizedHash } from './bucketing.js';
export {
  validateFlag,
  validateSegment,
  validateSnapshot,
  validateCondition,
  valueMatchesType,
  findPrerequisiteProblems,
  OPERATORS,
  BUCKETS,
  MAX_PREREQUISITE_DEPTH,
  type ValidationIssue,
  type ValidationOptions,
} from './validate.js';
export { checkRegexPattern, MAX_PATTERN_LENGTH, type RegexEngine, type CompiledRegex, type RegexPatternCheck } from './regex.js';
export type * from './rollouts/types.js';
export { METRIC_CATALOG, metricDefinition, quantileLevelOf } from './rollouts/metrics-catalog.js';
export { assessGate, GATE_ROLE_LABELS } from './rollouts/assess-gate.js';
export { assessMatrix, matrixBand, severerMatrixAction } from './rollouts/assess-matrix.js';
export { validatePlan, planWarnings, segmentsUsedBy, metricsReadBy, metricsObservedBy, APPROVER_ROLES, MAX_PLAN_DURATION_MS, type PlanValidationContext } from './rollouts/validate-plan.js';
export {
  PLAN_TEMPLATES,
  SEED_000_GRADUAL_PRODUCTION_ROLLOUT,
  SEED_001_STAGED_ROLLOUT,
  SEED_002_PHASED_ROLLOUT,
  SEED_002_AB_EXPERIMENT,
  SEED_003_GRADUAL_ROLLOUT,
  SEED_004_PRE_DEPLOYMENT_CHECKLIST,
} from './rollouts/templates.js';
export { decide, rolloutStatus, monitoringTexts, type DecideOptions } from './rollouts/decide.js';
export { normalCdf, normalPdf, normalQuantile, normalSurvival } from './stats/normal.js';
export {
  optimalMixingRatio,
  mixingRatio,
  effectiveSamples,
  logMixtureLikelihoodRatio,
  mixtureLikelihoodRatio,
  alwaysValidPValue,
  boundaryZSquared,
  confidenceSequence,
  sequentialTest,
  proportionDifferenceTest,
  meanDifferenceTest,
  relativeDifferenceTest,
  shareTest,
  fixedHorizonZ,
  type SequentialTestResult,
  type SequentialTestOptions,
  type ProportionCounts,
  type MeanSummary,
} from './stats/msprt.js';
export { sequentialSrmTest, srmCheck, srmHold, preferSrmHold, logGamma, type SrmResult, type SrmOptions, type SrmCheckInput, type SrmHold } from './stats/srm.js';
export { sequentialGateAssessor, SEQUENTIAL_BURN_IN, type SequentialGateAssessorOptions } from './stats/gate-assessor.js';
export { guardedDecide, expectedTreatmentShare, groupSrmCheck, withoutStaleData, type GuardOptions } from './stats/guard.js';
export { experimentOutcome, recordExperiments, stageVariation, withExperimentOutcome, type StageEnding } from './stats/experiment-decision.js';
export {
  analyzeExperiment,
  groupSrm,
  experimentMetrics,
  experimentWinner,
  type ExperimentOutcome,
  type ExperimentVerdict,
  type GroupComparison,
  type ExperimentMetricResult,
  type ExperimentResult,
  type ExperimentOptions,
} from './stats/experiment.js';
export {
  LogHistogram,
  LOG_HISTOGRAM_MIN_VALUE,
  DEFAULT_RELATIVE_ACCURACY,
  DEFAULT_MAX_BINS,
  type LogHistogramOptions,
  type Exceedance,
} from './metrics/log-histogram.js';
export { HyperLogLog, HLL_PRECISION, HLL_SPARSE_PRECISION, HLL_SPARSE_LIMIT } from './metrics/hyper-log-log.js';
