import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDefinitionSchema } from '@rollgate/contract';
import { PLAN_TEMPLATES, validatePlan, type Plan } from '@rollgate/core';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, auditActions, type TestUser } from '../flags/flag-testing.test-helpers.js';
import { loadPlanVersion, planValidationContext } from './plan-store.js';

const P = '/api/projects/plans';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A valid definition: canary 5% with an error-rate criterion, then everyone. */
const V1 = {
  source: 'test',
  stages: [
    {
      id: 'canary',
      name: 'Canary',
      audience: { percentage: 5 },
      minDuration: HOUR,
      maxDuration: DAY,
      gates: [{ id: 'errors', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 } }],
    },
    { id: 'all', name: 'Everyone', audience: { percentage: 100 }, minDuration: 0 },
  ],
};

/** V1 with its first stage changed. */
const withStage = (changes: Record<string, unknown>) => ({ ...V1, stages: [{ ...V1.stages[0], ...changes }, V1.stages[1]] });
const gate = (changes: Record<string, unknown>) => withStage({ gates: [{ ...V1.stages[0]?.gates?.[0], ...changes }] });

/** A template's definition as the API gives it: without id, version, name and description. */
function definitionOf(template: Plan): unknown {
  const { id: _id, version: _version, name: _name, description: _description, ...definition } = template;
  return JSON.parse(JSON.stringify(definition));
}

/** Row counts that a refused write must leave unchanged. */
async function counts(t: TestApp): Promise<{ plans: number; versions: number; audit: number }> {
  const [row] = await t.db.query<{ plans: number; versions: number; audit: number }>(
    'select (select count(*)::int from plans) as plans, (select count(*)::int from plan_versions) as versions, (select count(*)::int from audit_events) as audit',
  );
  return row as { plans: number; versions: number; audit: number };
}

async function projectId(t: TestApp, key: string): Promise<string> {
  const [row] = await t.db.query<{ id: string }>('select id from projects where key = $1', [key]);
  return (row as { id: string }).id;
}

describe.each(testBackends())('plans (%s)', (backend) => {
  let t: TestApp;
  let viewer: TestUser;
  let editor: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend);
    expect((await t.request('POST', '/api/projects', { key: 'plans', name: 'Plans' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'Production' })).status).toBe(201);
    viewer = await addUser(t, 'viewer');
    editor = await addUser(t, 'editor');
  });
  afterAll(() => t.close());

  it('lists the built-in templates with their seed sources, and what the project lacks for each', async () => {
    const res = await t.request('GET', `${P}/plan-templates`, undefined, viewer.token);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(5);
    expect(res.body.items.map((i: { key: string }) => i.key)).toEqual([
      'seed-001-staged-rollout',
      'seed-003-gradual-rollout',
      'seed-002-phased-rollout',
      'seed-002-ab-experiment',
      'seed-000-gradual-production-rollout',
    ]);
    expect(res.body.items.map((i: { seed: string }) => i.seed)).toEqual(['001', '003', '002', '002', '000']);
    for (const [i, template] of PLAN_TEMPLATES.entries()) {
      const item = res.body.items[i];
      expect(item).toMatchObject({ key: template.id, name: template.name, source: template.source });
      expect(item.source).toMatch(new RegExp(`^seed ${item.seed} "`));
      expect(item.definition).toEqual(definitionOf(template));
      // What the API returns, it accepts: each template parses with the plan definition schema.
      expect(planDefinitionSchema.safeParse(item.definition).success, template.id).toBe(true);
    }
    expect(res.body.items[0]).toMatchObject({ requires: { segments: ['internal-team', 'pilot-users'], environments: [] }, missing: { segments: ['internal-team', 'pilot-users'], environments: [] } });
    expect(res.body.items[1]).toMatchObject({ requires: { segments: [], environments: ['staging'] }, missing: { segments: [], environments: ['staging'] } });
    expect(res.body.items[2].missing).toEqual({ segments: [], environments: [] });
    expect((await t.request('GET', '/api/projects/ghost/plan-templates')).status).toBe(404);
    expect((await t.request('GET', `${P}/plan-templates`, undefined, null)).status).toBe(401);
  });

  it('refuses a template whose segments or environments the project lacks, saying which to create, and writes nothing', async () => {
    const before = await counts(t);
    const seed001 = await t.request('POST', `${P}/plans`, { key: 'staged', fromTemplate: 'seed-001-staged-rollout' });
    expect(seed001.status).toBe(400);
    expect(seed001.body.code).toBe('INVALID_CONFIGURATION');
    expect(seed001.body.message).toContain('segments "internal-team", "pilot-users" that the project does not have: create them first');
    expect(seed001.body.details.missingSegments).toEqual(['internal-team', 'pilot-users']);
    expect(seed001.body.details.issues).toContainEqual({ path: 'definition.stages[0].audience.segments[0]', message: 'unknown segment "internal-team": create it in the project first' });
    expect(seed001.body.details.issues).toContainEqual({ path: 'definition.stages[1].audience.segments[1]', message: 'unknown segment "pilot-users": create it in the project first' });

    const seed003 = await t.request('POST', `${P}/plans`, { key: 'gradual', fromTemplate: 'seed-003-gradual-rollout' });
    expect(seed003.status).toBe(400);
    expect(seed003.body.message).toContain('environment "staging" that the project does not have: create it first');
    expect(seed003.body.details.issues).toEqual([{ path: 'definition.stages[0].environment', message: 'unknown environment "staging"' }]);

    const unknown = await t.request('POST', `${P}/plans`, { key: 'x', fromTemplate: 'seed-999' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'fromTemplate' }] } });
    expect(unknown.body.details.issues[0].message).toContain('seed-001-staged-rollout');

    expect(await counts(t)).toEqual(before);
    expect((await t.request('GET', `${P}/plans`)).body.items).toEqual([]);
    expect((await t.request('GET', `${P}/plans/staged`)).status).toBe(404);
  });

  it('creates a plan from each template once its segments and environments exist', async () => {
    for (const key of ['internal-team', 'pilot-users']) {
      expect((await t.request('POST', `${P}/segments`, { key, name: key, definition: { included: [`${key}@example.com`] } })).status).toBe(201);
    }
    expect((await t.request('POST', `${P}/environments`, { key: 'staging', name: 'Staging', position: 0 })).status).toBe(201);
    const templates = await t.request('GET', `${P}/plan-templates`);
    for (const item of templates.body.items) expect(item.missing, item.key).toEqual({ segments: [], environments: [] });

    for (const template of PLAN_TEMPLATES) {
      const res = await t.request('POST', `${P}/plans`, { key: template.id, fromTemplate: template.id }, editor.token);
      expect(res.status, `${template.id}: ${JSON.stringify(res.body)}`).toBe(201);
      expect(res.body).toMatchObject({
        projectKey: 'plans',
        key: template.id,
        name: template.name,
        description: template.description ?? '',
        source: template.source,
        stageCount: template.stages.length,
        version: 1,
        archived: false,
        archivedAt: null,
      });
      expect(res.body.definition).toEqual(definitionOf(template));
      expect((await auditActions(t, 'plans', 1))[0]).toBe('plan.created');
      expect((await t.request('GET', `${P}/plans/${template.id}`, undefined, viewer.token)).body).toEqual(res.body);
      const v1 = await t.request('GET', `${P}/plans/${template.id}/versions/1`, undefined, viewer.token);
      expect(v1.status).toBe(200);
      expect(v1.body).toMatchObject({ projectKey: 'plans', planKey: template.id, version: 1, name: template.name, definition: definitionOf(template) });
      // The loaded core plan is the template itself, under the plan's key.
      const loaded = await loadPlanVersion(t.db, await projectId(t, 'plans'), template.id);
      expect(loaded?.plan).toEqual({ ...JSON.parse(JSON.stringify(template)), id: template.id, version: 1 });
    }

    // A template copy may take its own name and description.
    const named = await t.request('POST', `${P}/plans`, { key: 'my-gradual', name: 'My gradual rollout', description: 'Ours', fromTemplate: 'seed-003-gradual-rollout' });
    expect(named.status).toBe(201);
    expect(named.body).toMatchObject({ key: 'my-gradual', name: 'My gradual rollout', description: 'Ours', version: 1 });
    expect(named.body.definition).toEqual(definitionOf(PLAN_TEMPLATES[1] as Plan));
    expect((await t.request('POST', `${P}/plans`, { key: 'my-gradual', fromTemplate: 'seed-003-gradual-rollout' })).body.code).toBe('ALREADY_EXISTS');
  });

  it('creates a plan from a definition, audited, and lists plans by key without their definitions', async () => {
    const res = await t.request('POST', `${P}/plans`, { key: 'canary', name: 'Canary then all', definition: V1 }, editor.token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ key: 'canary', name: 'Canary then all', description: '', source: 'test', stageCount: 2, version: 1, definition: V1 });
    const audit = (await t.request('GET', '/api/audit?projectKey=plans&limit=1')).body.items[0];
    expect(audit).toMatchObject({ action: 'plan.created', resourceType: 'plan', resourceKey: 'canary', actor: { id: editor.id }, after: { key: 'canary', version: 1, definition: V1 } });

    const all = await t.request('GET', `${P}/plans`, undefined, viewer.token);
    expect(all.status).toBe(200);
    expect(all.body.items.map((p: { key: string }) => p.key)).toEqual(['canary', 'my-gradual', ...PLAN_TEMPLATES.map((tp) => tp.id).sort()]);
    expect(all.body.items[0]).not.toHaveProperty('definition');
    const page1 = await t.request('GET', `${P}/plans?limit=2`);
    expect(page1.body).toMatchObject({ items: [{ key: 'canary' }, { key: 'my-gradual' }], nextCursor: 'my-gradual' });
    const page2 = await t.request('GET', `${P}/plans?limit=2&cursor=my-gradual`);
    expect(page2.body.items.map((p: { key: string }) => p.key)).toEqual(['seed-000-gradual-production-rollout', 'seed-001-staged-rollout']);
  });

  it('saves a plan that completes below 100% or under-states a comparative gate\'s samples, with warnings saying what will happen; refuses durations over 365 days', async () => {
    const relative = { id: 'slower', metric: 'response-time-p95', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } };
    const canaryOnly = { source: 'test', stages: [{ ...V1.stages[0], minSamples: 100, gates: [relative] }] };
    const res = await t.request('POST', `${P}/plans`, { key: 'canary-only', name: 'Canary only', definition: canaryOnly }, editor.token);
    expect(res.status).toBe(201);
    expect(res.body.warnings.map((w: { path: string }) => w.path)).toEqual(['definition.stages[0].audience.percentage', 'definition.stages[0].gates[0].minSamples']);
    expect(res.body.warnings[0].message).toMatch(/^the last stage serves 5%: completing the rollout leaves the flag serving 5%, not everyone/);
    expect(res.body.warnings[1].message).toMatch(/waits for 500 samples per cohort .* minSamples 100 \(the stage's\) is lower, so this gate first decides at 500/);
    expect((await t.request('GET', `${P}/plans/canary-only`, undefined, viewer.token)).body.warnings).toEqual(res.body.warnings);
    expect((await t.request('GET', `${P}/plans/canary-only`)).body.warnings).toHaveLength(2);
    const before = await counts(t);
    const forever = await t.request('POST', `${P}/plans`, { key: 'forever', name: 'Forever', definition: withStage({ minDuration: 1e308 }) }, editor.token);
    expect(forever.status).toBe(400);
    expect(forever.body.details.issues).toEqual([{ path: 'definition.stages[0].minDuration', message: 'must be at most 365 days (31536000000 ms); got 1e+308 ms' }]);
    expect(await counts(t)).toEqual(before);
  });

  it('refuses every kind of invalid definition with a 400 naming the path, and writes nothing', async () => {
    const before = await counts(t);
    const listBefore = await t.request('GET', `${P}/plans?limit=500`);
    const invalid: [string, unknown, string][] = [
      ['no stages', { stages: [] }, 'definition.stages'],
      ['unknown metric', gate({ metric: 'happiness' }), 'definition.stages[0].gates[0].metric'],
      ['unknown segment', withStage({ audience: { segments: ['vips'], percentage: 5 } }), 'definition.stages[0].audience.segments[0]'],
      ['unknown environment', withStage({ environment: 'qa' }), 'definition.stages[0].environment'],
      ['empty audience', withStage({ audience: {} }), 'definition.stages[0].audience'],
      ['percentage over 100', withStage({ audience: { percentage: 150 } }), 'definition.stages[0].audience.percentage'],
      ['percentage going backwards', { stages: [V1.stages[1], { ...V1.stages[0], id: 'later' }] }, 'definition.stages[1].audience.percentage'],
      ['duplicate stage id', { stages: [V1.stages[0], { ...V1.stages[1], id: 'canary' }] }, 'definition.stages[1].id'],
      ['empty stage name', withStage({ name: '' }), 'definition.stages[0].name'],
      ['negative duration', withStage({ minDuration: -1 }), 'definition.stages[0].minDuration'],
      ['minimum over maximum', withStage({ minDuration: 2 * DAY }), 'definition.stages[0].minDuration'],
      ['timeout without maximum', { stages: [{ ...V1.stages[1], onTimeout: 'rollback' }] }, 'definition.stages[0].onTimeout'],
      ['fractional minSamples', withStage({ minSamples: 1.5 }), 'definition.stages[0].minSamples'],
      ['window longer than the stage', gate({ role: 'alert', condition: { type: 'absolute', op: '>', value: 2 }, sustainedFor: 2 * DAY }), 'definition.stages[0].gates[0].sustainedFor'],
      ['onBreach on a success gate', gate({ onBreach: 'disable' }), 'definition.stages[0].gates[0].onBreach'],
      ['control comparison at 100%', { stages: [{ ...V1.stages[1], gates: [{ id: 'slow', metric: 'response-time-p95', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } }] }] }, 'definition.stages[0].gates[0].condition.type'],
      ['duplicate gate id', withStage({ gates: [V1.stages[0]?.gates?.[0], V1.stages[0]?.gates?.[0]] }), 'definition.stages[0].gates[1].id'],
      ['matrix bands out of order', withStage({ matrices: [{ id: 'm', metric: 'error-rate', bands: [{ below: 1, action: 'continue' }, { below: 0.5, action: 'monitor' }, { action: 'rollback' }] }] }), 'definition.stages[0].matrices[0].bands[1].below'],
      ['matrix open band not last', withStage({ matrices: [{ id: 'm', metric: 'error-rate', bands: [{ action: 'continue' }, { below: 1, action: 'rollback' }] }] }), 'definition.stages[0].matrices[0].bands[0].below'],
      ['matrix of an unknown metric', withStage({ matrices: [{ id: 'm', metric: 'nope', bands: [{ action: 'continue' }] }] }), 'definition.stages[0].matrices[0].metric'],
      ['duplicate checklist id', { ...V1, preStartChecklist: [{ id: 'a', text: 'A' }], stages: [{ ...V1.stages[0], checklist: [{ id: 'a', text: 'again' }] }, V1.stages[1]] }, 'definition.stages[0].checklist[0].id'],
      ['empty checklist text', { ...V1, preStartChecklist: [{ id: 'a', text: '' }] }, 'definition.preStartChecklist[0].text'],
      ['no approvals needed', withStage({ approvals: { count: 0, role: 'approver' } }), 'definition.stages[0].approvals.count'],
    ];
    for (const [what, definition, path] of invalid) {
      const res = await t.request('POST', `${P}/plans`, { key: 'bad', name: 'Bad', definition }, editor.token);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.code, what).toBe('INVALID_CONFIGURATION');
      expect(res.body.details.issues.map((i: { path: string }) => i.path), what).toContain(path);
      expect(res.body.message, what).toMatch(/^Invalid plan/);
    }

    // Unknown fields and wrong shapes are refused by the schema, with their paths.
    const malformed: [string, unknown, string, string?][] = [
      ['unknown stage field', { key: 'bad', name: 'Bad', definition: withStage({ colour: 'red' }) }, 'definition.stages[0]', 'unknown field: colour'],
      ['unknown gate field', { key: 'bad', name: 'Bad', definition: gate({ threshold: 1 }) }, 'definition.stages[0].gates[0]', 'unknown field: threshold'],
      ['unknown condition field', { key: 'bad', name: 'Bad', definition: gate({ condition: { type: 'absolute', op: '<', value: 1, unit: '%' } }) }, 'definition.stages[0].gates[0].condition', 'unknown field: unit'],
      ['unknown audience field', { key: 'bad', name: 'Bad', definition: withStage({ audience: { percentage: 5, countries: ['fr'] } }) }, 'definition.stages[0].audience', 'unknown field: countries'],
      ['id and version in the definition', { key: 'bad', name: 'Bad', definition: { ...V1, id: 'bad', version: 3 } }, 'definition', 'unknown fields: id, version'],
      ['name in the definition', { key: 'bad', name: 'Bad', definition: { ...V1, name: 'Bad' } }, 'definition', 'unknown field: name'],
      ['unknown body field', { key: 'bad', name: 'Bad', definition: V1, owner: 'me' }, '', 'unknown field: owner'],
      ['a duration as text', { key: 'bad', name: 'Bad', definition: withStage({ minDuration: '1h' }) }, 'definition.stages[0].minDuration'],
      ['an unknown role', { key: 'bad', name: 'Bad', definition: gate({ role: 'warning' }) }, 'definition.stages[0].gates[0].role'],
      ['an unknown operator', { key: 'bad', name: 'Bad', definition: gate({ condition: { type: 'absolute', op: '==', value: 1 } }) }, 'definition.stages[0].gates[0].condition.op'],
      ['an unknown approver role', { key: 'bad', name: 'Bad', definition: withStage({ approvals: { count: 1, role: 'owner' } }) }, 'definition.stages[0].approvals.role'],
      ['stages not an array', { key: 'bad', name: 'Bad', definition: { stages: { id: 'x' } } }, 'definition.stages'],
      ['neither definition nor template', { key: 'bad', name: 'Bad' }, 'definition'],
      ['both definition and template', { key: 'bad', name: 'Bad', definition: V1, fromTemplate: 'seed-000-gradual-production-rollout' }, 'fromTemplate'],
      ['a definition without a name', { key: 'bad', definition: V1 }, 'name'],
      ['a bad key', { key: 'bad key', name: 'Bad', definition: V1 }, 'key'],
    ];
    for (const [what, body, path, message] of malformed) {
      const res = await t.request('POST', `${P}/plans`, body, editor.token);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.code, what).toBe('VALIDATION_FAILED');
      const issue = res.body.details.issues.find((i: { path: string }) => i.path === path);
      expect(issue, `${what}: ${JSON.stringify(res.body.details.issues)}`).toBeDefined();
      if (message !== undefined) expect(issue.message, what).toBe(message);
    }

    // The same checks apply to a new version.
    const patched = await t.request('PATCH', `${P}/plans/canary`, { version: 1, definition: gate({ metric: 'happiness' }) }, editor.token);
    expect(patched.status).toBe(400);
    expect(patched.body.details.issues).toEqual([{ path: 'definition.stages[0].gates[0].metric', message: 'unknown metric "happiness"' }]);
    const unknownField = await t.request('PATCH', `${P}/plans/canary`, { version: 1, definition: withStage({ colour: 'red' }) }, editor.token);
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.code).toBe('VALIDATION_FAILED');

    expect(await counts(t)).toEqual(before);
    expect((await t.request('GET', `${P}/plans/bad`)).status).toBe(404);
    expect((await t.request('GET', `${P}/plans?limit=500`)).body).toEqual(listBefore.body);
    expect((await t.request('GET', `${P}/plans/canary`)).body).toMatchObject({ version: 1, definition: V1 });
  });

  it('saves a changed definition as a new version and keeps the old one exactly as it was', async () => {
    const V2 = withStage({ audience: { percentage: 10 }, minDuration: 2 * HOUR });
    const res = await t.request('PATCH', `${P}/plans/canary`, { version: 1, definition: V2 }, editor.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: 'canary', name: 'Canary then all', version: 2, definition: V2 });
    expect((await t.request('GET', `${P}/plans/canary`)).body).toEqual(res.body);
    const audit = (await t.request('GET', '/api/audit?projectKey=plans&limit=1')).body.items[0];
    expect(audit).toMatchObject({ action: 'plan.updated', resourceKey: 'canary', before: { version: 1, definition: V1 }, after: { version: 2, definition: V2 } });

    const v1 = await t.request('GET', `${P}/plans/canary/versions/1`, undefined, viewer.token);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ planKey: 'canary', version: 1, name: 'Canary then all', description: '', definition: V1, createdBy: editor.id });
    expect((await t.request('GET', `${P}/plans/canary/versions/2`)).body).toMatchObject({ version: 2, definition: V2 });
    expect((await t.request('GET', `${P}/plans/canary/versions/3`)).body).toMatchObject({ code: 'NOT_FOUND', details: { currentVersion: 2 } });
    expect((await t.request('GET', `${P}/plans/canary/versions/0`)).status).toBe(400);

    // A new name is a new version too; the versions before keep their name.
    const renamed = await t.request('PATCH', `${P}/plans/canary`, { version: 2, name: 'Careful canary', description: 'Ten percent first' });
    expect(renamed.body).toMatchObject({ version: 3, name: 'Careful canary', description: 'Ten percent first', definition: V2 });
    expect((await t.request('GET', `${P}/plans/canary/versions/2`)).body).toMatchObject({ name: 'Canary then all', description: '' });
    expect((await t.request('GET', `${P}/plans/canary/versions/3`)).body).toMatchObject({ name: 'Careful canary', description: 'Ten percent first', definition: V2 });

    // A change that changes nothing adds no version.
    const audits = (await counts(t)).audit;
    const same = await t.request('PATCH', `${P}/plans/canary`, { version: 3, name: 'Careful canary', definition: V2 });
    expect(same.status).toBe(200);
    expect(same.body.version).toBe(3);
    expect((await counts(t)).audit).toBe(audits);

    // What the rollouts feature loads: core plans, each version as it was.
    const pid = await projectId(t, 'plans');
    const first = await loadPlanVersion(t.db, pid, 'canary', 1);
    expect(first).toMatchObject({ planId: res.body.id, version: 1, archived: false });
    expect(first?.plan).toEqual({ id: 'canary', version: 1, name: 'Canary then all', ...V1 });
    const current = await loadPlanVersion(t.db, pid, 'canary');
    expect(current?.plan).toEqual({ id: 'canary', version: 3, name: 'Careful canary', description: 'Ten percent first', ...V2 });
    expect(validatePlan(current?.plan, await planValidationContext(t.db, pid))).toEqual([]);
    expect(await loadPlanVersion(t.db, pid, 'canary', 9)).toBeUndefined();
    expect(await loadPlanVersion(t.db, pid, 'ghost')).toBeUndefined();
  });

  it('answers a stale version with 409 VERSION_CONFLICT and the current version, changing nothing', async () => {
    const before = await counts(t);
    for (const [method, url, body] of [
      ['PATCH', `${P}/plans/canary`, { version: 1, definition: V1 }],
      ['PATCH', `${P}/plans/canary`, { version: 2, name: 'Lost' }],
      ['POST', `${P}/plans/canary/archive`, { version: 2 }],
    ] as const) {
      const res = await t.request(method, url, body);
      expect(res.status, `${method} ${url}`).toBe(409);
      expect(res.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 3, current: { key: 'canary', version: 3 } } });
    }
    expect(await counts(t)).toEqual(before);

    // Two writers with the same version: one wins, the other is told.
    const both = await Promise.all([
      t.request('PATCH', `${P}/plans/canary`, { version: 3, name: 'Writer A' }),
      t.request('PATCH', `${P}/plans/canary`, { version: 3, name: 'Writer B' }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await t.request('GET', `${P}/plans/canary`)).body.version).toBe(4);
    expect((await counts(t)).versions).toBe(before.versions + 1);
  });

  it('archives a plan: still readable, out of the list, frozen, and marked for the rollouts feature', async () => {
    const res = await t.request('POST', `${P}/plans/canary/archive`, { version: 4 }, editor.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: 'canary', archived: true, version: 4 });
    expect(res.body.archivedAt).toEqual(expect.any(String));
    expect((await auditActions(t, 'plans', 1))[0]).toBe('plan.archived');

    expect((await t.request('GET', `${P}/plans`)).body.items.map((p: { key: string }) => p.key)).not.toContain('canary');
    expect((await t.request('GET', `${P}/plans?archived=true`)).body).toMatchObject({ items: [{ key: 'canary', archived: true }], nextCursor: null });
    expect((await t.request('GET', `${P}/plans/canary`, undefined, viewer.token)).body).toMatchObject({ archived: true, version: 4 });
    expect((await t.request('GET', `${P}/plans/canary/versions/1`, undefined, viewer.token)).body).toMatchObject({ definition: V1 });
    expect(await loadPlanVersion(t.db, await projectId(t, 'plans'), 'canary')).toMatchObject({ version: 4, archived: true });

    const before = await counts(t);
    const frozen = await t.request('PATCH', `${P}/plans/canary`, { version: 4, name: 'Changed' });
    expect(frozen.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'archived' } });
    expect((await t.request('POST', `${P}/plans/canary/archive`, { version: 4 })).body).toMatchObject({ code: 'INVALID_STATE' });
    const reused = await t.request('POST', `${P}/plans`, { key: 'canary', name: 'Again', definition: V1 });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('ALREADY_EXISTS');
    expect(await counts(t)).toEqual(before);

    const back = await t.request('POST', `${P}/plans/canary/unarchive`, { version: 4 }, editor.token);
    expect(back.body).toMatchObject({ archived: false, archivedAt: null, version: 4 });
    expect((await auditActions(t, 'plans', 1))[0]).toBe('plan.unarchived');
  });

  it('refuses writes to viewers with 403 and to anonymous callers with 401, changing nothing', async () => {
    const before = await counts(t);
    const writes: [string, string, unknown][] = [
      ['POST', `${P}/plans`, { key: 'by-viewer', name: 'x', definition: V1 }],
      ['POST', `${P}/plans`, { key: 'by-viewer', fromTemplate: 'seed-000-gradual-production-rollout' }],
      ['PATCH', `${P}/plans/canary`, { version: 4, name: 'x' }],
      ['POST', `${P}/plans/canary/archive`, { version: 4 }],
      ['POST', `${P}/plans/canary/unarchive`, { version: 4 }],
    ];
    for (const [method, url, body] of writes) {
      const res = await t.request(method as 'POST', url, body, viewer.token);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN', details: { required: 'editor' } });
      expect((await t.request(method as 'POST', url, body, null)).status).toBe(401);
    }
    expect(await counts(t)).toEqual(before);
    for (const url of [`${P}/plans`, `${P}/plans/canary`, `${P}/plans/canary/versions/1`, `${P}/plan-templates`]) {
      expect((await t.request('GET', url, undefined, viewer.token)).status, url).toBe(200);
    }
    expect((await t.request('GET', '/api/projects/ghost/plans')).status).toBe(404);
    expect((await t.request('PATCH', `${P}/plans/ghost`, { version: 1, name: 'x' })).status).toBe(404);
  });
});
