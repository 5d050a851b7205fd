import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../app.js';
import { defaultConfig } from '../../config.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { createUserWithToken, firstAdmin, type TestUser } from './user-fixtures.test-helpers.js';

const auditCount = async (t: TestApp) => (await t.db.query<{ n: number }>('select count(*)::int as n from audit_events'))[0]?.n;

describe.each(testBackends())('users (%s)', (backend) => {
  let t: TestApp;
  let viewer: TestUser;
  let editor: TestUser;
  let approver: TestUser;
  let admin: { id: string; version: number };
  beforeAll(async () => {
    t = await createTestApp(backend);
    viewer = await createUserWithToken(t, 'viewer');
    editor = await createUserWithToken(t, 'editor');
    approver = await createUserWithToken(t, 'approver');
    admin = await firstAdmin(t);
  });
  afterAll(() => t.close());

  it('tells every user token who it belongs to (GET /api/me)', async () => {
    const me = await t.request('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'admin', user: { id: admin.id, email: 'admin@localhost', role: 'admin', disabled: false } });
    for (const u of [viewer, editor, approver]) {
      const res = await t.request('GET', '/api/me', undefined, u.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ role: u.role, tokenId: u.tokenId, user: { id: u.id, email: u.email, role: u.role } });
    }
    expect((await t.request('GET', '/api/me', undefined, null)).status).toBe(401);
  });

  it('lets only admins list, create and change users; others may read themselves', async () => {
    for (const u of [viewer, editor, approver]) {
      const calls: [string, string, unknown][] = [
        ['GET', '/api/users', undefined],
        ['POST', '/api/users', { email: `x-${u.role}@example.com`, name: 'X', role: 'viewer' }],
        ['PATCH', `/api/users/${u.id}`, { version: u.version, role: 'admin' }],
        ['GET', `/api/users/${admin.id}`, undefined],
      ];
      for (const [method, url, body] of calls) {
        const res = await t.request(method as 'GET', url, body, u.token);
        expect(res.status, `${u.role}: ${method} ${url}`).toBe(403);
        expect(res.body.code).toBe('FORBIDDEN');
        expect(res.body.details.required).toBe('admin');
      }
      const self = await t.request('GET', `/api/users/${u.id}`, undefined, u.token);
      expect(self.status).toBe(200);
      expect(self.body).toMatchObject({ id: u.id, role: u.role });
    }
    // Nobody was created or promoted by the refused calls.
    expect((await t.request('GET', `/api/users/${viewer.id}`)).body).toMatchObject({ role: 'viewer', version: viewer.version });
    const list = await t.request('GET', '/api/users?limit=500');
    expect(list.body.items.map((u: { email: string }) => u.email).filter((e: string) => e.startsWith('x-'))).toEqual([]);
  });

  it('creates users (201), refuses a duplicate email with 409 ALREADY_EXISTS, and audits it', async () => {
    const created = await t.request('POST', '/api/users', { email: 'Ada@Example.com', name: 'Ada', role: 'editor' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'ada@example.com', name: 'Ada', role: 'editor', disabled: false, version: 1 });
    expect(created.body.id).toMatch(/^usr_/);
    for (const email of ['ada@example.com', 'ADA@example.com']) {
      const dup = await t.request('POST', '/api/users', { email, name: 'Ada again', role: 'viewer' });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('ALREADY_EXISTS');
    }
    const audit = await t.request('GET', `/api/audit?resourceType=user&resourceId=${created.body.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['user.created']);
    expect(audit.body.items[0]).toMatchObject({ actor: { kind: 'user', id: admin.id }, after: { email: 'ada@example.com' } });
    expect((await t.request('GET', `/api/users/${created.body.id}`)).body).toEqual(created.body);
  });

  it('refuses bad input with a 4xx and a code, and changes nothing', async () => {
    const before = await auditCount(t);
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/users', { email: 'not-an-email', name: 'X', role: 'viewer' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/users', { email: 'ok@example.com', name: 'X', role: 'root' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/users', { email: 'ok@example.com', name: '', role: 'viewer' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/users', { email: 'ok@example.com', name: 'X', role: 'viewer', admin: true }, 400, 'VALIDATION_FAILED'],
      ['PATCH', `/api/users/${viewer.id}`, { role: 'editor' }, 400, 'VALIDATION_FAILED'],
      ['PATCH', `/api/users/${viewer.id}`, { version: 1, email: 'new@example.com' }, 400, 'VALIDATION_FAILED'],
      ['PATCH', '/api/users/usr_nobody', { version: 1, name: 'X' }, 404, 'NOT_FOUND'],
      ['GET', '/api/users/usr_nobody', undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/users?limit=0', undefined, 400, 'VALIDATION_FAILED'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const res = await t.request(method as 'GET', url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.code).toBe(code);
    }
    expect(await auditCount(t)).toBe(before);
    expect((await t.request('GET', '/api/users?limit=500')).body.items.some((u: { email: string }) => u.email === 'ok@example.com')).toBe(false);
  });

  it('pages users by id', async () => {
    const all = (await t.request('GET', '/api/users?limit=500')).body;
    expect(all.nextCursor).toBeNull();
    const ids = all.items.map((u: { id: string }) => u.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids.length).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('GET', `/api/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((u: { id: string }) => u.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
  });

  it('updates with optimistic concurrency: a stale version is a 409 VERSION_CONFLICT', async () => {
    const u = await createUserWithToken(t, 'viewer', 'Grace');
    const renamed = await t.request('PATCH', `/api/users/${u.id}`, { version: 1, name: 'Grace Hopper' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Grace Hopper', version: 2 });
    const stale = await t.request('PATCH', `/api/users/${u.id}`, { version: 1, role: 'admin' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
    expect((await t.request('GET', `/api/users/${u.id}`)).body).toMatchObject({ role: 'viewer', version: 2 });
    const audit = await t.request('GET', `/api/audit?resourceType=user&resourceId=${u.id}`);
    expect(audit.body.items[0]).toMatchObject({ action: 'user.updated', before: { name: 'Grace' }, after: { name: 'Grace Hopper' } });
  });

  it('applies a role change at once (no wait for the token cache)', async () => {
    const u = await createUserWithToken(t, 'editor');
    expect((await t.request('GET', '/api/users', undefined, u.token)).status).toBe(403); // cached as editor
    const promoted = await t.request('PATCH', `/api/users/${u.id}`, { version: u.version, role: 'admin' });
    expect(promoted.body.role).toBe('admin');
    expect((await t.request('GET', '/api/users', undefined, u.token)).status).toBe(200);
    const demoted = await t.request('PATCH', `/api/users/${u.id}`, { version: promoted.body.version, role: 'viewer' });
    expect(demoted.status).toBe(200);
    expect((await t.request('GET', '/api/users', undefined, u.token)).status).toBe(403);
    expect((await t.request('GET', '/api/me', undefined, u.token)).body.role).toBe('viewer');
  });

  it('disabling a user stops their tokens at once; enabling them lets them back in', async () => {
    const u = await createUserWithToken(t, 'editor');
    expect((await t.request('GET', '/api/me', undefined, u.token)).status).toBe(200); // cached as valid
    const disabled = await t.request('PATCH', `/api/users/${u.id}`, { version: u.version, disabled: true });
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabled).toBe(true);
    const refused = await t.request('GET', '/api/me', undefined, u.token);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('UNAUTHENTICATED');
    // A disabled user gets no new token either.
    const token = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'for a disabled user', userId: u.id });
    expect(token.status).toBe(409);
    expect(token.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'disabled' } });
    const enabled = await t.request('PATCH', `/api/users/${u.id}`, { version: disabled.body.version, disabled: false });
    expect(enabled.body.disabled).toBe(false);
    expect((await t.request('GET', '/api/me', undefined, u.token)).status).toBe(200);
    const audit = await t.request('GET', `/api/audit?resourceType=user&resourceId=${u.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['user.enabled', 'user.disabled', 'user.created']);
  });

  it('reaches the token cache of every replica through NOTIFY', async () => {
    // A second app on the same database, as a second replica would be.
    const replica = await buildApp({ config: defaultConfig(), db: t.db });
    try {
      const u = await createUserWithToken(t, 'editor');
      const call = () => replica.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${u.token}` } });
      expect((await call()).statusCode).toBe(200); // now cached by the replica for 5 s
      await t.request('PATCH', `/api/users/${u.id}`, { version: u.version, disabled: true });
      // Well within the 5 s cache lifetime: only the NOTIFY can have cleared it.
      await vi.waitFor(async () => expect((await call()).statusCode).toBe(401), { timeout: 2_500, interval: 50 });
    } finally {
      await replica.close();
    }
  });

  it('never leaves the system without an enabled admin (409 INVALID_STATE)', async () => {
    let me = (await t.request('GET', `/api/users/${admin.id}`)).body;
    const before = await auditCount(t);
    for (const change of [{ role: 'editor' }, { disabled: true }, { role: 'viewer', disabled: true }]) {
      const res = await t.request('PATCH', `/api/users/${admin.id}`, { version: me.version, ...change });
      expect(res.status, JSON.stringify(change)).toBe(409);
      expect(res.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'last-enabled-admin' } });
      expect(res.body.message).toContain('last enabled admin');
    }
    expect(await auditCount(t)).toBe(before);
    expect((await t.request('GET', `/api/users/${admin.id}`)).body).toEqual(me);

    // A second admin may step down while the first remains...
    const second = await createUserWithToken(t, 'admin');
    const stepDown = await t.request('PATCH', `/api/users/${second.id}`, { version: second.version, disabled: true }, second.token);
    expect(stepDown.status).toBe(200);
    expect((await t.request('GET', '/api/me', undefined, second.token)).status).toBe(401);
    // ...but a disabled admin does not count: the first is still the last enabled one.
    const again = await t.request('PATCH', `/api/users/${admin.id}`, { version: me.version, role: 'approver' });
    expect(again.status).toBe(409);
    // Renaming the last admin is fine.
    const renamed = await t.request('PATCH', `/api/users/${admin.id}`, { version: me.version, name: 'Root' });
    expect(renamed.status).toBe(200);
    me = renamed.body;
    expect(me).toMatchObject({ name: 'Root', role: 'admin', disabled: false });
    // With another enabled admin, the first may demote themself.
    const enabled = await t.request('PATCH', `/api/users/${second.id}`, { version: stepDown.body.version, disabled: false });
    expect(enabled.status).toBe(200);
    const demoted = await t.request('PATCH', `/api/users/${admin.id}`, { version: me.version, role: 'editor' });
    expect(demoted.status).toBe(200);
    expect((await t.request('GET', '/api/users')).status).toBe(403);
    // Now the second admin is the last one; they promote the first back.
    expect((await t.request('PATCH', `/api/users/${second.id}`, { version: enabled.body.version, role: 'editor' }, second.token)).status).toBe(409);
    const restored = await t.request('PATCH', `/api/users/${admin.id}`, { version: demoted.body.version, role: 'admin' }, second.token);
    expect(restored.status).toBe(200);
    expect((await t.request('GET', '/api/users')).status).toBe(200);
  });

  it('keeps the last admin when two admins demote each other at the same time', async () => {
    const a = await createUserWithToken(t, 'admin');
    const b = await createUserWithToken(t, 'admin');
    // Every other admin steps aside (each may: a and b remain), leaving exactly a and b.
    const others = (await t.request('GET', '/api/users?limit=500')).body.items.filter(
      (u: { id: string; role: string; disabled: boolean }) => u.role === 'admin' && !u.disabled && u.id !== a.id && u.id !== b.id,
    );
    expect(others.map((u: { id: string }) => u.id)).toContain(admin.id);
    for (const u of others) expect((await t.request('PATCH', `/api/users/${u.id}`, { version: u.version, role: 'editor' }, a.token)).status).toBe(200);
    const [ra, rb] = await Promise.all([
      t.request('PATCH', `/api/users/${a.id}`, { version: a.version, disabled: true }, a.token),
      t.request('PATCH', `/api/users/${b.id}`, { version: b.version, disabled: true }, b.token),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    expect([ra, rb].find((r) => r.status === 409)?.body.code).toBe('INVALID_STATE');
    const admins = await t.db.query<{ id: string }>("select id from users where role = 'admin' and not disabled");
    expect(admins.length).toBe(1);
    // Restore the other admins for any later test.
    const winner = ra.status === 409 ? a : b;
    for (const u of others) {
      const current = (await t.request('GET', `/api/users/${u.id}`, undefined, winner.token)).body;
      expect((await t.request('PATCH', `/api/users/${u.id}`, { version: current.version, role: 'admin' }, winner.token)).status).toBe(200);
    }
  });
});
