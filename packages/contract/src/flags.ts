/**
 * Schemas of flag and segment configuration as the API accepts them. They
 * check shape only; meaning (known variations, safe regexes, weights that sum
 * to 100,000, prerequisite cycles) is checked by the core's validation, so the
 * API and the evaluator can never disagree about what is valid.
 */
import { z } from 'zod';
import { OPERATORS, type Condition, type FlagConfig, type Operator, type Segment } from '@rollgate/core';

/** Keys of projects, environments, flags and segments. */
export const keySchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (at most 100)');

export const jsonValueSchema: z.ZodType<unknown> = z.json();

export const variationSchema = z.strictObject({
  key: z.string().min(1).max(100),
  value: jsonValueSchema,
  name: z.string().max(200).optional(),
  description: z.string().max(2000).optional(),
});

const scalarSchema = z.union([z.string().max(10_000), z.number(), z.boolean()]);

export const conditionSchema = z.strictObject({
  attribute: z.string().min(1).max(200),
  operator: z.enum(OPERATORS as [Operator, ...Operator[]]),
  values: z.array(scalarSchema).max(10_000),
  negate: z.boolean().optional(),
  caseInsensitive: z.boolean().optional(),
  dialect: z.enum(['rollgate', 'unleash']).optional(),
});

export const rolloutSchema = z.strictObject({
  percentage: z.number().min(0).max(100),
  variation: z.string().optional(),
  variants: z.array(z.strictObject({ variation: z.string(), weight: z.number().int().min(0) })).max(100).optional(),
  otherwise: z.string().optional(),
  stickiness: z.array(z.string().min(1)).min(1).max(10).optional(),
  salt: z.string().max(200).optional(),
  variantSalt: z.string().max(200).optional(),
  bucketing: z.enum(['rollgate/v1', 'unleash/v1']).optional(),
  variantStickiness: z.array(z.string().min(1)).min(1).max(10).optional(),
  continueOutside: z.boolean().optional(),
});

export const serveSchema = z.union([z.strictObject({ variation: z.string() }), z.strictObject({ rollout: rolloutSchema })]);

export const ruleSchema = z.strictObject({
  id: z.string().min(1).max(100),
  description: z.string().max(2000).optional(),
  conditions: z.array(conditionSchema).max(100).optional(),
  segments: z.array(keySchema).max(50).optional(),
  serve: serveSchema,
});

export const targetSchema = z.strictObject({
  variation: z.string(),
  values: z.array(z.string().max(1000)).max(10_000),
  attribute: z.string().min(1).max(200).optional(),
});

export const prerequisiteSchema = z.strictObject({ flag: keySchema, variations: z.array(z.string()).min(1).max(100), negate: z.boolean().optional() });

/** A flag's configuration in one environment. */
export const flagEnvironmentConfigSchema = z
  .strictObject({
    enabled: z.boolean(),
    offVariation: z.string(),
    prerequisites: z.array(prerequisiteSchema).max(50).optional(),
    targets: z.array(targetSchema).max(100).optional(),
    rules: z.array(ruleSchema).max(500).optional(),
    fallthrough: serveSchema,
    salt: z.string().max(200).optional(),
  })
  .meta({ id: 'FlagEnvironmentConfig' });

export type FlagEnvironmentConfig = z.infer<typeof flagEnvironmentConfigSchema>;

export const segmentDefinitionSchema = z.strictObject({
  attribute: z.string().min(1).max(200).optional(),
  included: z.array(z.string().max(1000)).max(100_000).optional(),
  excluded: z.array(z.string().max(1000)).max(100_000).optional(),
  rules: z.array(z.strictObject({ conditions: z.array(conditionSchema).min(1).max(100) })).max(100).optional(),
});

// Compile-time proof that what the API accepts is what the core evaluates.
type Assignable<T, U extends T> = U;
export type _ConditionFits = Assignable<Condition, z.infer<typeof conditionSchema>>;
export type _FlagConfigFits = Assignable<Omit<FlagConfig, 'key' | 'type' | 'variations' | 'version'>, FlagEnvironmentConfig>;
export type _SegmentFits = Assignable<Omit<Segment, 'key' | 'name'>, z.infer<typeof segmentDefinitionSchema>>;
