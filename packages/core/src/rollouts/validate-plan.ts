/**
 * Validation of rollout plans. The server calls it before saving a plan (a
 * refused plan is a 4xx listing these issues) and before starting a rollout,
 * with the project's metrics and segments. `decide` stays total on invalid
 * plans, but only validation says clearly what is wrong.
 */
import type { ValidationIssue } from '../validate.js';
import type { ApproverRole, BreachAction, ComparisonOperator, MatrixAction, Gate, Plan, Stage } from './types.js';
import { METRIC_CATALOG } from './metrics-catalog.js';
import { SEQUENTIAL_BURN_IN } from '../stats/gate-assessor.js';

/** The longest duration a plan may state (minDuration, maxDuration, sustainedFor): 365 days. */
export const MAX_PLAN_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

/** Roles that may be required for approvals, lowest first. */
export const APPROVER_ROLES: readonly ApproverRole[] = ['viewer', 'editor', 'approver', 'admin'];

const OPERATORS: readonly ComparisonOperator[] = ['<', '<=', '>', '>='];
const BREACH_ACTIONS: readonly BreachAction[] = ['hold', 'rollback_previous', 'rollback_zero', 'disable', 'escalate'];
const MATRIX_ACTIONS: readonly MatrixAction[] = ['continue', 'monitor', 'rollback', 'disable'];

/** What validation checks references against. */
export interface PlanValidationContext {
  /** Metric keys that exist; default: the built-in catalog's. */
  knownMetrics?: Iterable<string>;
  /** Segment keys that exist in the project; when omitted, segments are not checked. */
  knownSegments?: Iterable<string>;
  /** Environment keys of the project; when omitted, environments are not checked. */
  knownEnvironments?: Iterable<string>;
}

type Rec = Record<string, unknown>;

function isRecord(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

class Issues {
  readonly list: ValidationIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function quote(s: unknown): string {
  return JSON.stringify(s);
}

/** Checks a duration field; returns it when usable. */
function duration(issues: Issues, path: string, value: unknown, required: boolean): number | undefined {
  if (value === undefined) {
    if (required) issues.add(path, 'is required: a duration in milliseconds, 0 or more');
    return undefined;
  }
  if (!isFiniteNumber(value)) {
    issues.add(path, 'must be a duration in milliseconds (a finite number)');
    return undefined;
  }
  if (value < 0) {
    issues.add(path, `must not be negative (got ${value} ms)`);
    return undefined;
  }
  if (value > MAX_PLAN_DURATION_MS) {
    issues.add(path, `must be at most 365 days (${MAX_PLAN_DURATION_MS} ms); got ${value} ms`);
    return undefined;
  }
  return value;
}

function checkChecklist(issues: Issues, path: string, value: unknown, itemIds: Set<string>): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    issues.add(path, 'must be an array of {id, text, required?}');
    return;
  }
  value.forEach((item: unknown, i) => {
    const p = `${path}[${i}]`;
    if (!isRecord(item)) {
      issues.add(p, 'must be {id, text, required?}');
      return;
    }
    if (!isNonEmptyString(item.id)) issues.add(`${p}.id`, 'must be a non-empty string');
    else if (itemIds.has(item.id)) issues.add(`${p}.id`, `duplicate checklist item id ${quote(item.id)} (ids are unique within the plan)`);
    else itemIds.add(item.id);
    if (!isNonEmptyString(item.text)) issues.add(`${p}.text`, 'must be a non-empty string');
    if (item.required !== undefined && typeof item.required !== 'boolean') issues.add(`${p}.required`, 'must be a boolean');
  });
}

interface StageFacts {
  maxDuration: number | undefined;
  servesEveryone: boolean;
}

function checkGate(issues: Issues, p: string, gate: unknown, metrics: ReadonlySet<string>, facts: StageFacts, ids: Set<string>): void {
  if (!isRecord(gate)) {
    issues.add(p, 'must be {id, metric, role, condition, sustainedFor?, onBreach?}');
    return;
  }
  if (!isNonEmptyString(gate.id)) issues.add(`${p}.id`, 'must be a non-empty string');
  else if (ids.has(gate.id)) issues.add(`${p}.id`, `duplicate gate id ${quote(gate.id)} in this stage`);
  else ids.add(gate.id);
  if (gate.metric === undefined || gate.metric === '') issues.add(`${p}.metric`, 'a gate needs a metric');
  else if (typeof gate.metric !== 'string') issues.add(`${p}.metric`, 'must be a metric key');
  else if (!metrics.has(gate.metric)) issues.add(`${p}.metric`, `unknown metric ${quote(gate.metric)}`);
  const role = gate.role;
  if (role !== 'success' && role !== 'alert' && role !== 'rollback') issues.add(`${p}.role`, 'must be success, alert or rollback');
  const c = gate.condition;
  let comparative = false;
  if (!isRecord(c)) {
    issues.add(`${p}.condition`, 'must be {type, op, value}');
  } else {
    if (c.type !== 'absolute' && c.type !== 'difference' && c.type !== 'relative') {
      issues.add(`${p}.condition.type`, 'must be absolute, difference or relative');
    }
    comparative = c.type === 'difference' || c.type === 'relative';
    if (!OPERATORS.includes(c.op as ComparisonOperator)) issues.add(`${p}.condition.op`, `must be one of ${OPERATORS.join(' ')}`);
    if (!isFiniteNumber(c.value)) issues.add(`${p}.condition.value`, 'must be a finite number');
  }
  if (comparative && facts.servesEveryone) {
    issues.add(`${p}.condition.type`, 'compares with the control cohort, but this stage serves everyone: there is no control');
  }
  if (gate.sustainedFor !== undefined) {
    if (!isFiniteNumber(gate.sustainedFor) || gate.sustainedFor <= 0) {
      issues.add(`${p}.sustainedFor`, 'must be a positive duration in milliseconds');
    } else if (gate.sustainedFor > MAX_PLAN_DURATION_MS) {
      issues.add(`${p}.sustainedFor`, `must be at most 365 days (${MAX_PLAN_DURATION_MS} ms); got ${gate.sustainedFor} ms`);
    } else if (facts.maxDuration !== undefined && gate.sustainedFor > facts.maxDuration) {
      issues.add(`${p}.sustainedFor`, `the window (${gate.sustainedFor} ms) is longer than the stage's maxDuration (${facts.maxDuration} ms), so it could never be met`);
    }
  }
  if (gate.onBreach !== undefined) {
    if (!BREACH_ACTIONS.includes(gate.onBreach as BreachAction)) issues.add(`${p}.onBreach`, `must be one of ${BREACH_ACTIONS.join(', ')}`);
    else if (role === 'success') issues.add(`${p}.onBreach`, 'success criteria only block advancing; onBreach applies to alert and rollback gates');
  }
  if (gate.minSamples !== undefined && (!Number.isInteger(gate.minSamples) || (gate.minSamples as number) < 0)) {
    issues.add(`${p}.minSamples`, 'must be a whole number, 0 or more');
  }
}

function checkMatrix(issues: Issues, p: string, matrix: unknown, metrics: ReadonlySet<string>, ids: Set<string>): void {
  if (!isRecord(matrix)) {
    issues.add(p, 'must be {id, metric, bands, anyOccurrence?, rollbackTo?}');
    return;
  }
  if (!isNonEmptyString(matrix.id)) issues.add(`${p}.id`, 'must be a non-empty string');
  else if (ids.has(matrix.id)) issues.add(`${p}.id`, `duplicate id ${quote(matrix.id)} in this stage (gates and matrices share ids)`);
  else ids.add(matrix.id);
  if (!isNonEmptyString(matrix.metric)) issues.add(`${p}.metric`, 'a matrix needs a metric');
  else if (!metrics.has(matrix.metric)) issues.add(`${p}.metric`, `unknown metric ${quote(matrix.metric)}`);
  if (!Array.isArray(matrix.bands) || matrix.bands.length === 0) {
    issues.add(`${p}.bands`, 'must be a non-empty array of {below?, action}');
  } else {
    let previous: number | undefined;
    matrix.bands.forEach((band: unknown, i: number, all: unknown[]) => {
      const bp = `${p}.bands[${i}]`;
      if (!isRecord(band)) {
        issues.add(bp, 'must be {below?, action}');
        return;
      }
      if (!MATRIX_ACTIONS.includes(band.action as MatrixAction)) issues.add(`${bp}.action`, `must be one of ${MATRIX_ACTIONS.join(', ')}`);
      if (band.below === undefined) {
        if (i !== all.length - 1) issues.add(`${bp}.below`, 'only the last band may be open-ended');
        return;
      }
      if (!isFiniteNumber(band.below)) {
        issues.add(`${bp}.below`, 'must be a finite number');
        return;
      }
      if (previous !== undefined && band.below <= previous) {
        issues.add(`${bp}.below`, `bands must be in ascending order: ${band.below} does not come after ${previous}`);
      }
      previous = band.below;
    });
  }
  if (matrix.anyOccurrence !== undefined) {
    if (!Array.isArray(matrix.anyOccurrence)) issues.add(`${p}.anyOccurrence`, 'must be an array of {metric, action}');
    else
      matrix.anyOccurrence.forEach((rule: unknown, i: number) => {
        const rp = `${p}.anyOccurrence[${i}]`;
        if (!isRecord(rule)) {
          issues.add(rp, 'must be {metric, action}');
          return;
        }
        if (!isNonEmptyString(rule.metric)) issues.add(`${rp}.metric`, 'needs a metric');
        else if (!metrics.has(rule.metric)) issues.add(`${rp}.metric`, `unknown metric ${quote(rule.metric)}`);
        if (!MATRIX_ACTIONS.includes(rule.action as MatrixAction)) issues.add(`${rp}.action`, `must be one of ${MATRIX_ACTIONS.join(', ')}`);
      });
  }
  if (matrix.rollbackTo !== undefined && matrix.rollbackTo !== 'previous' && matrix.rollbackTo !== 'zero') {
    issues.add(`${p}.rollbackTo`, 'must be previous or zero');
  }
}

/**
 * Validates a plan. Returns every issue found, each located by a path such as
 * `stages[1].gates[0].metric`; an empty list means the plan is valid.
 *
 * @example
 * validatePlan(
 *   { id: 'p', name: 'P', version: 1, stages: [
 *     { id: 'a', name: 'A', audience: { percentage: 50 }, minDuration: 0 },
 *     { id: 'b', name: 'B', audience: { percentage: 25 }, minDuration: 0 },
 *   ] },
 *   { knownSegments: [] },
 * );
 * // [{ path: 'stages[1].audience.percentage', message: '25% is lower than the 50% of stage "a" before it in the same environment; ...' }]
 */
export function validatePlan(plan: unknown, context: PlanValidationContext = {}): ValidationIssue[] {
  const issues = new Issues();
  const metrics: ReadonlySet<string> = new Set(context.knownMetrics ?? METRIC_CATALOG.map((m) => m.key));
  const segments: ReadonlySet<string> | undefined = context.knownSegments ? new Set(context.knownSegments) : undefined;
  const environments: ReadonlySet<string> | undefined = context.knownEnvironments ? new Set(context.knownEnvironments) : undefined;
  if (!isRecord(plan)) {
    issues.add('', 'a plan must be an object {id, name, version, stages}');
    return issues.list;
  }
  if (!isNonEmptyString(plan.id)) issues.add('id', 'must be a non-empty string');
  if (!isNonEmptyString(plan.name)) issues.add('name', 'must be a non-empty string');
  if (!Number.isInteger(plan.version) || (plan.version as number) < 1) issues.add('version', 'must be a whole number, 1 or more');
  const itemIds = new Set<string>();
  checkChecklist(issues, 'preStartChecklist', plan.preStartChecklist, itemIds);
  if (!Array.isArray(plan.stages) || plan.stages.length === 0) {
    issues.add('stages', 'must be a non-empty array of stages');
    return issues.list;
  }
  const stageIds = new Set<string>();
  // Highest percentage so far per environment ('' = the rollout's own).
  const lastPercentage = new Map<string, { percentage: number; stage: string }>();
  plan.stages.forEach((stage: unknown, i: number) => {
    const p = `stages[${i}]`;
    if (!isRecord(stage)) {
      issues.add(p, 'must be a stage object');
      return;
    }
    if (!isNonEmptyString(stage.id)) issues.add(`${p}.id`, 'must be a non-empty string');
    else if (stageIds.has(stage.id)) issues.add(`${p}.id`, `duplicate stage id ${quote(stage.id)}`);
    else stageIds.add(stage.id);
    if (!isNonEmptyString(stage.name)) issues.add(`${p}.name`, 'must be a non-empty string');
    let environment = '';
    if (stage.environment !== undefined) {
      if (!isNonEmptyString(stage.environment)) issues.add(`${p}.environment`, 'must be a non-empty string (or omitted for the rollout\'s own)');
      else {
        environment = stage.environment;
        if (environments && !environments.has(environment)) issues.add(`${p}.environment`, `unknown environment ${quote(environment)}`);
      }
    }

    let servesEveryone = false;
    const a = stage.audience;
    if (!isRecord(a)) {
      issues.add(`${p}.audience`, 'must be {segments?, percentage?}');
    } else {
      const hasSegments = Array.isArray(a.segments) && a.segments.length > 0;
      if (a.segments !== undefined) {
        if (!Array.isArray(a.segments)) issues.add(`${p}.audience.segments`, 'must be an array of segment keys');
        else
          a.segments.forEach((s: unknown, j: number) => {
            if (!isNonEmptyString(s)) issues.add(`${p}.audience.segments[${j}]`, 'must be a segment key');
            else if (segments && !segments.has(s)) {
              issues.add(`${p}.audience.segments[${j}]`, `unknown segment ${quote(s)}: create it in the project first`);
            }
          });
      }
      if (a.percentage === undefined && !hasSegments) {
        issues.add(`${p}.audience`, 'a stage needs segments, a percentage, or both');
      }
      if (a.percentage !== undefined && (!isFiniteNumber(a.percentage) || a.percentage < 0 || a.percentage > 100)) {
        issues.add(`${p}.audience.percentage`, `must be a number from 0 to 100 (got ${quote(a.percentage)})`);
      } else {
        const percentage = (a.percentage as number | undefined) ?? 0;
        servesEveryone = percentage === 100;
        const before = lastPercentage.get(environment);
        if (before && percentage < before.percentage) {
          issues.add(
            `${p}.audience.${a.percentage === undefined ? 'segments' : 'percentage'}`,
            `${percentage}% is lower than the ${before.percentage}% of stage ${quote(before.stage)} before it in the same environment; percentages may not go backwards`,
          );
        } else {
          lastPercentage.set(environment, { percentage, stage: String(stage.id) });
        }
      }
    }

    const min = duration(issues, `${p}.minDuration`, stage.minDuration, true);
    const max = duration(issues, `${p}.maxDuration`, stage.maxDuration, false);
    if (max !== undefined && max === 0) issues.add(`${p}.maxDuration`, 'must be more than 0');
    if (min !== undefined && max !== undefined && min > max) {
      issues.add(`${p}.minDuration`, `the minimum duration (${min} ms) is longer than the maximum (${max} ms)`);
    }
    if (stage.onTimeout !== undefined) {
      if (stage.onTimeout !== 'hold' && stage.onTimeout !== 'rollback') issues.add(`${p}.onTimeout`, 'must be hold or rollback');
      else if (stage.maxDuration === undefined) issues.add(`${p}.onTimeout`, 'needs a maxDuration to time out after');
    }
    if (stage.minSamples !== undefined && (!Number.isInteger(stage.minSamples) || (stage.minSamples as number) < 0)) {
      issues.add(`${p}.minSamples`, 'must be a whole number, 0 or more');
    }

    const facts: StageFacts = { maxDuration: max, servesEveryone };
    const ids = new Set<string>();
    if (stage.gates !== undefined) {
      if (!Array.isArray(stage.gates)) issues.add(`${p}.gates`, 'must be an array of gates');
      else stage.gates.forEach((g: unknown, j: number) => checkGate(issues, `${p}.gates[${j}]`, g, metrics, facts, ids));
    }
    if (stage.matrices !== undefined) {
      if (!Array.isArray(stage.matrices)) issues.add(`${p}.matrices`, 'must be an array of rollback matrices');
      else stage.matrices.forEach((m: unknown, j: number) => checkMatrix(issues, `${p}.matrices[${j}]`, m, metrics, ids));
    }
    checkChecklist(issues, `${p}.checklist`, stage.checklist, itemIds);
    if (stage.experiment !== undefined) checkExperiment(issues, `${p}.experiment`, stage.experiment, stage.audience, metrics);
    if (stage.serve !== undefined) checkServe(issues, `${p}.serve`, stage.serve, (plan.stages as unknown[]).slice(0, i));
    if (stage.approvals !== undefined) {
      const ap = stage.approvals;
      if (!isRecord(ap)) issues.add(`${p}.approvals`, 'must be {count, role}');
      else {
        if (!Number.isInteger(ap.count) || (ap.count as number) < 1) issues.add(`${p}.approvals.count`, 'must be a whole number, 1 or more');
        if (!APPROVER_ROLES.includes(ap.role as ApproverRole)) {
          issues.add(`${p}.approvals.role`, `unknown role ${quote(ap.role)}; one of ${APPROVER_ROLES.join(', ')}`);
        }
      }
    }
  });
  return issues.list;
}

function checkServe(issues: Issues, p: string, serve: unknown, earlier: readonly unknown[]): void {
  if (!isRecord(serve) || (serve.variation === undefined) === (serve.experimentWinner === undefined)) {
    issues.add(p, 'must be {variation} (a variation of the flag) or {experimentWinner} (the id of an earlier stage that runs an experiment)');
    return;
  }
  if (serve.variation !== undefined) {
    if (!isNonEmptyString(serve.variation)) issues.add(`${p}.variation`, 'must be a variation key of the flag');
    return;
  }
  const source = earlier.find((s) => isRecord(s) && s.id === serve.experimentWinner);
  if (!isNonEmptyString(serve.experimentWinner)) issues.add(`${p}.experimentWinner`, 'must be the id of an earlier stage that runs an experiment');
  else if (source === undefined) issues.add(`${p}.experimentWinner`, `no earlier stage has id ${quote(serve.experimentWinner)}: a stage can serve only the winner of an experiment that ran before it`);
  else if (!isRecord(source) || source.experiment === undefined) issues.add(`${p}.experimentWinner`, `stage ${quote(serve.experimentWinner)} runs no experiment`);
}

/**
 * What a valid plan may still do unlike what its author expects; saving it is
 * allowed, and the API shows these next to it. Each names the path and says
 * what will happen, with the numbers:
 * - the last stage serves less than 100%: completing the rollout leaves the
 *   flag at that audience (a canary that stops there), not a full rollout;
 * - a comparative gate (difference or relative, judged by a sequential test)
 *   whose `minSamples` (its own or the stage's) is below the sequential
 *   test's burn-in: it waits for the burn-in anyway.
 *
 * @example
 * planWarnings({ ...plan, stages: [{ id: 'canary', name: 'Canary', audience: { percentage: 10 }, minDuration: 0 }] });
 * // [{ path: 'stages[0].audience.percentage', message: 'the last stage serves 10%: completing the rollout leaves the flag serving 10%, ...' }]
 */
export function planWarnings(plan: Pick<Plan, 'stages'>): ValidationIssue[] {
  const issues = new Issues();
  const stages = Array.isArray(plan?.stages) ? plan.stages : [];
  const last = stages[stages.length - 1];
  const percentage = last?.audience?.percentage ?? 0;
  if (last !== undefined && percentage < 100) {
    const segments = last.audience?.segments ?? [];
    const who = `${percentage}%${segments.length > 0 ? ` and the segments ${segments.map(quote).join(', ')}` : ''}`;
    issues.add(
      `stages[${stages.length - 1}].audience.percentage`,
      `the last stage serves ${who}: completing the rollout leaves the flag serving ${who}, not everyone; end with a stage at 100% for a full rollout`,
    );
  }
  stages.forEach((stage, i) => {
    const gates: readonly Gate[] = stage?.gates ?? [];
    gates.forEach((gate, j) => {
      if (gate?.condition?.type === 'absolute' || gate?.sustainedFor !== undefined) return;
      const stated = gate.minSamples ?? stage.minSamples;
      if (!isFiniteNumber(stated) || stated >= SEQUENTIAL_BURN_IN) return;
      issues.add(
        `stages[${i}].gates[${j}].minSamples`,
        `comparative gate ${quote(gate.id)} is judged by a sequential test, which waits for ${SEQUENTIAL_BURN_IN} samples per cohort before a verdict (its burn-in); minSamples ${stated}${gate.minSamples === undefined ? ' (the stage\'s)' : ''} is lower, so this gate first decides at ${SEQUENTIAL_BURN_IN}. Absolute gates and matrices decide at ${stated}`,
      );
    });
  });
  return issues.list;
}

/** Weights of an experiment's groups sum to this (thousandths of a percent), as weighted variants do. */
const EXPERIMENT_WEIGHTS = 100_000;

function checkExperiment(issues: Issues, p: string, e: unknown, audience: unknown, metrics: ReadonlySet<string>): void {
  if (!isRecord(e)) {
    issues.add(p, 'must be {groups, control, metrics?, alpha?}');
    return;
  }
  const a = isRecord(audience) ? audience : {};
  if (Array.isArray(a.segments) && a.segments.length > 0) issues.add(`${p}`, 'an experiment splits a percentage of everyone: its stage cannot have segments (chosen members are not a random sample)');
  if (!isFiniteNumber(a.percentage) || a.percentage <= 0) issues.add(`${p}`, 'an experiment needs its stage to have a percentage above 0');
  const variations = new Set<string>();
  if (!Array.isArray(e.groups) || e.groups.length < 2) issues.add(`${p}.groups`, 'must list at least two groups {variation, weight}');
  else {
    let total = 0;
    e.groups.forEach((g: unknown, j: number) => {
      const q = `${p}.groups[${j}]`;
      if (!isRecord(g)) return void issues.add(q, 'must be {variation, weight, name?}');
      if (!isNonEmptyString(g.variation)) issues.add(`${q}.variation`, 'must be a variation key of the flag');
      else if (variations.has(g.variation)) issues.add(`${q}.variation`, `duplicate group ${quote(g.variation)}`);
      else variations.add(g.variation);
      if (!Number.isInteger(g.weight) || (g.weight as number) <= 0) issues.add(`${q}.weight`, 'must be a whole number of thousandths of a percent, above 0');
      else total += g.weight as number;
      if (g.name !== undefined && typeof g.name !== 'string') issues.add(`${q}.name`, 'must be a string');
    });
    if (total !== EXPERIMENT_WEIGHTS && e.groups.every((g: unknown) => isRecord(g) && Number.isInteger(g.weight) && (g.weight as number) > 0)) {
      issues.add(`${p}.groups`, `weights must sum to ${EXPERIMENT_WEIGHTS} (thousandths of a percent); they sum to ${total}`);
    }
  }
  if (!isNonEmptyString(e.control)) issues.add(`${p}.control`, 'must be the variation of one of the groups');
  else if (variations.size > 0 && !variations.has(e.control)) issues.add(`${p}.control`, `${quote(e.control)} is not one of the groups (${[...variations].join(', ')})`);
  if (e.metrics !== undefined) {
    if (!Array.isArray(e.metrics)) issues.add(`${p}.metrics`, 'must be an array of metric keys');
    else
      e.metrics.forEach((m: unknown, j: number) => {
        if (!isNonEmptyString(m) || !metrics.has(m)) issues.add(`${p}.metrics[${j}]`, `unknown metric ${quote(m)}`);
      });
  }
  if (e.alpha !== undefined && !(isFiniteNumber(e.alpha) && e.alpha > 0 && e.alpha < 1)) issues.add(`${p}.alpha`, 'must be a number between 0 and 1');
}

/**
 * Every segment key a plan's stages name, in first-use order: the segments a
 * project must have before it can run the plan.
 *
 * @example
 * segmentsUsedBy(SEED_001_STAGED_ROLLOUT); // ['internal-team', 'pilot-users']
 */
export function segmentsUsedBy(plan: { stages: readonly { audience?: { segments?: readonly string[] } }[] }): string[] {
  const out: string[] = [];
  for (const stage of Array.isArray(plan?.stages) ? plan.stages : []) {
    for (const s of stage?.audience?.segments ?? []) if (!out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * Every metric key a stage's gates and rollback matrices read, in order of
 * first use: what a metrics source must fetch for that stage.
 *
 * @example
 * metricsReadBy(SEED_003_GRADUAL_ROLLOUT.stages[1]); // ['error-rate', 'response-time-avg', ...]
 */
export function metricsReadBy(stage: Pick<Stage, 'gates' | 'matrices'>): string[] {
  const keys = new Set<string>();
  for (const g of stage.gates ?? []) keys.add(g.metric);
  for (const m of stage.matrices ?? []) {
    keys.add(m.metric);
    for (const r of m.anyOccurrence ?? []) keys.add(r.metric);
  }
  return [...keys];
}

/**
 * What a metrics source fetches for a stage: the metrics its gates and
 * matrices read ({@link metricsReadBy}), then those its experiment compares.
 *
 * @example
 * metricsObservedBy(SEED_002_AB_EXPERIMENT.stages[1]); // [..., 'satisfaction-score', 'adoption']
 */
export function metricsObservedBy(stage: Pick<Stage, 'gates' | 'matrices' | 'experiment'>): string[] {
  const keys = new Set(metricsReadBy(stage));
  for (const m of stage.experiment?.metrics ?? []) keys.add(m);
  return [...keys];
}
