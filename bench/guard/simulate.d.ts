// Types of simulate.js (plain JS, so run.js runs on Node without a build step of its own).
import type { Decision, Exceedance, Gate, GuardOptions, Observations, Plan, RolloutState, SequentialGateAssessorOptions, Stage } from '@rollgate/core';

export declare const MINUTE_MS: number;
export declare const HOUR: number;
export declare const DAY: number;
export declare const BASE_SEED: number;

export declare const TRAFFIC: Readonly<{
  canaryShare: number;
  canaryRequestsPerMinute: number;
  baseErrorRate: number;
  latencyMedianMs: number;
  latencySigma: number;
  dailyAmplitude: number;
  peakHour: number;
  requestsPerUser: number;
}>;

export declare const LATENCY_ACCURACY: number;
export declare function latencyBucket(ms: number): number;
export declare function latencyEdge(index: number): number;
export declare class LatencyCounts {
  constructor(lo: number, hi: number);
  readonly lo: number;
  readonly hi: number;
  readonly counts: Float64Array;
  readonly total: number;
  add(index: number, n?: number): void;
  quantile(q: number): number;
  above(index: number): number;
  exceedingAround(bound: number): Exceedance[];
}

export interface Random {
  uniform(): number;
  normal(): number;
  poisson(mean: number): number;
  binomial(n: number, p: number): number;
}
export declare function mixSeed(base: number, index: number): number;
export declare function createRandom(seed: number): Random;

export interface Scenario {
  name: string;
  title: string;
  healthy?: boolean;
  errorMultiplier?: number;
  latencyMultiplier?: number;
  onsetMinute?: number;
  spike?: { error: number; latency: number; halfLifeMinutes: number };
  trafficFactor?: number;
  outage?: { fromMinute: number; toMinute: number };
  lostTreatmentShare?: number;
}
export declare const SCENARIOS: readonly Scenario[];
export declare function scenarioByName(name: string): Scenario;

export declare const CANARY_ERROR_GATE: Gate;
export declare const CANARY_STAGE: Stage;
export declare function planWith(stage: Stage): Plan;
export declare const CANARY_PLAN: Plan;
export declare const CANARY_SEQUENTIAL_GATES: number;
export declare const RECOMMENDED_GUARD_OPTIONS: Readonly<GuardOptions>;
export declare const SWEEP_OPTIONS: readonly { name: string; sequential: Omit<SequentialGateAssessorOptions, 'plan'>; perGate?: number }[];
export declare function quantileBounds(stage: Stage, metric: string, controlValue: number | undefined): number[];

export interface CohortTotals {
  requests: number;
  errors: number;
  users: number;
  latency: LatencyCounts;
  lastData: number;
}

export declare class Simulation {
  constructor(scenario: Scenario, seed: number, stage?: Stage);
  readonly scenario: Scenario;
  readonly stage: Stage;
  readonly random: Random;
  readonly startHour: number;
  readonly stageStartedAt: number;
  readonly state: RolloutState;
  readonly onsetMinute: number;
  readonly treatment: CohortTotals;
  readonly control: CohortTotals;
  readonly elapsed: number;
  readonly exposedUsers: readonly number[];
  readonly minute: { treatment: { requests: number; errors: number }; control: { requests: number; errors: number } };
  readonly now: number;
  shapeAt(minute: number): number;
  step(): void;
  exposedSinceOnset(): number;
  observations(): Observations & { assignments: { treatment: number; control: number } };
}

export type OutcomeKind = 'rollback' | 'escalate' | 'hold' | 'timeout' | 'advance' | 'none';
export declare const OUTCOME_KINDS: readonly OutcomeKind[];

export interface GuardStep {
  kind: OutcomeKind;
  trigger: string;
}
export interface Guard {
  name: string;
  only?: readonly string[];
  create(): { step(sim: Simulation): GuardStep | undefined };
}
export type Evaluator = (sim: Simulation, observations: Observations) => Decision;

export declare function rollgateEvaluator(options?: { plan?: Plan; guard?: GuardOptions }): Evaluator;
export declare function withoutStaleRule(evaluate: Evaluator, options?: { plan?: Plan; guard?: GuardOptions }): Evaluator;
export declare function rollgateGuard(options?: { name?: string; evaluate?: Evaluator; plan?: Plan; guard?: GuardOptions }): Guard;
export declare function thresholdGuard(options: {
  name: string;
  limitPercent: number;
  consecutive?: number;
  window?: 'minute' | 'stage';
  advanceAfterMinutes?: number;
}): Guard;

export interface Outcome extends GuardStep {
  guard: string;
  minute: number;
  exposed: number;
  onsetMinute: number;
  startHour: number;
  /** Canary requests a minute expected at the onset (the daily shape's). */
  canaryRateAtOnset: number;
}
export declare function simulateRun(scenario: Scenario, index: number, guards: readonly Guard[], options?: { seed?: number; maxMinutes?: number; stage?: Stage }): Outcome[];
