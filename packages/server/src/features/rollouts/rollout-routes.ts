import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  advanceRolloutSchema,
  holdRolloutSchema,
  keySchema,
  pageQuerySchema,
  pageSchema,
  rollbackRolloutSchema,
  rolloutCommentSchema,
  rolloutDecisionSchema,
  rolloutExperimentSchema,
  rolloutListQuerySchema,
  rolloutRollbackSchema,
  rolloutVerdictSchema,
  stagedRolloutDetailSchema,
  stagedRolloutSchema,
  startRolloutSchema,
} from '@rollgate/contract';
import { defineRoute } from '../../http/routes.js';
import { callingUser } from '../flags/flag-routes.js';
import { projectParams } from '../projects/project-routes.js';
import type { RolloutService } from './rollout-service.js';

const BASE = '/api/projects/:projectKey/rollouts';
const rolloutParams = z.strictObject({ projectKey: keySchema, rolloutId: z.string().min(1).max(100) });
const itemParams = rolloutParams.extend({ itemId: z.string().min(1).max(200) });
const optionalComment = rolloutCommentSchema.optional();

export function registerRolloutRoutes(app: FastifyInstance, rollouts: RolloutService): void {
  const tag = 'rollouts';
  defineRoute(
    app,
    {
      method: 'POST',
      url: BASE,
      access: 'editor',
      summary:
        'Start a plan on a flag in an environment. With every required pre-start checklist item ticked in the body it runs at once (the flag is enabled there and its rollout rules are added); otherwise it stays a draft until the items are ticked',
      tag,
      params: projectParams,
      body: startRolloutSchema,
      response: { status: 201, schema: stagedRolloutSchema },
    },
    ({ params, body, meta, principal }) => rollouts.start(meta, callingUser(principal), params.projectKey, body),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: BASE,
      access: 'viewer',
      summary: 'List rollouts, newest first (filters: status, flagKey, environmentKey)',
      tag,
      params: projectParams,
      query: rolloutListQuerySchema,
      response: { status: 200, schema: pageSchema(stagedRolloutSchema) },
    },
    ({ params, query }) => rollouts.list(params.projectKey, query),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${BASE}/:rolloutId`,
      access: 'viewer',
      summary: "A rollout: its state, the plan version it runs, and the dashboard status (colour, phase, percentage, start date, days in phase, what it waits for)",
      tag,
      params: rolloutParams,
      response: { status: 200, schema: stagedRolloutDetailSchema },
    },
    ({ params }) => rollouts.get(params.projectKey, params.rolloutId),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${BASE}/:rolloutId/decisions`,
      access: 'viewer',
      summary: "A rollout's decision log, newest first: the controller's decisions and people's actions, with reasons and evidence",
      tag,
      params: rolloutParams,
      query: pageQuerySchema,
      response: { status: 200, schema: pageSchema(rolloutDecisionSchema) },
    },
    ({ params, query }) => rollouts.decisions(params.projectKey, params.rolloutId, query),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${BASE}/:rolloutId/rollbacks`,
      access: 'viewer',
      summary: "A rollout's rollback history, newest first: time, from and to stage and percentage, trigger, metric values, thresholds, actor",
      tag,
      params: rolloutParams,
      query: pageQuerySchema,
      response: { status: 200, schema: pageSchema(rolloutRollbackSchema) },
    },
    ({ params, query }) => rollouts.rollbacks(params.projectKey, params.rolloutId, query),
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: `${BASE}/:rolloutId/experiment`,
      access: 'viewer',
      summary:
        "The current stage's A/B experiment: each group against the control group per metric (difference, confidence sequence, always-valid p-value, verdict better / worse / inconclusive / no data) and the groups' sizes against their weights",
      tag,
      params: rolloutParams,
      response: { status: 200, schema: rolloutExperimentSchema },
    },
    ({ params }) => rollouts.experiment(params.projectKey, params.rolloutId),
  );

  const action = <B extends z.ZodType>(
    name: string,
    summary: string,
    body: B,
    run: (input: { meta: Parameters<RolloutService['hold']>[0]; user: Parameters<RolloutService['hold']>[1]; projectKey: string; id: string; body: z.infer<B>; itemId?: string }) => Promise<unknown>,
    access: 'editor' | 'approver' = 'editor',
  ) =>
    defineRoute(
      app,
      {
        method: 'POST',
        url: `${BASE}/:rolloutId/${name}`,
        access,
        summary,
        tag,
        params: name.includes(':itemId') ? itemParams : rolloutParams,
        body,
        response: { status: 200, schema: stagedRolloutSchema },
      },
      ({ params, body: b, meta, principal }) =>
        run({ meta, user: callingUser(principal), projectKey: params.projectKey, id: params.rolloutId, body: b, itemId: (params as { itemId?: string }).itemId }),
    );

  action(
    'advance',
    'Ask to advance now: skips the remaining wait of the stage, not the checklist or approvals; with force (admins only, audited) also overrides criteria, checklist and approvals, never rollback triggers or missing data',
    advanceRolloutSchema.optional(),
    ({ meta, user, projectKey, id, body }) => rollouts.advance(meta, user, projectKey, id, body ?? { force: false }),
  );
  action('hold', 'Hold the rollout: nothing moves until a person resumes (rollback triggers still act)', holdRolloutSchema, ({ meta, user, projectKey, id, body }) =>
    rollouts.hold(meta, user, projectKey, id, body.reason),
  );
  action('resume', 'Resume a held rollout', optionalComment, ({ meta, user, projectKey, id, body }) => rollouts.resume(meta, user, projectKey, id, body?.comment));
  action('rollback', "Roll back to the previous stage, or to 0% (status rolled back)", rollbackRolloutSchema, ({ meta, user, projectKey, id, body }) =>
    rollouts.rollback(meta, user, projectKey, id, body),
  );
  action('disable', "Full disable: turn the flag's kill switch off (status rolled back)", optionalComment, ({ meta, user, projectKey, id, body }) =>
    rollouts.disable(meta, user, projectKey, id, body?.comment),
  );
  action('abort', "Abort: remove the rollout's rules, so the flag serves its own configuration again (and is off again where the rollout turned it on)", optionalComment, ({ meta, user, projectKey, id, body }) =>
    rollouts.abort(meta, user, projectKey, id, body?.comment),
  );
  action('restart', 'Restart a rolled-back rollout from its first stage', optionalComment, ({ meta, user, projectKey, id, body }) =>
    rollouts.restart(meta, user, projectKey, id, body?.comment),
  );
  action('checklist/:itemId', 'Tick a checklist item: a pre-start item of a draft (the last one starts it), or a go/no-go item of the current stage', optionalComment, ({ meta, user, projectKey, id, itemId }) =>
    rollouts.tick(meta, user, projectKey, id, itemId as string),
  );
  action('approve', "Approve advancing the current stage, or starting a draft in an environment that requires approval (the rollout's starter cannot)", rolloutVerdictSchema, ({ meta, user, projectKey, id, body }) =>
    rollouts.verdict(meta, user, projectKey, id, 'approve', body.comment),
  );
  action('reject', 'Reject advancing the current stage; it blocks until its author approves', rolloutVerdictSchema, ({ meta, user, projectKey, id, body }) =>
    rollouts.verdict(meta, user, projectKey, id, 'reject', body.comment),
  );
  action('go', 'Go on an escalation: continue the stage', rolloutVerdictSchema, ({ meta, user, projectKey, id, body }) => rollouts.goNoGo(meta, user, projectKey, id, 'go', body.comment));
  action('no-go', 'No-go on an escalation: roll back to 0%', rolloutVerdictSchema, ({ meta, user, projectKey, id, body }) =>
    rollouts.goNoGo(meta, user, projectKey, id, 'no_go', body.comment),
  );
}
