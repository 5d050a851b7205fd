/**
 * Schemas of rollout plans as the API accepts and returns them. A plan's
 * `definition` is the core `Plan` without the fields the plan resource holds
 * itself: `id` (the plan's key), `version` (assigned by the server), `name`
 * and `description` (top-level fields of the resource). These schemas check
 * shape only (strict objects: unknown fields are refused; enums; types);
 * meaning (known metrics, segments and environments, durations, percentages
 * that never go backwards, unique ids...) is checked by the core's
 * `validatePlan`, so the API and the controller never disagree about what is
 * a valid plan.
 */
import { z } from 'zod';
import type { Plan } from '@rollgate/core';
import { keySchema } from './flags.js';
import { pageQuerySchema } from './resources.js';

const timestamp = z.string().meta({ format: 'date-time' });
const version = z.number().int().min(1);
const name = z.string().min(1).max(200);
const description = z.string().max(5000);
/** Ids of stages, gates, matrices and checklist items; their meaning is checked by the core. */
const localId = z.string().max(200);
const metricKey = z.string().max(200);

export const planChecklistItemSchema = z.strictObject({
  id: localId,
  text: z.string().max(2000),
  required: z.boolean().optional(),
});

export const planGateConditionSchema = z.strictObject({
  type: z.enum(['absolute', 'difference', 'relative']),
  op: z.enum(['<', '<=', '>', '>=']),
  value: z.number(),
});

export const planGateSchema = z.strictObject({
  id: localId,
  metric: metricKey,
  role: z.enum(['success', 'alert', 'rollback']),
  condition: planGateConditionSchema,
  sustainedFor: z.number().optional(),
  onBreach: z.enum(['hold', 'rollback_previous', 'rollback_zero', 'disable', 'escalate']).optional(),
  minSamples: z.number().optional(),
  description: z.string().max(2000).optional(),
});

const matrixActionSchema = z.enum(['continue', 'monitor', 'rollback', 'disable']);

export const planRollbackMatrixSchema = z.strictObject({
  id: localId,
  metric: metricKey,
  bands: z.array(z.strictObject({ below: z.number().optional(), action: matrixActionSchema, label: z.string().max(200).optional() })).max(50),
  anyOccurrence: z.array(z.strictObject({ metric: metricKey, action: matrixActionSchema, label: z.string().max(200).optional() })).max(50).optional(),
  rollbackTo: z.enum(['previous', 'zero']).optional(),
});

export const planAudienceSchema = z.strictObject({
  segments: z.array(z.string().max(200)).max(100).optional(),
  percentage: z.number().optional(),
});

export const planExperimentSchema = z.strictObject({
  groups: z.array(z.strictObject({ variation: z.string().max(200), weight: z.number(), name: z.string().max(200).optional() })).max(20),
  control: z.string().max(200),
  metrics: z.array(metricKey).max(50).optional(),
  alpha: z.number().optional(),
});

export const planStageSchema = z.strictObject({
  id: localId,
  name: z.string().max(200),
  environment: z.string().max(200).optional(),
  audience: planAudienceSchema,
  minDuration: z.number(),
  maxDuration: z.number().optional(),
  onTimeout: z.enum(['hold', 'rollback']).optional(),
  minSamples: z.number().optional(),
  gates: z.array(planGateSchema).max(100).optional(),
  matrices: z.array(planRollbackMatrixSchema).max(20).optional(),
  checklist: z.array(planChecklistItemSchema).max(200).optional(),
  approvals: z.strictObject({ count: z.number(), role: z.enum(['viewer', 'editor', 'approver', 'admin']) }).optional(),
  experiment: planExperimentSchema.optional(),
  /** What this stage and later ones serve: a variation, or the winner of an earlier stage's experiment. */
  serve: z.strictObject({ variation: z.string().max(200).optional(), experimentWinner: z.string().max(200).optional() }).optional(),
  description: description.optional(),
});

/** A plan's stages and checklists: the core `Plan` without id, version, name and description. */
export const planDefinitionSchema = z
  .strictObject({
    source: z.string().max(2000).optional(),
    preStartChecklist: z.array(planChecklistItemSchema).max(200).optional(),
    stages: z.array(planStageSchema).max(50),
  })
  .meta({ id: 'PlanDefinition' });

export type PlanDefinition = z.infer<typeof planDefinitionSchema>;

/** What the core `Plan` holds beyond the plan resource's own fields. */
export type CorePlanDefinition = Omit<Plan, 'id' | 'version' | 'name' | 'description'>;

// Compile-time proof that the schema accepts exactly the core's plans: what the
// API accepts is a core plan definition, and every core plan definition (the
// templates included) is accepted by the API (up to readonly arrays).
type Assignable<T, U extends T> = U;
type DeepReadonly<T> = T extends readonly (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
/** `true` when A and B have the same fields at every depth (assignability alone lets extra optional fields through). */
type SameFields<A, B> = A extends readonly (infer E)[]
  ? B extends readonly (infer F)[]
    ? SameFields<E, F>
    : false
  : A extends object
    ? B extends object
      ? [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
        ? { [K in keyof A & keyof B]-?: SameFields<NonNullable<A[K]>, NonNullable<B[K]>> }[keyof A & keyof B] extends true
          ? true
          : false
        : false
      : false
    : true;
export type _PlanDefinitionFits = Assignable<CorePlanDefinition, PlanDefinition>;
export type _CorePlanDefinitionFits = Assignable<DeepReadonly<PlanDefinition>, CorePlanDefinition>;
export type _PlanDefinitionSameFields = Assignable<true, SameFields<PlanDefinition, CorePlanDefinition>>;

/** A plan as listed: without its definition. */
export const planSummarySchema = z
  .object({
    id: z.string(),
    projectKey: keySchema,
    key: keySchema,
    name,
    description,
    /** Where the plan's numbers come from (a template names its seed). */
    source: z.string().nullable(),
    stageCount: z.number().int(),
    /** The current version; every change of name, description or definition adds one. */
    version,
    archived: z.boolean(),
    archivedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'PlanSummary' });

/** A plan with its current definition. */
export const planSchema = planSummarySchema
  .extend({
    definition: planDefinitionSchema,
    /** What the valid plan will do that its author may not expect (a last stage below 100%, a comparative gate that waits for its sequential test's burn-in): saved anyway, shown here. */
    warnings: z.array(z.object({ path: z.string(), message: z.string() })),
  })
  .meta({ id: 'Plan' });

/** One version of a plan, exactly as it was saved. Versions are never changed. */
export const planVersionSchema = z
  .object({
    projectKey: keySchema,
    planKey: keySchema,
    version,
    name,
    description,
    definition: planDefinitionSchema,
    /** The id of the user or token that saved this version. */
    createdBy: z.string(),
    createdAt: timestamp,
  })
  .meta({ id: 'PlanVersion' });

/** A built-in plan template (from a seed document). */
export const planTemplateSchema = z
  .object({
    /** Give it as `fromTemplate` to create a plan from it. */
    key: z.string(),
    name,
    description,
    source: z.string(),
    /** The seed the template comes from, e.g. `001`. */
    seed: z.string().nullable(),
    /** What the project needs before a plan from this template can be saved. */
    requires: z.object({ segments: z.array(z.string()), environments: z.array(z.string()) }),
    /** Of those, what this project does not have yet. */
    missing: z.object({ segments: z.array(z.string()), environments: z.array(z.string()) }),
    definition: planDefinitionSchema,
  })
  .meta({ id: 'PlanTemplate' });

/**
 * Body of plan creation: `{key, name, description?, definition}`, or
 * `{key, name?, description?, fromTemplate}` for a copy of a built-in template
 * (its name and description unless given).
 */
export const createPlanSchema = z
  .strictObject({
    key: keySchema,
    name: name.optional(),
    description: description.optional(),
    definition: planDefinitionSchema.optional(),
    /** The key of a built-in template (GET /plan-templates). */
    fromTemplate: z.string().min(1).max(200).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.definition !== undefined && body.fromTemplate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['fromTemplate'], message: 'give either a definition or fromTemplate, not both' });
    } else if (body.definition === undefined && body.fromTemplate === undefined) {
      ctx.addIssue({ code: 'custom', path: ['definition'], message: 'is required (or give fromTemplate: the key of a built-in template)' });
    } else if (body.definition !== undefined && body.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required with a definition' });
    }
  });

/** Body of a plan update; a new definition (or name, or description) is saved as a new version. */
export const updatePlanSchema = z.strictObject({
  version,
  name: name.optional(),
  description: description.optional(),
  definition: planDefinitionSchema.optional(),
});

/** Body of archive and unarchive: the version of the plan you read. */
export const archivePlanSchema = z.strictObject({ version });

/** Query of the plan list: a page of active plans, or of archived ones with archived=true. */
export const planListQuerySchema = pageQuerySchema.extend({
  archived: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
