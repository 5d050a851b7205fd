/**
 * Schemas of the staged-rollouts API (/api/projects/:projectKey/rollouts).
 * The plan, the rollout state, decisions and their evidence are the core's
 * types (packages/core/src/rollouts/types.ts); they are passed through as JSON.
 */
import { z } from 'zod';
import { keySchema } from './flags.js';
import { pageQuerySchema } from './resources.js';

export const ROLLOUT_STATUSES = ['draft', 'running', 'held', 'awaiting_approval', 'completed', 'rolled_back', 'aborted'] as const;
export const rolloutStatusSchema = z.enum(ROLLOUT_STATUSES);
export type RolloutStatusName = z.infer<typeof rolloutStatusSchema>;

const comment = z.string().max(2000);
const timestamp = z.string();

/** A staged rollout: a plan version run on one flag in one environment. */
export const stagedRolloutSchema = z
  .object({
    id: z.string(),
    projectKey: z.string(),
    flagKey: z.string(),
    environmentKey: z.string(),
    planKey: z.string(),
    planVersion: z.number().int(),
    variation: z.string(),
    status: rolloutStatusSchema,
    stageIndex: z.number().int(),
    /** The core RolloutState. */
    state: z.record(z.string(), z.unknown()),
    version: z.number().int(),
    startedBy: z.string(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'StagedRollout' });

/** The seed 000 dashboard fields (core RolloutSummary) and the decision they come from. */
export const rolloutStatusSummarySchema = z
  .object({
    status: rolloutStatusSchema,
    health: z.enum(['green', 'yellow', 'red']),
    phase: z.number().int(),
    phases: z.number().int(),
    stageName: z.string().optional(),
    environment: z.string().optional(),
    percentage: z.number(),
    segments: z.array(z.string()),
    startedAt: z.number().optional(),
    startDate: z.string().optional(),
    daysInPhase: z.number().int(),
    waitingFor: z.array(z.record(z.string(), z.unknown())),
    summary: z.string(),
    /** What the controller would decide now (kind), with the same reason. */
    decision: z.string(),
    /** That decision's gate assessments: each gate's verdict and the sentence with its numbers (core GateResult). */
    gates: z
      .array(
        z.object({
          gateId: z.string(),
          metric: z.string(),
          role: z.string(),
          verdict: z.string(),
          estimate: z.number().optional(),
          summary: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'RolloutStatusSummary' });

export const stagedRolloutDetailSchema = stagedRolloutSchema
  .extend({ plan: z.record(z.string(), z.unknown()), statusSummary: rolloutStatusSummarySchema })
  .meta({ id: 'StagedRolloutDetail' });

export const startRolloutSchema = z.strictObject({
  flagKey: keySchema,
  environmentKey: keySchema,
  planKey: keySchema,
  planVersion: z.number().int().min(1).optional(),
  variation: z.string().min(1).max(100).optional(),
  /** Pre-start checklist items ticked now; with every required one ticked the rollout starts, else it stays in draft. */
  preStartChecklist: z.array(z.string().min(1).max(200)).max(200).default([]),
});

export const rolloutListQuerySchema = pageQuerySchema.extend({
  status: rolloutStatusSchema.optional(),
  flagKey: keySchema.optional(),
  environmentKey: keySchema.optional(),
});

export const advanceRolloutSchema = z.strictObject({
  force: z.boolean().default(false),
  comment: comment.optional(),
  /** What the next stage serves when it serves an experiment's winner: one of the experiment's groups (a person's choice, e.g. when there is no winner). */
  variation: z.string().min(1).max(200).optional(),
});
export const holdRolloutSchema = z.strictObject({ reason: z.string().min(1).max(2000) });
export const rollbackRolloutSchema = z.strictObject({ to: z.enum(['previous', 'zero']), reason: comment.optional() });
/** Body of resume, disable, abort, restart and checklist ticks: an optional comment. */
export const rolloutCommentSchema = z.strictObject({ comment: comment.optional() });
/** Body of approve, reject, go and no-go. */
export const rolloutVerdictSchema = z.strictObject({ comment: comment.default('') });

/** One entry of the decision log: the controller's or a person's. */
export const rolloutDecisionSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    at: timestamp,
    kind: z.string(),
    actor: z.object({ kind: z.string(), id: z.string(), name: z.string().optional().describe('The name of the person (or system actor) who acted') }),
    reason: z.string(),
    fromVersion: z.number().int(),
    fromStage: z.number().int().nullable(),
    toStage: z.number().int().nullable(),
    fromPercentage: z.number().nullable(),
    toPercentage: z.number().nullable(),
    decision: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'RolloutDecision' });

/** One rollback (or kill switch) with what triggered it and the numbers. */
export const rolloutRollbackSchema = z
  .object({
    id: z.string(),
    at: timestamp,
    kind: z.enum(['rollback', 'disable']),
    fromStage: z.number().int().nullable(),
    toStage: z.number().int().nullable(),
    fromPercentage: z.number().nullable(),
    toPercentage: z.number().nullable(),
    trigger: z.string(),
    reason: z.string(),
    actor: z.object({ kind: z.string(), id: z.string(), name: z.string().optional().describe('The name of the person (or system actor) who acted') }),
    metrics: z.array(
      z.object({
        source: z.string(),
        metric: z.string(),
        treatment: z.number().nullable(),
        control: z.number().nullable(),
        threshold: z.string(),
        summary: z.string(),
      }),
    ),
  })
  .meta({ id: 'RolloutRollback' });

const aggregateSchema = z.object({ value: z.number(), samples: z.number(), variance: z.number().optional() });

/** An experiment stage's analysis: each group against the control group per metric, and the groups' sizes against their weights. */
const experimentAnalysisSchema = z
  .object({
    rolloutId: z.string(),
    stageIndex: z.number().int(),
    stageId: z.string(),
    stageName: z.string(),
    control: z.string(),
    groups: z.array(z.object({ variation: z.string(), name: z.string().optional(), weight: z.number(), assigned: z.number().optional() })),
    /** Alpha of each comparison (the experiment's alpha over groups x metrics). */
    alpha: z.number(),
    comparisons: z.number().int(),
    srm: z
      .object({ mismatch: z.boolean(), pValue: z.number(), observed: z.array(z.number()), expected: z.array(z.number()), observedShares: z.array(z.number()), expectedShares: z.array(z.number()), alpha: z.number() })
      .optional(),
    metrics: z.array(
      z.object({
        metric: z.string(),
        direction: z.enum(['lower', 'higher']).optional(),
        control: aggregateSchema.optional(),
        groups: z.array(
          z.object({
            variation: z.string(),
            name: z.string().optional(),
            aggregate: aggregateSchema.optional(),
            difference: z.number().optional(),
            interval: z.object({ lower: z.number(), upper: z.number(), level: z.number() }).optional(),
            pValue: z.number().optional(),
            verdict: z.enum(['better', 'worse', 'inconclusive', 'no_data']),
            method: z.string(),
            summary: z.string(),
          }),
        ),
      }),
    ),
    /** The winning group's variation, when the analysis has one. */
    winner: z.string().optional(),
    /** Why that group won, or why none did. */
    verdict: z.string(),
    /** Final analyses only: when and by what decision the stage ended, and what later stages serve from it (the winner or a person's choice, and who chose). */
    endedAt: timestamp.optional(),
    endedBy: z.string().optional(),
    chosen: z.string().optional(),
    chosenBy: z.string().optional(),
  });

/**
 * The rollout's experiment: the current stage's analysed live (`live`), else
 * the final analysis of the latest ended one; `history` holds the final
 * analysis of every experiment stage that ended, oldest first.
 */
export const rolloutExperimentSchema = experimentAnalysisSchema
  .extend({ live: z.boolean(), history: z.array(experimentAnalysisSchema) })
  .meta({ id: 'RolloutExperiment' });
export type RolloutExperiment = z.infer<typeof rolloutExperimentSchema>;
