import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, applied, adminUserId, auditActions, stateOf, snapshotVersions, type TestUser } from './flag-testing.test-helpers.js';

const P = '/api/projects/gated';
const ON = { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } };
const HALF = { enabled: true, offVariation: 'off', fallthrough: { rollout: { percentage: 50, variation: 'on' } } };

describe.each(testBackends())('change requests (%s)', (backend) => {
  let t: TestApp;
  let adminId: string;
  let approver: TestUser;
  let editor: TestUser;
  let viewer: TestUser;
  let admin2: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend);
    adminId = await adminUserId(t);
    expect((await t.request('POST', '/api/projects', { key: 'gated', name: 'Gated' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'dev', name: 'Dev' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'prod', name: 'Prod', requiresApproval: true })).status).toBe(201);
    for (const key of ['checkout', 'search', 'archivable']) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    approver = await addUser(t, 'approver', 'Bob');
    editor = await addUser(t, 'editor', 'Eve');
    viewer = await addUser(t, 'viewer', 'Val');
    admin2 = await addUser(t, 'admin', 'Ada');
  });
  afterAll(() => t.close());

  const flagEnv = async (flag: string, env: string) => (await t.request('GET', `${P}/flags/${flag}/environments/${env}`)).body;
  const propose = async (flag: string, config: unknown, token?: string, comment?: string) => {
    const current = await flagEnv(flag, 'prod');
    const res = await t.request('PUT', `${P}/flags/${flag}/environments/prod`, { version: current.version, config, ...(comment ? { comment } : {}) }, token);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  };
  const decide = (id: string, action: string, body: unknown, token?: string) => t.request('POST', `${P}/change-requests/${id}/${action}`, body, token);

  it('applies changes at once where no approval is needed', async () => {
    const res = await t.request('PUT', `${P}/flags/checkout/environments/dev`, { version: 1, config: ON });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(2);
  });

  it('turns a change in an environment that needs approval into a pending change request, changing nothing else', async () => {
    const snapshots = await snapshotVersions(t, 'gated');
    const res = await t.request('PUT', `${P}/flags/checkout/environments/prod`, { version: 1, config: ON, comment: 'launch' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      projectKey: 'gated',
      environmentKey: 'prod',
      flagKey: 'checkout',
      status: 'pending',
      authorId: adminId,
      baseVersion: 1,
      config: ON,
      comment: 'launch',
      decidedBy: null,
      decidedAt: null,
      decisionComment: null,
      version: 1,
    });
    expect(typeof res.body.id).toBe('string');
    expect(await flagEnv('checkout', 'prod')).toMatchObject({ version: 1, config: { enabled: false } });
    expect(await snapshotVersions(t, 'gated')).toEqual(snapshots);
    expect((await auditActions(t, 'gated', 1))[0]).toBe('change_request.created');
    expect((await t.request('GET', `${P}/change-requests/${res.body.id}`)).body).toEqual(res.body);
  });

  it('refuses invalid or stale proposals without making a request', async () => {
    const before = await stateOf(t, 'gated');
    const bad = await t.request('PUT', `${P}/flags/checkout/environments/prod`, { version: 1, config: { ...ON, offVariation: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_CONFIGURATION');
    const stale = await t.request('PUT', `${P}/flags/checkout/environments/prod`, { version: 7, config: ON });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 1 } });
    const byViewer = await t.request('PUT', `${P}/flags/checkout/environments/prod`, { version: 1, config: ON }, viewer.token);
    expect(byViewer.status).toBe(403);
    expect(await stateOf(t, 'gated')).toEqual(before);
  });

  it('lists change requests, newest first, with filters and paging', async () => {
    await propose('search', HALF, editor.token);
    const all = await t.request('GET', `${P}/change-requests`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((r: { flagKey: string }) => r.flagKey)).toEqual(['search', 'checkout']);
    expect((await t.request('GET', `${P}/change-requests?flagKey=checkout`)).body.items).toHaveLength(1);
    expect((await t.request('GET', `${P}/change-requests?status=applied`)).body.items).toHaveLength(0);
    expect((await t.request('GET', `${P}/change-requests?environmentKey=dev`)).body.items).toHaveLength(0);
    const page1 = await t.request('GET', `${P}/change-requests?limit=1`, undefined, viewer.token);
    expect(page1.body.items.map((r: { flagKey: string }) => r.flagKey)).toEqual(['search']);
    const page2 = await t.request('GET', `${P}/change-requests?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((r: { flagKey: string }) => r.flagKey)).toEqual(['checkout']);
    expect(page2.body.nextCursor).toBeNull();
    expect((await t.request('GET', `${P}/change-requests?status=maybe`)).body.code).toBe('VALIDATION_FAILED');
    expect((await t.request('GET', `${P}/change-requests/chr_nope`)).status).toBe(404);
  });

  it('refuses self-approval, the wrong role, a stale request version, and bad bodies, changing nothing', async () => {
    const [request] = (await t.request('GET', `${P}/change-requests?flagKey=checkout`)).body.items;
    const before = await stateOf(t, 'gated');
    const self = await decide(request.id, 'approve', { version: 1 });
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('SELF_APPROVAL');
    const selfReject = await decide(request.id, 'reject', { version: 1 });
    expect(selfReject.body.code).toBe('SELF_APPROVAL');
    const byEditor = await decide(request.id, 'approve', { version: 1 }, editor.token);
    expect(byEditor.status).toBe(403);
    expect(byEditor.body).toMatchObject({ code: 'FORBIDDEN', details: { required: 'approver' } });
    const stale = await decide(request.id, 'approve', { version: 2 }, approver.token);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 1 } });
    expect((await decide(request.id, 'approve', { version: 1, extra: true }, approver.token)).body.code).toBe('VALIDATION_FAILED');
    expect((await decide(request.id, 'approve', undefined, approver.token)).body.code).toBe('VALIDATION_FAILED');
    expect((await decide('chr_nope', 'approve', { version: 1 }, approver.token)).status).toBe(404);
    const cancelByOther = await decide(request.id, 'cancel', { version: 1 }, editor.token);
    expect(cancelByOther.status).toBe(403);
    expect(cancelByOther.body.code).toBe('FORBIDDEN');
    expect(await stateOf(t, 'gated')).toEqual(before);
  });

  it('applies an approved request in one transaction: configuration, version, snapshot, audit', async () => {
    const [request] = (await t.request('GET', `${P}/change-requests?flagKey=checkout`)).body.items;
    const snapshots = await snapshotVersions(t, 'gated');
    const res = await decide(request.id, 'approve', { version: 1, comment: 'lgtm' }, approver.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: request.id, status: 'applied', decidedBy: approver.id, decisionComment: 'lgtm', version: 2 });
    expect(typeof res.body.decidedAt).toBe('string');
    expect(await flagEnv('checkout', 'prod')).toMatchObject({ version: 2, config: ON });
    expect(await snapshotVersions(t, 'gated')).toEqual({ dev: snapshots.dev, prod: (snapshots.prod as number) + 1 });
    expect(await auditActions(t, 'gated', 2)).toEqual(['change_request.approved', 'flag.environment.updated']);
    const again = await decide(request.id, 'approve', { version: 2 }, admin2.token);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'applied' } });
  });

  it('marks a request conflict when the configuration changed after it was made', async () => {
    const first = await propose('checkout', HALF, editor.token);
    const second = await propose('checkout', { ...ON, enabled: false }, approver.token);
    expect(first.baseVersion).toBe(2);
    expect(second.baseVersion).toBe(2);
    expect((await decide(first.id, 'approve', { version: 1 }, approver.token)).status).toBe(200);
    const snapshots = await snapshotVersions(t, 'gated');
    const res = await decide(second.id, 'approve', { version: 1 }, admin2.token);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 3, baseVersion: 2 } });
    const stored = (await t.request('GET', `${P}/change-requests/${second.id}`)).body;
    expect(stored).toMatchObject({ status: 'conflict', decidedBy: admin2.id, version: 2 });
    expect(await flagEnv('checkout', 'prod')).toMatchObject({ version: 3, config: HALF });
    expect(await snapshotVersions(t, 'gated')).toEqual(snapshots);
    expect((await auditActions(t, 'gated', 1))[0]).toBe('change_request.conflict');
  });

  it('re-validates at approval: a request that became invalid is refused and stays pending', async () => {
    expect((await t.request('POST', `${P}/segments`, { key: 'pilots', name: 'Pilots', definition: { included: ['p1'] } })).status).toBe(201);
    const request = await propose('search', { ...ON, rules: [{ id: 'pilots', segments: ['pilots'], serve: { variation: 'on' } }] }, editor.token);
    // A pending request does not hold the segment: it can be deleted.
    expect((await t.request('DELETE', `${P}/segments/pilots`)).status).toBe(204);
    const before = await stateOf(t, 'gated');
    const res = await decide(request.id, 'approve', { version: 1 }, approver.token);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_CONFIGURATION');
    expect(res.body.details.issues[0]).toMatchObject({ path: 'config.rules[0].segments[0]' });
    expect(await stateOf(t, 'gated')).toEqual(before);
    expect((await t.request('GET', `${P}/change-requests/${request.id}`)).body.status).toBe('pending');
  });

  it('rejects and cancels pending requests', async () => {
    const pending = (await t.request('GET', `${P}/change-requests?flagKey=search&status=pending`)).body.items;
    expect(pending).toHaveLength(2);
    const [newest, oldest] = pending;
    const rejected = await decide(newest.id, 'reject', { version: 1, comment: 'segment is gone' }, approver.token);
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', decidedBy: approver.id, decisionComment: 'segment is gone', version: 2 });
    expect((await auditActions(t, 'gated', 1))[0]).toBe('change_request.rejected');
    const cancelled = await decide(oldest.id, 'cancel', { version: 1 }, editor.token);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', decidedBy: editor.id, version: 2 });
    expect((await auditActions(t, 'gated', 1))[0]).toBe('change_request.cancelled');
    const late = await decide(oldest.id, 'approve', { version: 2 }, approver.token);
    expect(late.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'cancelled' } });
    // An admin may cancel someone else's request.
    const other = await propose('search', ON, editor.token);
    const byAdmin = await decide(other.id, 'cancel', { version: 1, comment: 'not now' }, admin2.token);
    expect(byAdmin.body).toMatchObject({ status: 'cancelled', decidedBy: admin2.id });
    expect((await flagEnv('search', 'prod')).version).toBe(1);
  });

  it('applies a request once when two approvers approve it at the same time', async () => {
    const request = await propose('search', HALF, editor.token);
    const version = (await flagEnv('search', 'prod')).version;
    const results = await Promise.all([decide(request.id, 'approve', { version: 1 }, approver.token), decide(request.id, 'approve', { version: 1 }, admin2.token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await flagEnv('search', 'prod')).version).toBe(version + 1);
    expect((await t.request('GET', `${P}/change-requests/${request.id}`)).body.status).toBe('applied');
  });

  it('does not apply a request to a flag archived since', async () => {
    const request = await propose('archivable', ON, editor.token);
    const flag = (await t.request('GET', `${P}/flags/archivable`)).body;
    const archiving = await t.request('POST', `${P}/flags/archivable/archive`, { version: flag.version });
    expect(archiving.status).toBe(202);
    expect((await applied(t, 'gated', archiving, approver.token)).status).toBe(200);
    const before = await stateOf(t, 'gated');
    const res = await decide(request.id, 'approve', { version: 1 }, approver.token);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'archived' } });
    expect(await stateOf(t, 'gated')).toEqual(before);
  });
});
