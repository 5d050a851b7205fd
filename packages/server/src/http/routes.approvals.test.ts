import { isDeepStrictEqual } from 'node:util';
/**
 * The approval rule, walked over the route table: every route that writes is
 * either a path that can change what an environment serves (and then an
 * editor's call of it, in an environment that requires approval, leaves that
 * environment's snapshot exactly as it was until someone else approves), or
 * it says why it cannot. A route added without an entry fails this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../testing.test-helpers.js';
import { addUser, type TestUser } from '../features/flags/flag-testing.test-helpers.js';
import { rolloutFeatureOf } from '../features/rollouts/rollout-feature.js';
import { FakeSource, HOUR, TestClock } from '../features/rollouts/rollouts.test-helpers.js';
import { registeredRoutes } from './routes.js';

const P = '/api/projects/gate';
const R = `${P}/rollouts`;
const ON = { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } };
const TWO_STAGES = { source: 'test', stages: [{ id: 'canary', name: 'Canary', audience: { percentage: 10 }, minDuration: HOUR }, { id: 'all', name: 'Everyone', audience: { percentage: 100 }, minDuration: HOUR }] };
const CHECKLIST = { ...TWO_STAGES, preStartChecklist: [{ id: 'runbook', text: 'Runbook reviewed' }] };
const STAGE_APPROVALS = { ...TWO_STAGES, stages: [{ ...TWO_STAGES.stages[0], approvals: { count: 1, role: 'approver' } }, TWO_STAGES.stages[1]] };

/** Routes that change what an environment serves: each has a scenario below. */
const SERVING = [
  'PUT /api/projects/:projectKey/flags/:flagKey/environments/:environmentKey',
  'PATCH /api/projects/:projectKey/flags/:flagKey',
  'POST /api/projects/:projectKey/flags/:flagKey/archive',
  'POST /api/projects/:projectKey/flags/:flagKey/unarchive',
  'PATCH /api/projects/:projectKey/segments/:segmentKey',
  'POST /api/projects/:projectKey/rollouts',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/checklist/:itemId',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/restart',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/advance',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/resume',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/go',
] as const;

/** Writes that never make an environment serve more, and why. */
const NOT_SERVING: Record<string, string> = {
  'POST /api/projects': 'a new project has no flags',
  'POST /api/session': 'signing in to the dashboard',
  'DELETE /api/session': 'signing out of the dashboard',
  'PATCH /api/projects/:projectKey': 'name and description only',
  'POST /api/projects/:projectKey/environments': 'a new environment serves every flag disabled',
  'PATCH /api/projects/:projectKey/environments/:environmentKey': 'admins only, audited: turning approval off is an admin decision',
  'PUT /api/projects/:projectKey/members/:userId': 'roles, not configuration',
  'DELETE /api/projects/:projectKey/members/:userId': 'roles, not configuration',
  'POST /api/users': 'users, not configuration',
  'PATCH /api/users/:userId': 'users, not configuration',
  'POST /api/tokens': 'tokens, not configuration',
  'DELETE /api/tokens/:tokenId': 'tokens, not configuration',
  'POST /api/projects/:projectKey/flags': 'a new flag is disabled and serves its off variation everywhere',
  'POST /api/projects/:projectKey/segments': 'a new segment is used by no flag',
  'DELETE /api/projects/:projectKey/segments/:segmentKey': 'refused while any flag uses the segment',
  'POST /api/projects/:projectKey/change-requests/:id/approve': 'the approval itself: never by the author',
  'POST /api/projects/:projectKey/change-requests/:id/reject': 'decides a request without applying it',
  'POST /api/projects/:projectKey/change-requests/:id/cancel': 'withdraws a request without applying it',
  'POST /api/projects/:projectKey/plans': 'a plan serves nothing until a rollout runs it',
  'PATCH /api/projects/:projectKey/plans/:planKey': 'a new plan version; running rollouts keep the version they started with',
  'POST /api/projects/:projectKey/plans/:planKey/archive': 'running rollouts keep their plan version',
  'POST /api/projects/:projectKey/plans/:planKey/unarchive': 'running rollouts keep their plan version',
  'POST /api/projects/:projectKey/metric-definitions': 'metrics inform decisions; the stage changes they lead to pass the rule',
  'PATCH /api/projects/:projectKey/metric-definitions/:metricKey': 'metrics inform decisions; the stage changes they lead to pass the rule',
  'DELETE /api/projects/:projectKey/metric-definitions/:metricKey': 'metrics inform decisions; the stage changes they lead to pass the rule',
  'POST /api/projects/:projectKey/metrics/:metricKey/read': 'reads a metric',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/approve': 'the approval itself: never by the starter',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/reject': 'a rejection blocks, never moves',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/hold': 'serves less or the same: nothing moves',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/rollback': 'serves less: stopping exposure never waits for a person',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/disable': 'the kill switch serves less: it never waits for a person',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/abort': "removes the rollout's rules: back to the flag's own, approved configuration",
  'POST /api/projects/:projectKey/rollouts/:rolloutId/no-go': 'rolls back to 0%: serves less',
  'POST /api/client/metrics': 'SDK metrics inform decisions; the stage changes they lead to pass the rule',
  'POST /api/frontend/evaluate': 'evaluates, changes nothing',
};

describe.each(testBackends())('the approval rule over the route table (%s)', (backend) => {
  let t: TestApp;
  let editor: TestUser;
  let approver: TestUser;
  let server: string;
  const time = new TestClock();
  const fake = new FakeSource();
  let n = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    rolloutFeatureOf(t.app).setObservationSource(fake.source);
    expect((await t.request('POST', '/api/projects', { key: 'gate', name: 'Gate' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'prod', name: 'Production', requiresApproval: true })).status).toBe(201);
    editor = await addUser(t, 'editor', 'Eve Editor');
    approver = await addUser(t, 'approver', 'Ann Approver');
    server = (await t.request('POST', '/api/tokens', { kind: 'server', name: 'prod', projectKey: 'gate', environmentKey: 'prod' })).body.secret;
    for (const [key, definition] of [
      ['two-stages', TWO_STAGES],
      ['with-checklist', CHECKLIST],
      ['stage-approvals', STAGE_APPROVALS],
    ] as const) {
      expect((await t.request('POST', `${P}/plans`, { key, name: key, definition })).status).toBe(201);
    }
  });
  afterAll(() => t.close());

  /** What prod serves: its whole snapshot, as an SDK reads it. */
  const served = async (): Promise<unknown> => {
    const res = await t.request('GET', '/api/client/snapshot', undefined, server);
    expect(res.status).toBe(200);
    return res.body;
  };
  // On PostgreSQL a change reaches the snapshot a moment later (LISTEN/NOTIFY): read it once two reads 100 ms apart agree.
  const settled = async (): Promise<unknown> => {
    let last = await served();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await served();
      if (isDeepStrictEqual(now, last)) return now;
      last = now;
    }
    return last;
  };
  const asEditor = (method: 'POST' | 'PUT' | 'PATCH', url: string, body: unknown) => t.request(method, url, body, editor.token);
  const newFlag = async (): Promise<string> => {
    const key = `flag-${++n}`;
    expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    return key;
  };
  const approve = async (changeRequest: { id: string; version: number }) => {
    const res = await t.request('POST', `${P}/change-requests/${changeRequest.id}/approve`, { version: changeRequest.version }, approver.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const approveRollout = async (id: string) => {
    const res = await t.request('POST', `${R}/${id}/approve`, { comment: 'go' }, approver.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  /** A rollout of a new flag in prod, started with an approval: running at its first stage. */
  const running = async (): Promise<string> => {
    const flagKey = await newFlag();
    const started = await asEditor('POST', R, { flagKey, environmentKey: 'prod', planKey: 'two-stages' });
    expect(started.body.status).toBe('draft');
    expect((await approveRollout(started.body.id)).status).toBe('running');
    return started.body.id;
  };
  const rolloutOf = async (id: string) => (await t.request('GET', `${R}/${id}`)).body;

  /**
   * One scenario per serving route: `act` makes the call as the editor (it
   * would change what prod serves without the rule), `release` gives the
   * approval that lets it through.
   */
  const scenarios: Record<(typeof SERVING)[number], () => Promise<{ act: () => Promise<void>; release: () => Promise<void> }>> = {
    'PUT /api/projects/:projectKey/flags/:flagKey/environments/:environmentKey': async () => {
      const flag = await newFlag();
      let request: { id: string; version: number } | undefined;
      return {
        act: async () => {
          const res = await asEditor('PUT', `${P}/flags/${flag}/environments/prod`, { version: 1, config: ON });
          expect(res.status).toBe(202);
          request = res.body;
        },
        release: () => approve(request as { id: string; version: number }),
      };
    },
    'PATCH /api/projects/:projectKey/flags/:flagKey': async () => {
      const flag = await newFlag();
      let request: { id: string; version: number } | undefined;
      return {
        act: async () => {
          const res = await asEditor('PATCH', `${P}/flags/${flag}`, { version: 1, variations: [{ key: 'on', value: false }, { key: 'off', value: true }] });
          expect(res.status).toBe(202);
          expect(res.body).toMatchObject({ kind: 'flag_variations', flagKey: flag, environmentKey: null, status: 'pending' });
          request = res.body;
        },
        release: () => approve(request as { id: string; version: number }),
      };
    },
    'POST /api/projects/:projectKey/flags/:flagKey/archive': async () => {
      const flag = await newFlag();
      let request: { id: string; version: number } | undefined;
      return {
        act: async () => {
          const res = await asEditor('POST', `${P}/flags/${flag}/archive`, { version: 1 });
          expect(res.status).toBe(202);
          expect(res.body).toMatchObject({ kind: 'flag_archive', changes: { archived: true } });
          request = res.body;
        },
        release: () => approve(request as { id: string; version: number }),
      };
    },
    'POST /api/projects/:projectKey/flags/:flagKey/unarchive': async () => {
      const flag = await newFlag();
      const archiving = await asEditor('POST', `${P}/flags/${flag}/archive`, { version: 1 });
      await approve(archiving.body);
      let request: { id: string; version: number } | undefined;
      return {
        act: async () => {
          const res = await asEditor('POST', `${P}/flags/${flag}/unarchive`, { version: 2 });
          expect(res.status).toBe(202);
          request = res.body;
        },
        release: () => approve(request as { id: string; version: number }),
      };
    },
    'PATCH /api/projects/:projectKey/segments/:segmentKey': async () => {
      const segment = `seg-${++n}`;
      expect((await t.request('POST', `${P}/segments`, { key: segment, name: segment, definition: { included: ['u1'] } })).status).toBe(201);
      const flag = await newFlag();
      const config = { ...ON, fallthrough: { variation: 'off' }, rules: [{ id: 'seg', segments: [segment], serve: { variation: 'on' } }] };
      await approve((await t.request('PUT', `${P}/flags/${flag}/environments/prod`, { version: 1, config })).body);
      let request: { id: string; version: number } | undefined;
      return {
        act: async () => {
          const res = await asEditor('PATCH', `${P}/segments/${segment}`, { version: 1, definition: { included: ['u1', 'u2'] } });
          expect(res.status).toBe(202);
          expect(res.body).toMatchObject({ kind: 'segment', segmentKey: segment, changes: { definition: { included: ['u1', 'u2'] }, usedIn: [{ flagKey: flag, environmentKey: 'prod' }] } });
          request = res.body;
        },
        release: () => approve(request as { id: string; version: number }),
      };
    },
    'POST /api/projects/:projectKey/rollouts': async () => {
      const flagKey = await newFlag();
      let id = '';
      return {
        act: async () => {
          const res = await asEditor('POST', R, { flagKey, environmentKey: 'prod', planKey: 'two-stages' });
          expect(res.status).toBe(201);
          expect(res.body.status).toBe('draft');
          id = res.body.id;
        },
        release: async () => {
          expect((await t.request('POST', `${R}/${id}/approve`, { comment: 'mine' }, editor.token)).body.code).toBe('SELF_APPROVAL');
          expect((await approveRollout(id)).status).toBe('running');
        },
      };
    },
    'POST /api/projects/:projectKey/rollouts/:rolloutId/checklist/:itemId': async () => {
      const flagKey = await newFlag();
      const draft = await asEditor('POST', R, { flagKey, environmentKey: 'prod', planKey: 'with-checklist' });
      const id = draft.body.id as string;
      return {
        act: async () => {
          const res = await asEditor('POST', `${R}/${id}/checklist/runbook`, {});
          expect(res.status).toBe(200);
          expect(res.body.status).toBe('draft');
        },
        release: async () => expect((await approveRollout(id)).status).toBe('running'),
      };
    },
    'POST /api/projects/:projectKey/rollouts/:rolloutId/restart': async () => {
      const id = await running();
      expect((await asEditor('POST', `${R}/${id}/rollback`, { to: 'zero' })).body.status).toBe('rolled_back');
      return {
        act: async () => {
          const res = await asEditor('POST', `${R}/${id}/restart`, {});
          expect(res.status).toBe(200);
          expect(res.body.status).toBe('draft');
        },
        release: async () => expect((await approveRollout(id)).status).toBe('running'),
      };
    },
    'POST /api/projects/:projectKey/rollouts/:rolloutId/advance': async () => {
      const id = await running();
      time.advance(HOUR + 1);
      return {
        act: async () => {
          const res = await asEditor('POST', `${R}/${id}/advance`, {});
          expect(res.status).toBe(200);
          expect(res.body).toMatchObject({ status: 'awaiting_approval', stageIndex: 0 });
          // The controller's own ticks do not move it either.
          await rolloutFeatureOf(t.app).controller.tick();
          expect(await rolloutOf(id)).toMatchObject({ status: 'awaiting_approval', stageIndex: 0 });
        },
        release: async () => expect(await approveRollout(id)).toMatchObject({ status: 'running', stageIndex: 1 }),
      };
    },
    'POST /api/projects/:projectKey/rollouts/:rolloutId/resume': async () => {
      const id = await running();
      expect((await asEditor('POST', `${R}/${id}/hold`, { reason: 'wait' })).body.status).toBe('held');
      time.advance(HOUR + 1);
      return {
        act: async () => {
          const res = await asEditor('POST', `${R}/${id}/resume`, {});
          expect(res.status).toBe(200);
          expect(res.body).toMatchObject({ status: 'awaiting_approval', stageIndex: 0 });
        },
        release: async () => expect(await approveRollout(id)).toMatchObject({ status: 'running', stageIndex: 1 }),
      };
    },
    'POST /api/projects/:projectKey/rollouts/:rolloutId/go': async () => {
      // A go continues the stage; the evaluation after it is the controller's, which passes the rule.
      const id = await running();
      await t.db.query(`update rollouts set state = jsonb_set(state, '{escalations}', $2::jsonb) where id = $1`, [id, JSON.stringify([{ gateIds: ['errors'], raisedAt: time.now }])]);
      time.advance(HOUR + 1);
      return {
        act: async () => {
          const res = await asEditor('POST', `${R}/${id}/go`, { comment: 'fine' });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body).toMatchObject({ status: 'awaiting_approval', stageIndex: 0 });
        },
        release: async () => expect(await approveRollout(id)).toMatchObject({ status: 'running', stageIndex: 1 }),
      };
    },
  };

  it('has an entry for every route that writes', () => {
    const writes = registeredRoutes(t.app)
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.url}`);
    const known = new Set<string>([...SERVING, ...Object.keys(NOT_SERVING)]);
    expect(writes.filter((w) => !known.has(w)), 'routes that write with no entry here: add a scenario to SERVING, or say in NOT_SERVING why they cannot change what is served').toEqual([]);
    expect([...known].filter((k) => !writes.includes(k)), 'entries for routes that no longer exist').toEqual([]);
  });

  it.each(SERVING)('%s: an editor changes nothing prod serves until another person approves', async (route) => {
    const { act, release } = await scenarios[route]();
    const before = await settled();
    await act();
    expect(await settled()).toEqual(before);
    await release();
    expect(await settled()).not.toEqual(before);
  });

  it("counts the approvals a plan's stage asks for: one approval lets the stage advance", async () => {
    const flagKey = await newFlag();
    const started = await asEditor('POST', R, { flagKey, environmentKey: 'prod', planKey: 'stage-approvals' });
    expect((await approveRollout(started.body.id)).status).toBe('running');
    time.advance(HOUR + 1);
    await rolloutFeatureOf(t.app).controller.tick();
    expect(await rolloutOf(started.body.id)).toMatchObject({ status: 'awaiting_approval', stageIndex: 0 });
    const before = await settled();
    expect(await approveRollout(started.body.id)).toMatchObject({ status: 'running', stageIndex: 1 });
    expect(await settled()).not.toEqual(before);
    const [decision] = (await t.request('GET', `${R}/${started.body.id}/decisions?limit=1`)).body.items;
    expect(decision).toMatchObject({ kind: 'advance', toStage: 1, decision: { approvedBy: approver.id } });
  });

  it('leaves no rule of an aborted rollout serving, and turns the flag off again where the rollout turned it on', async () => {
    const id = await running();
    const { flagKey } = await rolloutOf(id);
    const config = async () => (await t.request('GET', `${P}/flags/${flagKey}/environments/prod`)).body.config;
    expect(await config()).toMatchObject({ enabled: true, rules: [{ id: `rollout:${id}` }] });
    expect((await asEditor('POST', `${R}/${id}/abort`, {})).body.status).toBe('aborted');
    expect(await config()).toMatchObject({ enabled: false, rules: [] });
  });
});
