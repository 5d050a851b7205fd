/**
 * Schemas of the dashboard's own endpoints: signing in with a user token
 * (a session cookie), the overview of rollouts across projects, and the
 * events of the dashboard stream.
 */
import { z } from 'zod';
import { auditEventSchema, roleSchema, userSchema } from './resources.js';
import { rolloutStatusSummarySchema, stagedRolloutSchema } from './rollouts.js';

/** Body of POST /api/session: the user token to sign in with. */
export const createSessionSchema = z.strictObject({ token: z.string().min(1).max(500) });

/** The signed-in person, and the CSRF token every write with the session cookie sends as `x-csrf-token`. */
export const sessionSchema = z
  .object({ user: userSchema, role: roleSchema, tokenId: z.string(), csrfToken: z.string(), expiresAt: z.string() })
  .meta({ id: 'DashboardSession' });
export type DashboardSession = z.infer<typeof sessionSchema>;

/** One line of the overview: a rollout and its seed 000 "Current Status" fields. */
export const overviewRowSchema = stagedRolloutSchema
  .pick({ id: true, projectKey: true, flagKey: true, environmentKey: true, planKey: true, status: true, stageIndex: true, createdAt: true, updatedAt: true })
  .extend({ projectName: z.string(), statusSummary: rolloutStatusSummarySchema })
  .meta({ id: 'OverviewRow' });
export type OverviewRow = z.infer<typeof overviewRowSchema>;

export const overviewSchema = z.object({ items: z.array(overviewRowSchema), generatedAt: z.string() }).meta({ id: 'Overview' });
export type Overview = z.infer<typeof overviewSchema>;

export const overviewQuerySchema = z.strictObject({
  /** Include finished rollouts (completed, rolled back, aborted) of the last days; default only active ones and drafts. */
  finishedDays: z.coerce.number().int().min(0).max(365).default(7),
});

/**
 * The data of a dashboard stream `change` event: something in the audit log
 * changed (a rollout transition or decision, an approval, a checklist tick,
 * a flag change...). Pages refetch what the resource touches.
 */
export const dashboardEventSchema = auditEventSchema.omit({ before: true, after: true, requestId: true }).meta({ id: 'DashboardEvent' });
export type DashboardEvent = z.infer<typeof dashboardEventSchema>;

const aggregate = z.object({ value: z.number(), samples: z.number() });
const interval = z.object({ lower: z.number(), upper: z.number(), level: z.number() });

/**
 * A metric tile's data: per gate, the guard's own assessment at points of the
 * current stage (the estimate as the gate is written, treatment minus control
 * or relative, with its always-valid interval), and the raw treatment and
 * control values over time.
 */
export const metricSeriesSchema = z
  .object({
    rolloutId: z.string(),
    stageIndex: z.number().int(),
    stageName: z.string(),
    stageStartedAt: z.number(),
    now: z.number(),
    metrics: z.array(
      z.object({
        metric: z.string(),
        name: z.string().optional(),
        unit: z.string().optional(),
        direction: z.enum(['lower', 'higher']).optional(),
        treatment: aggregate.optional(),
        control: aggregate.optional(),
        gates: z.array(
          z.object({
            gateId: z.string(),
            role: z.enum(['success', 'alert', 'rollback']),
            condition: z.object({ type: z.enum(['absolute', 'difference', 'relative']), op: z.enum(['<', '<=', '>', '>=']), value: z.number() }),
            description: z.string().optional(),
            verdict: z.enum(['pass', 'fail', 'inconclusive', 'no_data']),
            estimate: z.number().optional(),
            interval: interval.optional(),
            summary: z.string(),
            method: z.string(),
            points: z.array(z.object({ t: z.number(), estimate: z.number().nullable(), lower: z.number().nullable(), upper: z.number().nullable(), verdict: z.string() })),
          }),
        ),
        matrices: z.array(z.object({ matrixId: z.string(), action: z.string(), verdict: z.string(), summary: z.string() })),
        raw: z.array(z.object({ t: z.number(), treatment: z.number().nullable(), control: z.number().nullable(), treatmentSamples: z.number(), controlSamples: z.number() })),
      }),
    ),
  })
  .meta({ id: 'MetricSeries' });
export type MetricSeries = z.infer<typeof metricSeriesSchema>;
