/**
 * Schemas of the dashboard's own endpoints: signing in with a user token
 * (a session cookie), the overview of rollouts across projects, and the
 * events of the dashboard stream.
 */
import { z } from 'zod';
import { roleSchema, userSchema } from './resources.js';
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
export const dashboardEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    resourceKey: z.string().nullable(),
    projectKey: z.string().nullable(),
    environmentKey: z.string().nullable(),
    actor: z.object({ kind: z.string(), id: z.string(), name: z.string() }),
  })
  .meta({ id: 'DashboardEvent' });
export type DashboardEvent = z.infer<typeof dashboardEventSchema>;
