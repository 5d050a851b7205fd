import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, applied, auditActions, lastSnapshotChange, snapshotVersions, stateOf, type TestUser } from '../flags/flag-testing.test-helpers.js';

const P = '/api/projects/segs';
const INTERNAL = {
  attribute: 'email',
  included: ['alice@example.com'],
  excluded: ['mallory@example.com'],
  rules: [{ conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }],
};

describe.each(testBackends())('segments (%s)', (backend) => {
  let t: TestApp;
  let viewer: TestUser;
  let editor: TestUser;
  let approver: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend);
    expect((await t.request('POST', '/api/projects', { key: 'segs', name: 'Segments' })).status).toBe(201);
    for (const key of ['dev', 'prod']) expect((await t.request('POST', `${P}/environments`, { key, name: key, requiresApproval: key === 'prod' })).status).toBe(201);
    viewer = await addUser(t, 'viewer');
    editor = await addUser(t, 'editor');
    approver = await addUser(t, 'approver');
  });
  afterAll(() => t.close());

  const bumped = (before: Record<string, number>) => Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v + 1]));

  it('creates and reads a segment, bumping the snapshot of every environment', async () => {
    const before = await snapshotVersions(t, 'segs');
    const res = await t.request('POST', `${P}/segments`, { key: 'internal', name: 'Internal', definition: INTERNAL }, editor.token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ key: 'internal', projectKey: 'segs', name: 'Internal', description: '', definition: INTERNAL, version: 1 });
    expect(await snapshotVersions(t, 'segs')).toEqual(bumped(before));
    expect(await lastSnapshotChange(t, 'segs', 'prod')).toEqual({ type: 'segment', key: 'internal', removed: false });
    expect((await auditActions(t, 'segs', 1))[0]).toBe('segment.created');
    expect((await t.request('GET', `${P}/segments/internal`, undefined, viewer.token)).body).toEqual(res.body);
    expect((await t.request('GET', `${P}/segments/nobody`)).status).toBe(404);
  });

  it('lists segments by key with cursor paging', async () => {
    for (const key of ['a-seg', 'b-seg', 'c-seg']) expect((await t.request('POST', `${P}/segments`, { key, name: key, definition: {} })).status).toBe(201);
    const all = await t.request('GET', `${P}/segments`);
    expect(all.body.items.map((s: { key: string }) => s.key)).toEqual(['a-seg', 'b-seg', 'c-seg', 'internal']);
    const page1 = await t.request('GET', `${P}/segments?limit=3`);
    expect(page1.body.nextCursor).toBe('c-seg');
    const page2 = await t.request('GET', `${P}/segments?limit=3&cursor=c-seg`);
    expect(page2.body).toMatchObject({ items: [{ key: 'internal' }], nextCursor: null });
  });

  it('updates a segment with optimistic concurrency', async () => {
    const before = await snapshotVersions(t, 'segs');
    const res = await t.request('PATCH', `${P}/segments/internal`, { version: 1, definition: { ...INTERNAL, included: ['alice@example.com', 'bob@example.com'] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, name: 'Internal', definition: { included: ['alice@example.com', 'bob@example.com'] } });
    expect(await snapshotVersions(t, 'segs')).toEqual(bumped(before));
    expect((await auditActions(t, 'segs', 1))[0]).toBe('segment.updated');
    const stale = await t.request('PATCH', `${P}/segments/internal`, { version: 1, name: 'Lost' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
    const renamed = await t.request('PATCH', `${P}/segments/internal`, { version: 2, name: 'Staff', description: 'Employees' });
    expect(renamed.body).toMatchObject({ version: 3, name: 'Staff', description: 'Employees', definition: { attribute: 'email' } });
  });

  it('refuses bad segments with a 4xx and changes nothing', async () => {
    const before = await stateOf(t, 'segs');
    const unsafe = { rules: [{ conditions: [{ attribute: 'email', operator: 'matches', values: ['^a(?=b)'] }] }] };
    const cases: [string, string, unknown, number, string, string?][] = [
      ['POST', `${P}/segments`, { key: 'unsafe', name: 'x', definition: unsafe }, 400, 'INVALID_CONFIGURATION', 'definition.rules[0].conditions[0].values[0]'],
      ['POST', `${P}/segments`, { key: 'bad-cidr', name: 'x', definition: { rules: [{ conditions: [{ attribute: 'ip', operator: 'cidr', values: ['10.0.0.0/33'] }] }] } }, 400, 'INVALID_CONFIGURATION', 'definition.rules[0].conditions[0].values[0]'],
      ['POST', `${P}/segments`, { key: 'no-conds', name: 'x', definition: { rules: [{ conditions: [] }] } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/segments`, { key: 'extra', name: 'x', definition: { included: [], colour: 'red' } }, 400, 'VALIDATION_FAILED', 'definition'],
      ['POST', `${P}/segments`, { key: 'types', name: 'x', definition: { included: 'alice' } }, 400, 'VALIDATION_FAILED', 'definition.included'],
      ['POST', `${P}/segments`, { key: 'no-def', name: 'x' }, 400, 'VALIDATION_FAILED', 'definition'],
      ['POST', `${P}/segments`, { key: 'internal', name: 'again', definition: {} }, 409, 'ALREADY_EXISTS'],
      ['PATCH', `${P}/segments/internal`, { version: 3, definition: unsafe }, 400, 'INVALID_CONFIGURATION', 'definition.rules[0].conditions[0].values[0]'],
      ['PATCH', `${P}/segments/internal`, { name: 'no version' }, 400, 'VALIDATION_FAILED', 'version'],
      ['PATCH', `${P}/segments/ghost`, { version: 1 }, 404, 'NOT_FOUND'],
      ['DELETE', `${P}/segments/ghost`, undefined, 404, 'NOT_FOUND'],
      ['POST', '/api/projects/ghost/segments', { key: 'x', name: 'x', definition: {} }, 404, 'NOT_FOUND'],
    ];
    for (const [method, url, body, status, code, path] of cases) {
      const res = await t.request(method as 'POST', url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.code).toBe(code);
      if (path !== undefined) expect(res.body.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await stateOf(t, 'segs')).toEqual(before);
  });

  it('refuses to delete a segment that an active flag uses in any environment, naming the flags', async () => {
    for (const key of ['uses-seg', 'old-user']) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    const config = { enabled: true, offVariation: 'off', rules: [{ id: 'staff', segments: ['a-seg', 'internal'], serve: { variation: 'on' } }], fallthrough: { variation: 'off' } };
    expect((await t.request('PUT', `${P}/flags/uses-seg/environments/dev`, { version: 1, config })).status).toBe(200);
    // In prod (approval needed) the change request alone does not count as a use.
    expect((await t.request('PUT', `${P}/flags/uses-seg/environments/prod`, { version: 1, config: { ...config, rules: [{ ...config.rules[0], segments: ['b-seg'] }] } })).status).toBe(202);
    expect((await t.request('PUT', `${P}/flags/old-user/environments/dev`, { version: 1, config: { ...config, rules: [{ ...config.rules[0], segments: ['c-seg'] }] } })).status).toBe(200);
    const archiving = await t.request('POST', `${P}/flags/old-user/archive`, { version: 1 });
    expect(archiving.status).toBe(202);
    expect((await applied(t, 'segs', archiving, editor.token)).status).toBe(403);
    expect((await applied(t, 'segs', archiving, approver.token)).status).toBe(200);

    const before = await stateOf(t, 'segs');
    const refused = await t.request('DELETE', `${P}/segments/internal`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INVALID_STATE');
    expect(refused.body.message).toContain('uses-seg');
    expect(refused.body.details.flags).toEqual([{ flagKey: 'uses-seg', environmentKey: 'dev' }]);
    expect((await t.request('DELETE', `${P}/segments/internal`, undefined, viewer.token)).status).toBe(403);
    expect(await stateOf(t, 'segs')).toEqual(before);

    // Not used by an active flag: deleted (archived), everywhere.
    const versions = await snapshotVersions(t, 'segs');
    for (const key of ['b-seg', 'c-seg']) {
      const res = await t.request('DELETE', `${P}/segments/${key}`, undefined, editor.token);
      expect(res.status, key).toBe(204);
      expect(res.body).toBeUndefined();
    }
    expect(await snapshotVersions(t, 'segs')).toEqual(Object.fromEntries(Object.entries(versions).map(([k, v]) => [k, v + 2])));
    expect(await lastSnapshotChange(t, 'segs', 'dev')).toEqual({ type: 'segment', key: 'c-seg', removed: true });
    expect((await auditActions(t, 'segs', 1))[0]).toBe('segment.deleted');
    expect((await t.request('GET', `${P}/segments/c-seg`)).status).toBe(404);
    expect((await t.request('PATCH', `${P}/segments/c-seg`, { version: 2, name: 'x' })).status).toBe(404);
    expect((await t.request('DELETE', `${P}/segments/c-seg`)).status).toBe(404);
    expect((await t.request('GET', `${P}/segments`)).body.items.map((s: { key: string }) => s.key)).toEqual(['a-seg', 'internal']);
    // A deleted segment is unknown to configurations.
    const current = (await t.request('GET', `${P}/flags/uses-seg/environments/dev`)).body;
    const unknown = await t.request('PUT', `${P}/flags/uses-seg/environments/dev`, { version: current.version, config: { ...config, rules: [{ ...config.rules[0], segments: ['b-seg'] }] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.details.issues[0]).toMatchObject({ path: 'config.rules[0].segments[0]', message: 'unknown segment "b-seg"' });

    // Once no flag uses it, it can go.
    expect((await t.request('PUT', `${P}/flags/uses-seg/environments/dev`, { version: current.version, config: { ...config, rules: [{ ...config.rules[0], segments: ['a-seg'] }] } })).status).toBe(200);
    expect((await t.request('DELETE', `${P}/segments/internal`)).status).toBe(204);
  });

  it('lets the key of a deleted segment be used again', async () => {
    const res = await t.request('POST', `${P}/segments`, { key: 'c-seg', name: 'C again', definition: { included: ['carol'] } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ key: 'c-seg', name: 'C again', definition: { included: ['carol'] } });
    expect(await lastSnapshotChange(t, 'segs', 'prod')).toEqual({ type: 'segment', key: 'c-seg', removed: false });
    expect((await t.request('GET', `${P}/segments/c-seg`)).body.name).toBe('C again');
  });

  it('refuses writes to viewers with 403', async () => {
    const before = await stateOf(t, 'segs');
    const writes: [string, string, unknown][] = [
      ['POST', `${P}/segments`, { key: 'by-viewer', name: 'x', definition: {} }],
      ['PATCH', `${P}/segments/a-seg`, { version: 1, name: 'x' }],
      ['DELETE', `${P}/segments/a-seg`, undefined],
    ];
    for (const [method, url, body] of writes) {
      const res = await t.request(method as 'POST', url, body, viewer.token);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
    expect((await t.request('GET', `${P}/segments`, undefined, viewer.token)).status).toBe(200);
    expect(await stateOf(t, 'segs')).toEqual(before);
  });
});
