import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PLAN_TEMPLATES, SEED_000_GRADUAL_PRODUCTION_ROLLOUT, SEED_001_STAGED_ROLLOUT, SEED_002_AB_EXPERIMENT, SEED_003_GRADUAL_ROLLOUT, decide, type Plan } from '@rollgate/core';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, type TestUser } from '../flags/flag-testing.test-helpers.js';
import { transitionFor } from './rollout-controller.js';
import { rolloutFeatureOf, type RolloutFeature } from './rollout-feature.js';
import { getRollout, loadPlanVersions } from './rollout-store.js';
import { DAY, FakeSource, HOUR, insertPlan, MINUTE, TestClock } from './rollouts.test-helpers.js';

const P = '/api/projects/shop';
const R = `${P}/rollouts`;
const KEYS = new Map<Plan, string>(PLAN_TEMPLATES.map((p, i) => [p, `template-${i}`]));

describe.each(testBackends())('staged rollouts (%s)', (backend) => {
  let t: TestApp;
  let feature: RolloutFeature;
  let approver: TestUser;
  let approver2: TestUser;
  let editor: TestUser;
  const time = new TestClock();
  const fake = new FakeSource();
  let flagCounter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: time.clock, config: { rolloutTickMs: 0 } });
    feature = rolloutFeatureOf(t.app);
    feature.setObservationSource(fake.source);
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    for (const key of ['staging', 'production']) expect((await t.request('POST', `${P}/environments`, { key, name: key })).status).toBe(201);
    for (const key of ['internal-team', 'pilot-users']) {
      expect((await t.request('POST', `${P}/segments`, { key, name: key, definition: { included: [`${key}-1`] } })).status).toBe(201);
    }
    for (const [plan, key] of KEYS) await insertPlan(t.db, 'shop', key, plan);
    approver = await addUser(t, 'approver', 'Ann Approver');
    approver2 = await addUser(t, 'approver', 'Abe Approver');
    editor = await addUser(t, 'editor', 'Ed Editor');
  });
  afterAll(() => t.close());
  afterEach(async () => {
    // Each test's rollouts stop with it, so that ticks of the next test decide only for its own.
    const rows = await t.db.query<{ id: string }>("select id from rollouts where status in ('draft', 'running', 'held', 'awaiting_approval')");
    for (const row of rows) expect((await t.request('POST', `${R}/${row.id}/abort`, {})).status).toBe(200);
  });
  beforeEach(() => {
    fake.overrides.clear();
    fake.silent = false;
    fake.assignments = undefined;
    fake.variants.clear();
    feature.controller.hooks = {};
  });

  /** Seed 002's calculator: the current one (off) and the four models of its A/B test groups. */
  const MODELS = ['advanced', 'simplified', 'choice', 'automatic', 'off'];

  async function newFlag(variations?: readonly string[]): Promise<string> {
    const key = `flag-${++flagCounter}`;
    const body = variations === undefined ? { key, name: key } : { key, name: key, type: 'string', variations: variations.map((v) => ({ key: v, value: v })) };
    expect((await t.request('POST', `${P}/flags`, body)).status).toBe(201);
    return key;
  }

  async function start(plan: Plan, extra: Record<string, unknown> = {}): Promise<{ id: string; flagKey: string; body: any }> {
    const experiment = plan.stages.some((s) => s.experiment !== undefined);
    const flagKey = await newFlag(experiment ? MODELS : undefined);
    const res = await t.request('POST', R, {
      flagKey,
      environmentKey: 'production',
      planKey: KEYS.get(plan),
      preStartChecklist: (plan.preStartChecklist ?? []).map((i) => i.id),
      ...(experiment ? { variation: 'automatic' } : {}),
      ...extra,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id, flagKey, body: res.body };
  }

  const get = async (id: string) => (await t.request('GET', `${R}/${id}`)).body;
  const configOf = async (flagKey: string, env = 'production') => (await t.request('GET', `${P}/flags/${flagKey}/environments/${env}`)).body;
  const decisionsOf = async (id: string) => (await t.request('GET', `${R}/${id}/decisions?limit=500`)).body.items as any[];

  /** Ticks the checklist items and gives the approvals the current stage asks for. */
  async function satisfy(id: string): Promise<void> {
    const r = await get(id);
    const stage = r.plan.stages[r.stageIndex];
    for (const item of stage.checklist ?? []) {
      const res = await t.request('POST', `${R}/${id}/checklist/${item.id}`, {}, editor.token);
      if (res.status !== 200) break; // the last tick or approval may already have moved the stage on
    }
    if (stage.approvals && (await get(id)).stageIndex === r.stageIndex) {
      for (const user of [approver, approver2].slice(0, stage.approvals.count)) {
        const res = await t.request('POST', `${R}/${id}/approve`, { comment: 'looks good' }, user.token);
        expect([200, 409]).toContain(res.status);
      }
    }
  }

  /** Ticks in steps of `step` until `until` holds, satisfying checklists and approvals when asked. */
  async function drive(id: string, until: (r: any) => boolean, step = HOUR, maxSteps = 5000, autoSatisfy = true): Promise<any> {
    for (let i = 0; i < maxSteps; i++) {
      await feature.controller.tick(time.advance(step));
      const row = await getRollout(t.db, id);
      if (row === undefined) throw new Error('rollout vanished');
      const r = { status: row.status, stageIndex: row.state.stageIndex };
      if (until(r)) return get(id);
      if (row.status === 'awaiting_approval' && autoSatisfy) {
        await satisfy(id);
        const after = await getRollout(t.db, id);
        if (after && until({ status: after.status, stageIndex: after.state.stageIndex })) return get(id);
      }
      if (['rolled_back', 'aborted', 'held'].includes(row.status)) throw new Error(`rollout ${row.status}: ${JSON.stringify((await get(id)).statusSummary)}`);
    }
    throw new Error(`not reached after ${maxSteps} steps: ${JSON.stringify((await get(id)).statusSummary)}`);
  }

  describe('start and the owned rule', () => {
    it('starts a plan: the rollout rules go to the front, the flag is enabled, and it is audited with a decision record and an outbox row', async () => {
      const flagKey = await newFlag();
      const before = await configOf(flagKey);
      expect(
        (await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, { version: before.version, config: { ...before.config, rules: [{ id: 'mine', serve: { variation: 'on' } }] } }))
          .status,
      ).toBe(200);
      const res = await t.request('POST', R, {
        flagKey,
        environmentKey: 'production',
        planKey: KEYS.get(SEED_001_STAGED_ROLLOUT),
        preStartChecklist: SEED_001_STAGED_ROLLOUT.preStartChecklist?.map((i) => i.id),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ status: 'running', stageIndex: 0, variation: 'on', planVersion: 1, flagKey, environmentKey: 'production', version: 2 });
      const id = res.body.id;
      const config = (await configOf(flagKey)).config;
      expect(config.enabled).toBe(true);
      expect(config.rules).toEqual([
        { id: `rollout:${id}:segment:internal-team`, description: expect.any(String), segments: ['internal-team'], serve: { variation: 'on' } },
        { id: `rollout:${id}`, description: expect.any(String), serve: { rollout: { percentage: 0, variation: 'on' } } },
        { id: 'mine', serve: { variation: 'on' } },
      ]);
      const decisions = await decisionsOf(id);
      expect(decisions.map((d) => d.kind)).toEqual(['start']);
      expect(decisions[0]).toMatchObject({ fromVersion: 1, toStage: 0, toPercentage: 0, actor: { kind: 'user' } });
      const audit = await t.request('GET', `/api/audit?projectKey=shop&limit=5`);
      expect(audit.body.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['rollout.start', 'flag.environment.updated']));
      const [outbox] = await t.db.query<{ n: number }>('select count(*)::int as n from notification_outbox where rollout_id = $1', [id]);
      expect(outbox?.n).toBe(1);
    });

    it('refuses a manual edit of the owned rule, naming the rollout, and allows other edits', async () => {
      const { id, flagKey } = await start(SEED_001_STAGED_ROLLOUT);
      const current = await configOf(flagKey);
      const rules = current.config.rules.map((r: any) => (r.id === `rollout:${id}` ? { ...r, serve: { rollout: { percentage: 50, variation: 'on' } } } : r));
      const res = await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, { version: current.version, config: { ...current.config, rules } });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('INVALID_STATE');
      expect(res.body.message).toContain(id);
      expect(res.body.message).toContain(`/api/projects/shop/rollouts/${id}`);
      expect(res.body.details).toMatchObject({ rolloutId: id, state: 'running' });
      const removed = await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, { version: current.version, config: { ...current.config, rules: [] } });
      expect(removed.status).toBe(409);
      const added = await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, {
        version: current.version,
        config: { ...current.config, rules: [...current.config.rules, { id: 'rollout:mine', serve: { variation: 'off' } }] },
      });
      expect(added.status).toBe(409);
      const other = await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, {
        version: current.version,
        config: { ...current.config, rules: [...current.config.rules, { id: 'beta', serve: { variation: 'on' } }] },
      });
      expect(other.status, JSON.stringify(other.body)).toBe(200);
      expect((await t.request('POST', `${R}/${id}/abort`, {})).status).toBe(200);
      const after = await configOf(flagKey);
      expect((await t.request('PUT', `${P}/flags/${flagKey}/environments/production`, { version: after.version, config: { ...after.config, rules: [] } })).status).toBe(200);
    });

    it('stays a draft until the pre-start checklist is ticked, and refuses a second rollout of the same flag', async () => {
      const flagKey = await newFlag();
      const items = SEED_000_GRADUAL_PRODUCTION_ROLLOUT.preStartChecklist ?? [];
      const res = await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: KEYS.get(SEED_000_GRADUAL_PRODUCTION_ROLLOUT), preStartChecklist: [items[0]?.id] }, editor.token);
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('draft');
      expect((await configOf(flagKey)).config.rules).toBeUndefined();
      const second = await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: KEYS.get(SEED_000_GRADUAL_PRODUCTION_ROLLOUT) });
      expect(second.status).toBe(409);
      expect(second.body.details.rolloutId).toBe(res.body.id);
      expect((await get(res.body.id)).statusSummary.waitingFor[0]).toEqual({ kind: 'start' });
      for (const item of items.slice(1)) expect((await t.request('POST', `${R}/${res.body.id}/checklist/${item.id}`, {}, editor.token)).status).toBe(200);
      const r = await get(res.body.id);
      expect(r.status).toBe('running');
      expect((await configOf(flagKey)).config.rules[0].serve).toEqual({ rollout: { percentage: 10, variation: 'on' } });
      expect((await t.request('POST', `${R}/${res.body.id}/checklist/nope`, {})).status).toBe(404);
    });

    it('refuses unknown plans, unknown variations and unknown checklist items', async () => {
      const flagKey = await newFlag();
      expect((await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: 'nope' })).status).toBe(404);
      expect((await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: 'template-0', variation: 'blue' })).status).toBe(400);
      expect((await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: 'template-0', preStartChecklist: ['x'] })).status).toBe(400);
      expect((await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: 'template-0' }, approver.token.replace(/.$/, 'x'))).status).toBe(401);
    });

    it('refuses an archived plan', async () => {
      const flagKey = await newFlag();
      const plan = await t.request('POST', `${P}/plans`, { key: 'to-archive', fromTemplate: (await t.request('GET', `${P}/plan-templates`)).body.items[3].key });
      expect(plan.status).toBe(201);
      expect((await t.request('POST', `${P}/plans/to-archive/archive`, { version: plan.body.version })).status).toBe(200);
      const refused = await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: 'to-archive' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'archived' } });
    });
  });

  describe('actions', () => {
    it('holds, resumes, refuses wrong states with 409 and details.state, rolls back to previous and to zero, restarts, disables', async () => {
      const { id, flagKey } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      expect((await t.request('POST', `${R}/${id}/resume`, {})).body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'running' } });
      const held = await t.request('POST', `${R}/${id}/hold`, { reason: 'checking dashboards' }, editor.token);
      expect(held.status).toBe(200);
      expect(held.body.status).toBe('held');
      expect((await get(id)).statusSummary.waitingFor).toEqual([{ kind: 'resume' }]);
      expect((await t.request('POST', `${R}/${id}/hold`, { reason: 'again' })).status).toBe(409);
      expect((await t.request('POST', `${R}/${id}/resume`, {})).body.status).toBe('running');
      // Advance needs the approvals; a non-admin cannot force.
      expect((await t.request('POST', `${R}/${id}/advance`, { force: true }, editor.token)).status).toBe(403);
      await satisfy(id);
      expect((await t.request('POST', `${R}/${id}/advance`, {}, editor.token)).body.stageIndex).toBe(1);
      expect((await configOf(flagKey)).config.rules[0].serve.rollout.percentage).toBe(25);
      const back = await t.request('POST', `${R}/${id}/rollback`, { to: 'previous', reason: 'latency' }, editor.token);
      expect(back.body).toMatchObject({ status: 'running', stageIndex: 0 });
      expect((await configOf(flagKey)).config.rules[0].serve.rollout.percentage).toBe(10);
      const zero = await t.request('POST', `${R}/${id}/rollback`, { to: 'zero' }, editor.token);
      expect(zero.body.status).toBe('rolled_back');
      expect((await configOf(flagKey)).config.rules[0].serve.rollout.percentage).toBe(0);
      expect((await t.request('POST', `${R}/${id}/rollback`, { to: 'zero' })).body.details.state).toBe('rolled_back');
      const rollbacks = (await t.request('GET', `${R}/${id}/rollbacks`)).body.items;
      expect(rollbacks.map((r: any) => [r.fromStage, r.toStage, r.fromPercentage, r.toPercentage, r.trigger, r.actor.id])).toEqual([
        [0, 0, 10, 0, 'manual', editor.id],
        [1, 0, 25, 10, 'manual', editor.id],
      ]);
      const restarted = await t.request('POST', `${R}/${id}/restart`, {});
      expect(restarted.body).toMatchObject({ status: 'running', stageIndex: 0 });
      expect((await configOf(flagKey)).config.rules[0].serve.rollout.percentage).toBe(10);
      const disabled = await t.request('POST', `${R}/${id}/disable`, { comment: 'kill' });
      expect(disabled.body.status).toBe('rolled_back');
      expect((await configOf(flagKey)).config.enabled).toBe(false);
      expect((await t.request('GET', `${R}/${id}/rollbacks`)).body.items[0]).toMatchObject({ kind: 'disable', trigger: 'manual' });
      expect((await t.request('GET', `${R}?status=rolled_back&flagKey=${flagKey}`)).body.items.map((r: any) => r.id)).toEqual([id]);
    });

    it('refuses a self-approval, lets an admin force an advance (audited), and answers viewers 403 on actions', async () => {
      const { id } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      const self = await t.request('POST', `${R}/${id}/approve`, { comment: 'mine' });
      expect(self.status).toBe(403);
      expect(self.body.code).toBe('SELF_APPROVAL');
      const viewer = await addUser(t, 'viewer');
      expect((await t.request('POST', `${R}/${id}/hold`, { reason: 'x' }, viewer.token)).status).toBe(403);
      // With no data, force is refused with the reason (409), and nothing is recorded.
      fake.silent = true;
      const before = await decisionsOf(id);
      const refused = await t.request('POST', `${R}/${id}/advance`, { force: true });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'running', decision: 'hold' } });
      expect(refused.body.details.waitingFor[0]).toEqual({ kind: 'data', metric: 'error-rate', cohort: 'treatment' });
      expect(refused.body.message).toMatch(/cannot be forced on: Holding: no data for error-rate, .* no data is not healthy\./);
      expect(await decisionsOf(id)).toEqual(before);
      expect((await get(id)).state.advanceRequest).toBeUndefined();
      fake.silent = false;
      const forced = await t.request('POST', `${R}/${id}/advance`, { force: true });
      expect(forced.body.stageIndex).toBe(1);
      const kinds = (await decisionsOf(id)).map((d) => d.kind);
      expect(kinds.slice(0, 2)).toEqual(['advance', 'force_advance_request']);
      expect((await decisionsOf(id))[0].decision.forced).toBe(true);
      // The decision the request caused is audited with that request's id, like the request itself.
      const audited = await t.db.query<{ action: string; request_id: string | null }>(
        "select action, request_id from audit_events where resource_id = $1 and action in ('rollout.force_advance_request', 'rollout.advance')",
        [id],
      );
      expect(audited.map((a) => a.action).sort()).toEqual(['rollout.advance', 'rollout.force_advance_request']);
      for (const a of audited) expect(a.request_id).toBe(forced.headers['x-request-id']);
    });
  });

  describe('people are named by name', () => {
    it('a rejection names the person in the status and the decision log, and the log\'s actor carries the name', async () => {
      const { id } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      const waiting = await drive(id, (r) => r.status === 'awaiting_approval', 12 * HOUR, 100, false);
      for (const item of waiting.plan.stages[0].checklist ?? []) expect((await t.request('POST', `${R}/${id}/checklist/${item.id}`, {}, editor.token)).status).toBe(200);
      expect((await t.request('POST', `${R}/${id}/reject`, { comment: 'wait for the fix' }, approver.token)).status).toBe(200);
      const summary = (await get(id)).statusSummary.summary;
      expect(summary).toContain('rejected by Ann Approver ("wait for the fix")');
      expect(summary).not.toMatch(/usr_/);
      const [rejection] = await decisionsOf(id);
      expect(rejection).toMatchObject({ kind: 'reject', actor: { kind: 'user', id: approver.id, name: 'Ann Approver' } });
      expect(rejection.reason).toContain('Rejected by Ann Approver');
      expect((await decisionsOf(id)).at(-1).actor.name).toBe('Admin');
      expect((await t.request('POST', `${R}/${id}/hold`, { reason: 'checking' }, editor.token)).status).toBe(200);
      expect((await get(id)).statusSummary.summary).toMatch(/^Held by Ed Editor for /);
    });
  });

  describe('actions accept an empty body', () => {
    it('an action without fields takes an empty body with a JSON content type, or none; one that needs fields says which', async () => {
      const { id } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      const post = (action: string, payload?: string) =>
        t.app.inject({ method: 'POST', url: `${R}/${id}/${action}`, headers: { authorization: `Bearer ${t.adminToken}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });
      const hold = await post('hold', '');
      expect(hold.statusCode).toBe(400);
      expect(hold.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { where: 'body' } });
      expect((await post('hold', '{"reason": "look"}')).statusCode).toBe(200);
      expect((await post('resume', '')).statusCode).toBe(200);
      expect((await post('advance', '  ')).statusCode).toBe(200);
      expect((await post('abort')).statusCode).toBe(200);
      expect((await get(id)).status).toBe('aborted');
    });
  });

  describe('controller on simulated time', () => {
    for (const plan of PLAN_TEMPLATES) {
      it(`runs ${plan.id} to completion when healthy`, async () => {
        const { id, flagKey } = await start(plan);
        // Seed 002's test groups: "choice" has the best satisfaction, and General Availability serves the winner.
        if (plan === SEED_002_AB_EXPERIMENT) fake.variants.set('satisfaction-score', satisfaction(4.3));
        const done = await drive(id, (r) => r.status === 'completed');
        expect(done.statusSummary).toMatchObject({ status: 'completed', percentage: 100, phase: plan.stages.length });
        const served = plan === SEED_002_AB_EXPERIMENT ? 'choice' : 'on';
        expect((await configOf(flagKey)).config.rules[0].serve).toEqual({ rollout: { percentage: 100, variation: served } });
        const kinds = (await decisionsOf(id)).map((d) => d.kind).reverse();
        expect(kinds.filter((k) => k === 'advance')).toHaveLength(plan.stages.length - 1);
        expect(kinds.filter((k) => k === 'complete')).toHaveLength(1);
        if (plan === SEED_003_GRADUAL_ROLLOUT) {
          expect((await configOf(flagKey, 'staging')).config.rules[0].serve).toEqual({ rollout: { percentage: 100, variation: 'on' } });
        }
      });
    }

    /** Satisfaction scores of seed 002's four groups, "choice" scoring `choice`. */
    function satisfaction(choice: number) {
      return {
        advanced: { value: 4.0, samples: 5_000, variance: 1 },
        simplified: { value: 4.0, samples: 5_000, variance: 1 },
        choice: { value: choice, samples: 5_000, variance: 1 },
        automatic: { value: 4.02, samples: 5_000, variance: 1 },
      };
    }

    it('keeps the A/B result when its stage ends: General Availability serves the winner, the advance carries the numbers, and GET /experiment still answers', async () => {
      const { id, flagKey } = await start(SEED_002_AB_EXPERIMENT);
      await drive(id, (r) => r.stageIndex === 1, 12 * HOUR);
      fake.variants.set('satisfaction-score', satisfaction(4.3));
      fake.assignments = { treatment: 10_000, control: 30_000, variants: { advanced: 2_500, simplified: 2_480, choice: 2_520, automatic: 2_500 } };
      const live = await t.request('GET', `${R}/${id}/experiment`);
      expect(live.body).toMatchObject({ live: true, stageId: 'controlled', winner: 'choice', history: [] });
      await drive(id, (r) => r.stageIndex === 2, 12 * HOUR);
      fake.variants.clear();
      fake.assignments = undefined;
      expect((await configOf(flagKey)).config.rules[0].serve).toEqual({ rollout: { percentage: 100, variation: 'choice' } });
      const advance = (await decisionsOf(id)).find((d) => d.kind === 'advance' && d.toStage === 2);
      expect(advance.reason).toMatch(/Experiment of "Controlled Expansion": "choice" wins: better than "advanced" on satisfaction-score and worse on none\. "General Availability" serves "choice"/);
      const numbers = advance.decision.evidence.experiment.metrics.find((m: any) => m.metric === 'satisfaction-score');
      expect(numbers.groups.map((g: any) => [g.variation, g.verdict, g.aggregate.value])).toEqual([
        ['simplified', 'inconclusive', 4],
        ['choice', 'better', 4.3],
        ['automatic', 'inconclusive', 4.02],
      ]);
      // The experiment stage has ended; its final analysis is kept, whatever the observations say now.
      const past = await t.request('GET', `${R}/${id}/experiment`);
      expect(past.status).toBe(200);
      expect(past.body).toMatchObject({ live: false, stageIndex: 1, stageId: 'controlled', winner: 'choice', chosen: 'choice', endedBy: 'advance', srm: { mismatch: false } });
      expect(past.body.history).toHaveLength(1);
      expect(past.body.history[0].metrics.find((m: any) => m.metric === 'satisfaction-score').groups[1].verdict).toBe('better');
    });

    it('without a winner, waits for a person to choose what General Availability serves; the choice is validated and kept with who made it', async () => {
      const { id, flagKey } = await start(SEED_002_AB_EXPERIMENT);
      await drive(id, (r) => r.stageIndex === 1, 12 * HOUR);
      const waiting = await drive(id, (r) => r.status === 'awaiting_approval', 12 * HOUR, 200, false);
      await satisfy(id);
      const r = await get(id);
      expect(r).toMatchObject({ status: 'awaiting_approval', stageIndex: 1 });
      expect(r.statusSummary.waitingFor).toEqual([{ kind: 'variation', stageId: 'controlled', choices: ['advanced', 'simplified', 'choice', 'automatic'] }]);
      expect(r.statusSummary.summary).toMatch(/but the experiment of "Controlled Expansion" has no winner: no group is shown better than "advanced" on any metric\. A person chooses/);
      expect(waiting.stageIndex).toBe(1);
      const before = (await decisionsOf(id)).length;
      const wrong = await t.request('POST', `${R}/${id}/advance`, { variation: 'off' }, approver.token);
      expect(wrong.status).toBe(400);
      expect(wrong.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'variation' }] } });
      expect(wrong.body.message).toMatch(/"off" is not one of the groups of the experiment of "Controlled Expansion": "advanced", "simplified", "choice", "automatic"/);
      expect((await decisionsOf(id)).length).toBe(before);
      const chosen = await t.request('POST', `${R}/${id}/advance`, { variation: 'simplified' }, approver.token);
      expect(chosen.body).toMatchObject({ status: 'running', stageIndex: 2 });
      expect((await configOf(flagKey)).config.rules[0].serve).toEqual({ rollout: { percentage: 100, variation: 'simplified' } });
      const [advance] = await decisionsOf(id);
      expect(advance.reason).toMatch(/"General Availability" serves "simplified", chosen by Ann Approver\./);
      expect((await t.request('GET', `${R}/${id}/experiment`)).body).toMatchObject({ live: false, chosen: 'simplified', chosenBy: 'Ann Approver' });
      // At General Availability there is nothing left to choose.
      expect((await t.request('POST', `${R}/${id}/advance`, { variation: 'choice' }, approver.token)).body.message).toMatch(/there is none/);
    });

    it('a person\'s abort of the experiment stage keeps its final analysis too', async () => {
      const { id } = await start(SEED_002_AB_EXPERIMENT);
      await drive(id, (r) => r.stageIndex === 1, 12 * HOUR);
      fake.variants.set('satisfaction-score', satisfaction(4.3));
      expect((await t.request('POST', `${R}/${id}/abort`, {}, editor.token)).status).toBe(200);
      fake.variants.clear();
      expect((await t.request('GET', `${R}/${id}/experiment`)).body).toMatchObject({ live: false, endedBy: 'abort', winner: 'choice' });
    });

    it('a matrix band in "monitor" is named, with its value and thresholds, in the status and once in the decision log', async () => {
      const { id } = await start(SEED_003_GRADUAL_ROLLOUT);
      await drive(id, (r) => r.stageIndex === 1, 12 * HOUR);
      fake.overrides.set('error-rate', { value: 0.3, since: time.now, aggregate: 0.3 });
      const band = /error-rate 0\.3% is at or above 0\.1% and under 0\.5% \(band "Minor"\): monitor \(matrix [\w-]+; samples: treatment 100000\)/;
      await feature.controller.tick(time.advance(HOUR));
      await feature.controller.tick(time.advance(HOUR));
      const status = (await get(id)).statusSummary;
      expect(status.health).toBe('yellow');
      expect(status.summary).toMatch(band);
      const monitors = (await decisionsOf(id)).filter((d) => d.kind === 'monitor');
      expect(monitors).toHaveLength(1);
      expect(monitors[0].reason).toMatch(band);
      expect(monitors[0].decision.evidence.matrices[0]).toMatchObject({ action: 'monitor', band: { label: 'Minor' }, range: { from: 0.1, below: 0.5 } });
    });

    async function toPilot(): Promise<{ id: string; flagKey: string }> {
      const started = await start(SEED_001_STAGED_ROLLOUT);
      await drive(started.id, (r) => r.stageIndex === 1);
      return started;
    }

    it('rolls back at once when the error rate reaches 6% in the pilot', async () => {
      const { id, flagKey } = await toPilot();
      expect((await configOf(flagKey)).config.rules.map((r: any) => r.id)).toEqual([`rollout:${id}:segment:internal-team`, `rollout:${id}:segment:pilot-users`, `rollout:${id}`]);
      fake.overrides.set('error-rate', { value: 6, since: time.now, aggregate: 6 });
      const result = await feature.controller.tick(time.advance(10 * MINUTE));
      expect(result).toMatchObject({ leader: true, applied: 1 });
      const r = await get(id);
      expect(r.status).toBe('rolled_back');
      expect(r.statusSummary.health).toBe('red');
      const rules = (await configOf(flagKey)).config.rules;
      expect(rules.map((x: any) => x.id)).toEqual([`rollout:${id}`]);
      expect(rules[0].serve).toEqual({ rollout: { percentage: 0, variation: 'on' } });
      const [rollback] = (await t.request('GET', `${R}/${id}/rollbacks`)).body.items;
      expect(rollback).toMatchObject({ kind: 'rollback', fromStage: 1, toStage: 1, fromPercentage: 5, toPercentage: 0, actor: { kind: 'system', id: 'rollout-controller' } });
      expect(rollback.at).toBe(new Date(time.now).toISOString());
      expect(rollback.metrics).toContainEqual(expect.objectContaining({ metric: 'error-rate', treatment: 6, threshold: '> 5' }));
      expect(rollback.trigger).toBeTruthy();
      // A rolled-back rollout can be restarted.
      fake.overrides.clear();
      expect((await t.request('POST', `${R}/${id}/restart`, {})).body.status).toBe('running');
    });

    it('escalates after 2.5% for 61 minutes and waits for a person, then continues on go', async () => {
      const { id } = await toPilot();
      for (let i = 0; i < 48; i++) await feature.controller.tick(time.advance(HOUR));
      fake.step = 10 * MINUTE;
      try {
        fake.overrides.set('error-rate', { value: 2.5, since: time.now });
        for (let i = 0; i < 5; i++) await feature.controller.tick(time.advance(10 * MINUTE));
        expect((await decisionsOf(id))[0].kind).not.toBe('escalate');
        expect((await get(id)).statusSummary.health).toBe('yellow'); // an alert breached, not yet for an hour
        await feature.controller.tick(time.advance(11 * MINUTE));
        const [last] = await decisionsOf(id);
        expect(last.kind).toBe('escalate');
        const r = await get(id);
        expect(r.status).toBe('running');
        expect(r.statusSummary.health).toBe('yellow');
        expect(r.statusSummary.waitingFor).toEqual([{ kind: 'decision', gateIds: ['manual-error-rate'] }]);
        // Waiting: more ticks do nothing.
        const count = (await decisionsOf(id)).length;
        await feature.controller.tick(time.advance(10 * MINUTE));
        expect(await decisionsOf(id)).toHaveLength(count);
        expect((await t.request('POST', `${R}/${id}/go`, { comment: 'known noisy dependency' }, approver.token)).status).toBe(200);
        expect((await get(id)).statusSummary.waitingFor[0].kind).not.toBe('decision');
      } finally {
        fake.step = HOUR;
      }
    });

    it('holds and says "no data" when the source is silent', async () => {
      const { id, flagKey } = await toPilot();
      fake.silent = true;
      const before = (await decisionsOf(id)).length;
      for (let i = 0; i < 24; i++) await feature.controller.tick(time.advance(HOUR));
      const r = await get(id);
      expect(r).toMatchObject({ status: 'running', stageIndex: 1 });
      expect(r.statusSummary.health).toBe('yellow');
      expect(r.statusSummary.summary).toMatch(/no data/);
      expect(r.statusSummary.waitingFor).toContainEqual({ kind: 'data', metric: 'error-rate', cohort: 'treatment' });
      expect(await decisionsOf(id)).toHaveLength(before);
      const rules = (await configOf(flagKey)).config.rules;
      expect(rules.find((x: any) => x.id === `rollout:${id}`).serve.rollout.percentage).toBe(5);
      // Past its maximum duration the stage holds for a person; it never advanced on silence.
      for (let i = 0; i < 14; i++) await feature.controller.tick(time.advance(DAY));
      expect(await get(id)).toMatchObject({ status: 'held', stageIndex: 1 });
      expect((await decisionsOf(id))[0]).toMatchObject({ kind: 'hold', decision: { trigger: 'maxDuration' } });
    });

    it('holds for a person with "assignment problem" when the cohorts do not match the split, and a resume acknowledges it', async () => {
      const { id } = await start(SEED_003_GRADUAL_ROLLOUT);
      await drive(id, (r) => r.stageIndex === 1);
      // The 10% stage: 12% of assigned contexts in treatment is far outside what a 10/90 split allows.
      fake.assignments = { treatment: 1_200, control: 8_800 };
      await feature.controller.tick(time.advance(HOUR));
      const held = await get(id);
      expect(held).toMatchObject({ status: 'held', stageIndex: 1 });
      const [decision] = await decisionsOf(id);
      expect(decision).toMatchObject({ kind: 'hold', decision: { trigger: 'srm', requiresPerson: true } });
      expect(decision.reason).toMatch(/^Holding: assignment problem: the treatment cohort has 12% of 10000 assigned contexts where the split expects 10%/);
      expect(decision.decision.srm).toMatchObject({ mismatch: true, observed: [1200, 8800] });
      // A correct split never holds.
      expect((await t.request('POST', `${R}/${id}/resume`, { comment: 'bot traffic filtered' }, approver.token)).status).toBe(200);
      fake.assignments = { treatment: 1_004, control: 8_996 };
      const after = await drive(id, (r) => r.stageIndex === 2);
      expect(after.status).toBe('running');
    });

    it('runs seed 002\'s A/B test groups as the Controlled Expansion stage: a weighted split, per-group verdicts, and an SRM hold between groups', async () => {
      const { id, flagKey } = await start(SEED_002_AB_EXPERIMENT);
      // Beta serves the rollout's own variation; there is no experiment to read yet.
      expect((await configOf(flagKey)).config.rules[0].serve).toEqual({ rollout: { percentage: 5, variation: 'automatic' } });
      const early = await t.request('GET', `${R}/${id}/experiment`);
      expect(early.status).toBe(409);
      expect(early.body).toMatchObject({ code: 'INVALID_STATE' });
      expect(early.body.message).toMatch(/runs no experiment, and none has ended yet; its plan runs one at stage 2 \("Controlled Expansion"\)/);

      await drive(id, (r) => r.stageIndex === 1);
      expect((await configOf(flagKey)).config.rules[0].serve).toEqual({
        rollout: {
          percentage: 25,
          variants: [
            { variation: 'advanced', weight: 25_000 },
            { variation: 'simplified', weight: 25_000 },
            { variation: 'choice', weight: 25_000 },
            { variation: 'automatic', weight: 25_000 },
          ],
        },
      });
      const rate = (value: number) => ({ value, samples: 20_000 });
      fake.variants.set('error-rate', { advanced: rate(0.05), simplified: rate(0.5), choice: rate(0.05), automatic: rate(0.05) });
      fake.variants.set('satisfaction-score', {
        advanced: { value: 4.0, samples: 5_000, variance: 1 },
        simplified: { value: 4.0, samples: 5_000, variance: 1 },
        choice: { value: 4.3, samples: 5_000, variance: 1 },
        automatic: { value: 4.02, samples: 5_000, variance: 1 },
      });
      fake.assignments = { treatment: 10_000, control: 30_000, variants: { advanced: 2_500, simplified: 2_480, choice: 2_520, automatic: 2_500 } };
      const res = await t.request('GET', `${R}/${id}/experiment`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ rolloutId: id, stageIndex: 1, stageId: 'controlled', stageName: 'Controlled Expansion', control: 'advanced', comparisons: 12, srm: { mismatch: false } });
      expect(res.body.groups.map((g: any) => [g.variation, g.name, g.assigned])).toEqual([
        ['advanced', 'Advanced Model Only', 2500],
        ['simplified', 'Simplified Model Only', 2480],
        ['choice', 'Choice Between Models', 2520],
        ['automatic', 'Automatic Model Selection', 2500],
      ]);
      const verdicts = Object.fromEntries(res.body.metrics.map((m: any) => [m.metric, m.groups.map((g: any) => g.verdict)]));
      expect(verdicts['error-rate']).toEqual(['worse', 'inconclusive', 'inconclusive']);
      expect(verdicts['satisfaction-score']).toEqual(['inconclusive', 'better', 'inconclusive']);
      expect(verdicts.adoption).toEqual(['no_data', 'no_data', 'no_data']);

      // One group far above its weight: the rollout holds for a person.
      fake.assignments = { treatment: 10_000, control: 30_000, variants: { advanced: 3_100, simplified: 2_300, choice: 2_300, automatic: 2_300 } };
      await feature.controller.tick(time.advance(HOUR));
      expect(await get(id)).toMatchObject({ status: 'held', stageIndex: 1 });
      const [decision] = await decisionsOf(id);
      expect(decision).toMatchObject({ kind: 'hold', decision: { trigger: 'srm' } });
      expect(decision.reason).toMatch(/experiment's groups do not match their weights: advanced 31% \(expected 25%\)/);
      expect((await t.request('GET', `${R}/${id}/experiment`)).body.srm.mismatch).toBe(true);
    });

    it('refuses to start an experiment on a flag without the groups\' variations', async () => {
      const flagKey = await newFlag();
      const res = await t.request('POST', R, { flagKey, environmentKey: 'production', planKey: KEYS.get(SEED_002_AB_EXPERIMENT) });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('INVALID_CONFIGURATION');
      expect(res.body.message).toMatch(/stages\[1\]\.experiment\.groups\[0\]: flag flag-\d+ has no variation "advanced" \(it has "on", "off"\)/);
      expect((await t.request('GET', `${R}?flagKey=${flagKey}`)).body.items).toEqual([]);
    });

    it('waits for the approval to go to GA; the starter cannot give it', async () => {
      const { id } = await start(SEED_001_STAGED_ROLLOUT);
      await drive(id, (r) => r.stageIndex === 2);
      const waiting = await drive(id, (r) => r.status === 'awaiting_approval', HOUR, 500, false);
      const stage = waiting.plan.stages[2];
      for (const item of stage.checklist ?? []) expect((await t.request('POST', `${R}/${id}/checklist/${item.id}`, {}, editor.token)).status).toBe(200);
      const r = await get(id);
      expect(r).toMatchObject({ status: 'awaiting_approval', stageIndex: 2 });
      expect(r.statusSummary.waitingFor).toEqual([{ kind: 'approval', approvals: 0, required: 1, role: 'approver' }]);
      expect(r.statusSummary.health).toBe('green');
      expect((await t.request('POST', `${R}/${id}/approve`, {})).body.code).toBe('SELF_APPROVAL');
      await feature.controller.tick(time.advance(HOUR));
      expect(await get(id)).toMatchObject({ status: 'awaiting_approval', stageIndex: 2 });
      const approved = await t.request('POST', `${R}/${id}/approve`, { comment: 'ship it' }, approver.token);
      expect(approved.body).toMatchObject({ status: 'running', stageIndex: 3 });
      expect((await get(id)).statusSummary).toMatchObject({ phase: 4, percentage: 100, stageName: 'General Availability' });
    });

    it('neither loses nor doubles a step: a decision applied twice, or after the rollout changed, is a no-op', async () => {
      const { id } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      await satisfy(id);
      time.advance(8 * DAY);
      const row = (await getRollout(t.db, id))!;
      const plan = (await loadPlanVersions(t.db, [{ planId: row.planId, version: row.planVersion }])).get(`${row.planId}:${row.planVersion}`)!;
      const decision = decide(plan, row.state, await feature.controller.observe(row, plan, time.now), time.now);
      expect(decision.kind).toBe('advance');
      const transition = transitionFor(row, plan, decision, time.now)!;
      expect(await feature.controller.apply(row, plan, transition, new Date(time.now))).toBe(true);
      expect(await feature.controller.apply(row, plan, transition, new Date(time.now))).toBe(false);
      expect((await decisionsOf(id)).filter((d) => d.kind === 'advance')).toHaveLength(1);
      expect((await get(id)).stageIndex).toBe(1);
      // A decision from before a person acted is dropped.
      const stale = (await getRollout(t.db, id))!;
      expect((await t.request('POST', `${R}/${id}/hold`, { reason: 'wait' })).status).toBe(200);
      const hold = transitionFor(stale, plan, { ...decision, kind: 'rollback', to: 'zero', toStage: null }, time.now)!;
      expect(await feature.controller.apply(stale, plan, hold, new Date(time.now))).toBe(false);
      expect((await get(id)).status).toBe('held');
    });

    it('a tick that fails mid-apply leaves everything as it was; the next tick applies once', async () => {
      const { id, flagKey } = await start(SEED_000_GRADUAL_PRODUCTION_ROLLOUT);
      await satisfy(id);
      const snapshot = async () => ({
        rollout: await getRollout(t.db, id),
        config: await configOf(flagKey),
        decisions: (await decisionsOf(id)).length,
        audit: (await t.db.query('select count(*)::int as n from audit_events'))[0],
        outbox: (await t.db.query('select count(*)::int as n from notification_outbox'))[0],
      });
      time.advance(8 * DAY);
      const before = await snapshot();
      feature.controller.hooks = {
        beforeCommit: () => {
          throw new Error('crash before commit');
        },
      };
      const failed = await feature.controller.tick();
      expect(failed).toMatchObject({ applied: 0, failed: 1 });
      expect(await snapshot()).toEqual(before);
      feature.controller.hooks = {};
      expect(await feature.controller.tick()).toMatchObject({ applied: 1, failed: 0 });
      expect(await feature.controller.tick()).toMatchObject({ applied: 0 });
      expect((await decisionsOf(id)).filter((d) => d.kind === 'advance')).toHaveLength(1);
      expect((await configOf(flagKey)).config.rules[0].serve.rollout.percentage).toBe(25);
    });
  });
});

describe.skipIf(!process.env.ROLLGATE_TEST_DATABASE_URL)('staged rollouts: two replicas on one PostgreSQL database', () => {
  it('only one controller decides: ticking concurrently gives exactly one decision per step', async () => {
    const { openTestDatabase } = await import('../../testing.test-helpers.js');
    const { openPostgres } = await import('../../db/postgres.js');
    const { bootstrap } = await import('../../bootstrap.js');
    const { buildApp } = await import('../../app.js');
    const { defaultConfig } = await import('../../config.js');
    const pino = (await import('pino')).default;
    const first = await openTestDatabase('postgres');
    const second = await openPostgres(first.url as string, pino({ level: 'silent' }), 5);
    const time = new TestClock();
    const fake = new FakeSource();
    const token = `rg_admin_test_${'x'.repeat(32)}`;
    await bootstrap(first.db, token);
    const apps = [];
    for (const db of [first.db, second]) {
      const app = await buildApp({ config: defaultConfig({ rolloutTickMs: 0 }), db, clock: time.clock });
      await app.ready();
      rolloutFeatureOf(app).setObservationSource(fake.source);
      apps.push(app);
    }
    try {
      const [a] = apps;
      const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
        const res = await a!.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
        return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
      };
      expect((await call('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
      expect((await call('POST', `${P}/environments`, { key: 'production', name: 'production' })).status).toBe(201);
      expect((await call('POST', `${P}/flags`, { key: 'f', name: 'f' })).status).toBe(201);
      // A plan without approvals, so only the controller moves it: 10 -> 25 -> 50 -> 75 -> 100, no checklists.
      const plan: Plan = { ...SEED_000_GRADUAL_PRODUCTION_ROLLOUT, stages: SEED_000_GRADUAL_PRODUCTION_ROLLOUT.stages.map(({ checklist: _c, approvals: _a, ...s }) => s) };
      await insertPlan(first.db, 'shop', 'plan', plan);
      const started = await call('POST', R, { flagKey: 'f', environmentKey: 'production', planKey: 'plan', preStartChecklist: (plan.preStartChecklist ?? []).map((i) => i.id) });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const controllers = apps.map((app) => rolloutFeatureOf(app).controller);
      let leaders = 0;
      for (let step = 0; step < 6 * 7 * 24; step++) {
        const now = time.advance(HOUR);
        const results = await Promise.all(controllers.map((c) => c.tick(now)));
        leaders += results.filter((r) => r.leader).length;
        expect(results.reduce((n, r) => n + r.applied, 0)).toBeLessThanOrEqual(1);
        if ((await getRollout(first.db, started.body.id))?.status === 'completed') break;
      }
      expect(leaders).toBeGreaterThan(0);
      const kinds = (await call('GET', `${R}/${started.body.id}/decisions?limit=100`)).body.items.map((d: any) => d.kind).reverse();
      expect(kinds).toEqual(['start', 'advance', 'advance', 'advance', 'advance', 'complete']);
    } finally {
      for (const app of apps) await app.close();
      await second.close();
      await first.drop();
    }
  });
});
