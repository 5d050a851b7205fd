/**
 * Domain types of staged rollouts: plans (reusable, versioned templates of
 * stages), the state of one running rollout, the observations the controller
 * passes in, and the decision `decide` returns. Nothing here knows HTTP or SQL;
 * API schemas in packages/contract map to and from these.
 *
 * Conventions that every field below follows:
 * - Times are epoch milliseconds and durations are milliseconds.
 * - Metric values are in their catalog unit (see `metrics-catalog.ts`);
 *   percentages are 0..100, never fractions, so "error rate < 1%" is
 *   `{ op: '<', value: 1 }`.
 */

import type { ExperimentOutcome } from '../stats/experiment.js';

// ---------------------------------------------------------------- metrics

/** How a metric is aggregated (DESIGN.md, Metrics). */
export type MetricKind = 'ratio' | 'mean' | 'quantile' | 'gauge' | 'count' | 'unique';

/** Which way is better; used to word reasons and to colour values. */
export type MetricDirection = 'lower' | 'higher';

/** Unit of a metric's values. `percent` is 0..100. */
export type MetricUnit = 'percent' | 'ms' | 'count' | 'score';

/** One entry of the metric catalog. */
export interface MetricDefinition {
  /** Stable key gates refer to, kebab-case, e.g. `error-rate`. */
  key: string;
  name: string;
  unit: MetricUnit;
  kind: MetricKind;
  /** Which direction is better. */
  direction: MetricDirection;
  /** Quantile metrics: the level read from their histograms, 0..1 (0.95 for a p95). */
  quantile?: number;
  description?: string;
}

// ---------------------------------------------------------------- plans

/**
 * Who a stage serves the new variation to: the union of the listed segments
 * and `percentage` percent of all other eligible contexts. Give at least one.
 * Segments usually carry forward (the internal team stays in when the pilot
 * starts), which is why they are a union and not a filter.
 */
export interface Audience {
  /** Segment keys (e.g. `internal-team`, `pilot-users`); they must exist in the project. */
  segments?: readonly string[];
  /** 0..100; a missing percentage means 0 (segments only). */
  percentage?: number;
}

/** The three roles a gate plays in the seeds' plans. */
export type GateRole =
  /** Must hold (over the stage, or a sustained window) for the stage to advance. */
  | 'success'
  /** When breached: notify, turn the rollout yellow and wait for a person's go/no-go. */
  | 'alert'
  /** When breached: act at once, even while the rollout is held. */
  | 'rollback';

/** Comparison operators of gate conditions. */
export type ComparisonOperator = '<' | '<=' | '>' | '>=';

/**
 * What a gate compares. For a success gate the condition is the criterion
 * ("error rate < 1%"); for alert and rollback gates it is the breach
 * ("error rate > 2%"), as the seeds write them.
 * - `absolute`: treatment value OP value.
 * - `difference`: (treatment - control) OP value, in the metric's unit.
 * - `relative`: (treatment - control) / |control| * 100 OP value, in percent
 *   ("performance degradation > 50%" is `relative > 50` on a latency metric).
 */
export interface GateCondition {
  type: 'absolute' | 'difference' | 'relative';
  op: ComparisonOperator;
  value: number;
}

/**
 * What to do when an alert or rollback gate is breached.
 * Defaults: alert -> `escalate`, rollback -> `rollback_zero`.
 */
export type BreachAction = 'hold' | 'rollback_previous' | 'rollback_zero' | 'disable' | 'escalate';

/** One metric check of a stage. */
export interface Gate {
  /** Unique within its stage; escalations and evidence refer to it. */
  id: string;
  /** A metric key of the catalog. */
  metric: string;
  role: GateRole;
  condition: GateCondition;
  /**
   * The condition must have held throughout this window (ms), measured on the
   * per-interval series of the current stage ("> 2% for 1 hour"). Without it,
   * the gate reads the aggregate over the whole current stage.
   */
  sustainedFor?: number;
  /** Alert and rollback gates only; success gates only block advancing. */
  onBreach?: BreachAction;
  /** Overrides the stage's `minSamples` for this gate. */
  minSamples?: number;
  /** Shown on the dashboard; the seed's wording, when the gate comes from one. */
  description?: string;
}

/** What a rollback-matrix band asks for. */
export type MatrixAction = 'continue' | 'monitor' | 'rollback' | 'disable';

/**
 * One band of a matrix. Bands are listed in ascending order of `below`; a
 * value falls in the first band whose `below` it is under, and the last band
 * (without `below`) takes everything else. So a boundary value belongs to the
 * band above it: with seed 003's matrix, exactly 0.5% rolls back.
 */
export interface MatrixBand {
  below?: number;
  action: MatrixAction;
  /** The seed's label ("Minor", "Major"...). */
  label?: string;
}

/**
 * A rollback matrix: bands of one metric (treatment cohort, aggregate over
 * the current stage) mapped to actions, plus "any occurrence" rules for count
 * metrics such as data-loss events, which act on a single event and so do not
 * wait for minimum samples.
 */
export interface RollbackMatrix {
  id: string;
  metric: string;
  bands: readonly MatrixBand[];
  anyOccurrence?: readonly { metric: string; action: MatrixAction; label?: string }[];
  /** Where `rollback` goes; default `zero` (seed 003: "Immediate rollback to 0%"). */
  rollbackTo?: 'previous' | 'zero';
}

/** One go/no-go or pre-start item a person ticks. */
export interface ChecklistItem {
  /** Unique within the plan. */
  id: string;
  text: string;
  /** Default true; optional items ("if applicable") never block. */
  required?: boolean;
}

/** Roles of Rollgate users, lowest first; a higher role may approve for a lower one. */
export type ApproverRole = 'viewer' | 'editor' | 'approver' | 'admin';

/** How many distinct people with at least `role` must approve; the rollout's starter never counts. */
export interface ApprovalRequirement {
  count: number;
  role: ApproverRole;
}

/**
 * What a stage serves (and every later stage, until one says otherwise); give
 * exactly one of the two fields. Without any, stages serve the rollout's own
 * variation.
 */
export interface StageServe {
  /** That variation of the flag. */
  variation?: string;
  /**
   * The winning group of the experiment run by the stage with this id (an
   * earlier one); when its final analysis has no winner, the rollout waits
   * for a person to choose one of its groups.
   */
  experimentWinner?: string;
}

/** One stage of a plan. */
export interface Stage {
  /** Unique within the plan. */
  id: string;
  name: string;
  /** Environment key; default: the rollout's own (so a plan may go staging -> production). */
  environment?: string;
  audience: Audience;
  /** The stage never advances before this (ms); an advance request skips it. */
  minDuration: number;
  /** After this (ms) without advancing, `onTimeout` applies. */
  maxDuration?: number;
  /** Default `hold` (a person looks); `rollback` goes back to the previous stage. */
  onTimeout?: 'hold' | 'rollback';
  /** Samples each cohort needs before any gate gives a verdict; default 1. */
  minSamples?: number;
  gates?: readonly Gate[];
  matrices?: readonly RollbackMatrix[];
  /** Go/no-go checklist, ticked before the stage may advance. */
  checklist?: readonly ChecklistItem[];
  approvals?: ApprovalRequirement;
  /**
   * Run this stage's audience as an A/B experiment: the contexts in the
   * stage's percentage are split across the groups by weight, each group's
   * metrics are compared with the control group's, and the group sizes are
   * checked against the weights.
   */
  experiment?: Experiment;
  /** What this stage and later ones serve; see {@link StageServe}. */
  serve?: StageServe;
  description?: string;
}

/** One group of an experiment: a variation of the flag and its share of the stage's audience. */
export interface ExperimentGroup {
  variation: string;
  /** Thousandths of a percent of the audience (25,000 = 25%); a stage's weights sum to 100,000. */
  weight: number;
  /** The seed's name for the group ("Advanced model only"). */
  name?: string;
}

/** An A/B experiment run by one stage (seed 002's test groups). */
export interface Experiment {
  groups: readonly ExperimentGroup[];
  /** The variation of the group every other group is compared with. */
  control: string;
  /** Metrics compared per group; default the metrics the stage's gates and matrices read. */
  metrics?: readonly string[];
  /** Error rate of all comparisons together (Bonferroni over groups x metrics); default 0.05. */
  alpha?: number;
}

/** A reusable, versioned rollout plan of one project. */
export interface Plan {
  id: string;
  name: string;
  /** Increases on every change; a rollout records the version it runs. */
  version: number;
  description?: string;
  /** Where the plan's numbers come from (the templates name their seed). */
  source?: string;
  /** Ticked before the rollout may start (seed 004's pre-deployment checklist). */
  preStartChecklist?: readonly ChecklistItem[];
  stages: readonly Stage[];
}

// ---------------------------------------------------------------- rollout state

/**
 * `draft -> running <-> held -> awaiting_approval -> completed`, or
 * `rolled_back` / `aborted`. A rolled-back rollout can be restarted.
 */
export type RolloutStatus = 'draft' | 'running' | 'held' | 'awaiting_approval' | 'completed' | 'rolled_back' | 'aborted';

/** A ticked checklist item. Ticks made before the current stage started do not count for it. */
export interface ChecklistTick {
  itemId: string;
  by: string;
  at: number;
}

/** An approval or rejection of advancing the current stage. */
export interface ApprovalRecord {
  by: string;
  /** The person's name when they acted; reasons name people by it (falling back to `by`). */
  name?: string;
  /** The person's role when they acted. */
  role: ApproverRole;
  at: number;
  verdict: 'approve' | 'reject';
  comment?: string;
}

/** A person's answer to an escalation. */
export interface GoNoGo {
  verdict: 'go' | 'no_go';
  by: string;
  /** The person's name when they acted; reasons name people by it (falling back to `by`). */
  name?: string;
  at: number;
  comment?: string;
  /** What no-go does; default `rollback_zero` (seed 001's "manual rollback decision"). */
  action?: Exclude<BreachAction, 'escalate'>;
}

/** An escalation raised by alert gates, and the person's go/no-go once given. */
export interface Escalation {
  gateIds: readonly string[];
  raisedAt: number;
  decision?: GoNoGo;
}

/** A person asked to advance now. */
export interface AdvanceRequest {
  by: string;
  /** The person's name when they asked; reasons name people by it (falling back to `by`). */
  name?: string;
  role: ApproverRole;
  at: number;
  /**
   * Honoured only for admins: skips the remaining wait, unmet success
   * criteria, a pending escalation, the checklist and approvals. Never skips
   * rollback triggers, missing data or too few samples.
   */
  force?: boolean;
  /**
   * The variation the next stage serves, chosen by a person when that stage
   * serves an experiment's winner (one of the experiment's groups).
   */
  variation?: string;
}

/**
 * What the controller stores for one rollout. History for sustained windows is
 * not kept here: it comes from the observations. Records older than
 * `stageStartedAt` (ticks, approvals, escalations, requests) are ignored, so
 * the applier may leave them in place when a stage changes.
 */
export interface RolloutState {
  status: RolloutStatus;
  stageIndex: number;
  stageStartedAt: number;
  startedAt?: number;
  startedBy: string;
  /** The starter's name; reasons name people by it (falling back to `startedBy`). */
  startedByName?: string;
  checklist?: readonly ChecklistTick[];
  approvals?: readonly ApprovalRecord[];
  escalations?: readonly Escalation[];
  advanceRequest?: AdvanceRequest;
  heldBy?: string;
  /** The name of who held it (falling back to `heldBy`). */
  heldByName?: string;
  heldAt?: number;
  heldReason?: string;
  /**
   * Matrices whose monitor band the decision log has recorded, and when;
   * entries older than `stageStartedAt` are ignored.
   */
  monitored?: readonly { matrixId: string; at: number }[];
  /** Final analyses of the experiments of stages that ended, oldest first (one per stage; a rerun replaces it). */
  experiments?: readonly ExperimentRecord[];
  /** When a person last resumed; a resume acknowledges hold actions and a timeout of the current stage. */
  resumedAt?: number;
  lastDecisionAt?: number;
  planVersion?: number;
}

// ---------------------------------------------------------------- observations

/** The two cohorts: served the new variation, and eligible but not served. */
export type Cohort = 'treatment' | 'control';

/** An aggregate of one cohort: the value in the metric's unit and the samples behind it. */
export interface CohortAggregate {
  value: number;
  samples: number;
  /**
   * Mean metrics: the sample variance of the individual observations (unit
   * squared), from sums and sums of squares. Lets a statistical assessor test
   * means (Welch); without it comparative mean gates use point estimates.
   */
  variance?: number;
  /**
   * Quantile metrics: how many samples were above each bound (e.g. from
   * histogram buckets). Lets a statistical assessor test a quantile as the
   * share of samples above a bound.
   */
  exceeding?: readonly { bound: number; count: number }[];
  /**
   * Count metrics: no event was reported while the cohort had `samples`
   * exposures, so the value 0 is observed, not missing. Absent when events
   * were reported (then `samples` are the exposures too, or the reports when
   * the cohort has no exposures).
   */
  observedZero?: boolean;
}

/** One interval of a metric's series (e.g. one minute). */
export interface SeriesInterval {
  start: number;
  end: number;
  treatment?: CohortAggregate;
  control?: CohortAggregate;
}

/** What the controller knows of one metric for the current stage. */
export interface MetricObservation {
  /** Aggregate over the current stage. */
  treatment?: CohortAggregate;
  control?: CohortAggregate;
  /** Per-interval aggregates, covering at least the longest sustained window. */
  series?: readonly SeriesInterval[];
  /**
   * The treatment aggregate split by the variant served (an experiment
   * stage's groups), keyed by variant key. Absent outside experiments.
   */
  variants?: Readonly<Record<string, CohortAggregate>>;
}

/**
 * Distinct contexts assigned to each cohort during the current stage (from
 * exposures, counted once per context), the input of the sample-ratio check.
 * `variants` splits the treatment by variant key for an experiment stage.
 */
export interface Assignments {
  treatment: number;
  control: number;
  variants?: Readonly<Record<string, number>>;
}

/**
 * What SDKs reported they dropped (memory exhausted) for one cohort during
 * the current stage: that cohort's numbers are incomplete.
 */
export interface DroppedReport {
  exposures: number;
  /** Metric observations (`track` calls). */
  metrics: number;
  /** Start of the newest minute with a report (epoch ms). */
  lastAt: number;
}

/**
 * Which data a source read for the current stage: from `from` on, which is
 * `overlapMs` before the stage started when the stage's first partial minute
 * is counted whole (per-minute aggregates cannot be split).
 */
export interface DataWindow {
  from: number;
  overlapMs: number;
}

/** Observations per metric key. A metric with no entry has no data. */
export interface Observations {
  metrics: Readonly<Record<string, MetricObservation | undefined>>;
  /** Distinct contexts per cohort in the current stage; absent when the source cannot count them. */
  assignments?: Assignments;
  /** Reported drops per cohort in the current stage; a cohort without an entry reported none. */
  dropped?: Readonly<Partial<Record<Cohort, DroppedReport>>>;
  /** The data's window, when the source reads by minutes. */
  window?: DataWindow;
}

// ---------------------------------------------------------------- gate results

/**
 * `pass`: healthy (a success criterion met, an alert or rollback condition not
 * breached); `fail`: a criterion not met or a condition breached;
 * `inconclusive`: too few samples, or a window not yet long enough;
 * `no_data`: nothing observed for a needed cohort.
 */
export type GateVerdict = 'pass' | 'fail' | 'inconclusive' | 'no_data';

/** Why a verdict is inconclusive or no_data. */
export interface GateShortfall {
  cohort: Cohort;
  reason: 'no_data' | 'samples' | 'window';
  samples?: number;
  required?: number;
}

/**
 * The assessment of one gate. Self-describing so it can serve as evidence.
 * Point estimates fill `estimate`; a statistical assessor (sequential tests)
 * also fills `interval` and `pValue` without changing anything else.
 */
export interface GateResult {
  gateId: string;
  metric: string;
  role: GateRole;
  condition: GateCondition;
  sustainedFor?: number;
  verdict: GateVerdict;
  treatment?: CohortAggregate;
  control?: CohortAggregate;
  /** The compared quantity: treatment value, difference or relative difference (%). */
  estimate?: number;
  interval?: { lower: number; upper: number; level: number };
  pValue?: number;
  /** What `interval` and `pValue` are about when it is not `estimate` itself (a quantile gate tests a share above a bound). */
  tested?: string;
  /** The significance level the assessor used for this gate (after splitting the stage's alpha across its gates). */
  alpha?: number;
  /** For sustained gates: how long, up to the newest data, the condition has held. */
  heldFor?: number;
  shortfall?: GateShortfall;
  /** How the verdict was reached, e.g. `point-estimate`. */
  method: string;
  /** One sentence with numbers, for people. */
  summary: string;
}

/** Everything an assessor may read about one gate. */
export interface GateInput {
  observation: MetricObservation | undefined;
  /** Samples each needed cohort must have. */
  minSamples: number;
  stageStartedAt: number;
  now: number;
  /** Catalog entry of the gate's metric, when known (for units in summaries). */
  definition?: MetricDefinition;
}

/** Turns a gate and its observations into a result; `decide` takes one as an option. */
export type GateAssessor = (gate: Gate, input: GateInput) => GateResult;

/** The assessment of one rollback matrix. */
export interface MatrixResult {
  matrixId: string;
  metric: string;
  /** The action the matrix asks for (`continue` when nothing is wrong or nothing is known yet). */
  action: MatrixAction;
  verdict: 'band' | 'occurrence' | 'inconclusive' | 'no_data';
  treatment?: CohortAggregate;
  band?: MatrixBand;
  /** The band's thresholds: where it starts (the previous band's `below`) and where it ends (its own). */
  range?: { from?: number; below?: number };
  /** The any-occurrence metric that fired, if one did. */
  occurrence?: { metric: string; value: number };
  shortfall?: GateShortfall & { metric: string };
  summary: string;
}

// ---------------------------------------------------------------- decisions

/** Rollout health as the seeds' dashboards colour it. */
export type Health = 'green' | 'yellow' | 'red';

/** What a rollout is waiting for before it can move on. */
export type WaitingFor =
  | { kind: 'time'; remainingMs: number }
  | { kind: 'samples'; metric: string; cohort: Cohort; samples: number; required: number }
  | { kind: 'data'; metric: string; cohort: Cohort }
  | { kind: 'criteria'; gateIds: readonly string[] }
  | { kind: 'checklist'; itemIds: readonly string[] }
  | { kind: 'approval'; approvals: number; required: number; role: ApproverRole }
  | { kind: 'decision'; gateIds: readonly string[] }
  | { kind: 'resume' }
  | { kind: 'start' }
  /** A person must choose what the next stage serves: the experiment found no winner. */
  | { kind: 'variation'; stageId: string; choices: readonly string[] };

/** The numbers behind a decision. */
export interface Evidence {
  stage?: { index: number; id: string; name: string; elapsedMs: number; minDuration: number; maxDuration?: number };
  gates: readonly GateResult[];
  matrices: readonly MatrixResult[];
  /** What the data behind the gates covers (the guard fills it from the observations). */
  data?: DataEvidence;
  /** The stage's experiment analysed at this decision: its final analysis when the decision ends the stage. */
  experiment?: ExperimentOutcome;
}

/** The data behind a decision: its window, reported drops, and count metrics observed at zero. */
export interface DataEvidence {
  window?: DataWindow;
  dropped?: Readonly<Partial<Record<Cohort, DroppedReport>>>;
  /** Count metrics with exposures and no reported event: zero observed, not no data. */
  observedZero?: readonly { metric: string; cohort: Cohort; exposures: number }[];
}

/** An experiment's final analysis, kept with the rollout when its stage ended. */
export interface ExperimentRecord extends ExperimentOutcome {
  /** When the stage ended (epoch ms). */
  endedAt: number;
  /** The decision that ended it (`advance`, `rollback`, `complete`, a person's `abort`...). */
  endedBy: string;
  /** The variation later stages serve from it: the winner, or a person's choice. */
  chosen?: string;
  /** Who chose `chosen` when it is not the winner. */
  chosenBy?: string;
}

interface DecisionBase {
  /** A sentence a person reads on the dashboard, with numbers. */
  reason: string;
  evidence: Evidence;
  health: Health;
  waitingFor: readonly WaitingFor[];
}

/**
 * What the controller should do now. Applying it:
 * - `advance`: stage `toStage`, `stageStartedAt = now`, status running.
 * - `complete`: status completed (the last stage passed).
 * - `rollback` to `previous`: stage `toStage`, status running; to `zero`:
 *   audience off, status rolled_back.
 * - `disable`: the flag's kill switch off, status rolled_back.
 * - `escalate`: record an escalation for `gateIds` and notify people.
 * - `await_approval`: status awaiting_approval (checklist or approvals missing).
 * - `hold`: with `requiresPerson`, status held until a person resumes;
 *   without, stay running and look again next tick.
 * - `none`: nothing to change.
 */
export type Decision =
  /** `variation`: what the next stage serves, when the plan's `serve` resolves to one at this decision (an experiment's winner). */
  | (DecisionBase & { kind: 'advance'; toStage: number; forced: boolean; variation?: string })
  | (DecisionBase & { kind: 'complete'; forced: boolean })
  | (DecisionBase & { kind: 'rollback'; to: 'previous' | 'zero'; toStage: number | null; trigger?: string })
  | (DecisionBase & { kind: 'disable'; trigger?: string })
  | (DecisionBase & { kind: 'escalate'; gateIds: readonly string[] })
  | (DecisionBase & { kind: 'await_approval' })
  | (DecisionBase & { kind: 'hold'; requiresPerson: boolean; trigger?: string })
  | (DecisionBase & { kind: 'none' });

/** The kinds of decision. */
export type DecisionKind = Decision['kind'];

/** The seed 000 dashboard's "Current Status" fields. */
export interface RolloutSummary {
  status: RolloutStatus;
  health: Health;
  /** 1-based, as the dashboard counts phases. */
  phase: number;
  phases: number;
  stageName?: string;
  environment?: string;
  percentage: number;
  segments: readonly string[];
  startedAt?: number;
  /** UTC date `YYYY-MM-DD`. */
  startDate?: string;
  daysInPhase: number;
  waitingFor: readonly WaitingFor[];
  /** The decision's reason. */
  summary: string;
}
