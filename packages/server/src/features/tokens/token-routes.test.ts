import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../app.js';
import { defaultConfig } from '../../config.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { createUserWithToken, firstAdmin, type TestUser } from '../users/user-fixtures.test-helpers.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const auditCount = async (t: TestApp) => (await t.db.query<{ n: number }>('select count(*)::int as n from audit_events'))[0]?.n;

describe.each(testBackends())('tokens (%s)', (backend) => {
  let t: TestApp;
  let admin: { id: string };
  let editor: TestUser;
  let viewer: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend);
    admin = await firstAdmin(t);
    editor = await createUserWithToken(t, 'editor');
    viewer = await createUserWithToken(t, 'viewer');
  });
  afterAll(() => t.close());

  it('shows a new token’s secret once, and stores only its SHA-256', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'laptop' });
    expect(created.status).toBe(201);
    const { token, secret } = created.body;
    expect(secret).toMatch(/^rg_admin_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ kind: 'admin', name: 'laptop', userId: admin.id, projectKey: null, environmentKey: null, createdBy: admin.id, lastUsedAt: null, revokedAt: null });
    expect(token.id).toMatch(/^tok_/);
    expect(secret.startsWith(token.prefix)).toBe(true);
    expect(token.prefix.length).toBeLessThan(20);
    expect(Object.keys(token).sort()).toEqual(['createdAt', 'createdBy', 'environmentKey', 'id', 'kind', 'lastUsedAt', 'name', 'prefix', 'projectKey', 'revokedAt', 'userId']);

    // The database holds the hash and the prefix, never the secret.
    const [row] = await t.db.query<Record<string, unknown>>('select * from api_tokens where id = $1', [token.id]);
    expect(row?.token_hash).toBe(sha256(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    // Listing and the audit log never show it.
    const list = await t.request('GET', '/api/tokens?limit=500');
    expect(list.status).toBe(200);
    expect(list.body.items.find((i: { id: string }) => i.id === token.id)).toEqual(token);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(token.prefix.length));
    const audit = await t.request('GET', `/api/audit?resourceType=token&resourceId=${token.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['token.created']);
    expect(audit.body.items[0].after).toEqual(token);
    expect(JSON.stringify(audit.body)).not.toContain(secret.slice(token.prefix.length));
    const [auditRow] = await t.db.query<Record<string, unknown>>("select * from audit_events where resource_id = $1 and action = 'token.created'", [token.id]);
    expect(JSON.stringify(auditRow)).not.toContain(secret.slice(token.prefix.length));

    // The secret works.
    const me = await t.request('GET', '/api/me', undefined, secret);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'admin', tokenId: token.id, user: { id: admin.id } });
  });

  it('lets every user make personal tokens for themself; only admins for others', async () => {
    const own = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'my cli' }, editor.token);
    expect(own.status).toBe(201);
    expect(own.body.token).toMatchObject({ userId: editor.id, createdBy: editor.id });
    expect((await t.request('GET', '/api/me', undefined, own.body.secret)).body).toMatchObject({ role: 'editor', user: { id: editor.id } });
    const explicitSelf = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'mine too', userId: viewer.id }, viewer.token);
    expect(explicitSelf.status).toBe(201);

    const before = await auditCount(t);
    const forOther = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'sneaky', userId: admin.id }, editor.token);
    expect(forOther.status).toBe(403);
    expect(forOther.body.code).toBe('FORBIDDEN');
    for (const kind of ['server', 'browser']) {
      const sdk = await t.request('POST', '/api/tokens', { kind, name: 'sdk', projectKey: 'default', environmentKey: 'production' }, editor.token);
      expect(sdk.status).toBe(403);
      expect(sdk.body).toMatchObject({ code: 'FORBIDDEN', details: { required: 'admin' } });
    }
    expect(await auditCount(t)).toBe(before);

    // An admin may make one for anybody; it acts as that user.
    const forEditor = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'for the editor', userId: editor.id });
    expect(forEditor.status).toBe(201);
    expect(forEditor.body.token).toMatchObject({ userId: editor.id, createdBy: admin.id });
    expect((await t.request('GET', '/api/me', undefined, forEditor.body.secret)).body).toMatchObject({ role: 'editor', user: { id: editor.id } });
    const nobody = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'x', userId: 'usr_nobody' });
    expect(nobody.status).toBe(404);
    expect(nobody.body.code).toBe('NOT_FOUND');
  });

  it('creates server and browser tokens scoped to one environment (admin; the environment must exist)', async () => {
    for (const kind of ['server', 'browser'] as const) {
      const created = await t.request('POST', '/api/tokens', { kind, name: `${kind} sdk`, projectKey: 'default', environmentKey: 'staging' });
      expect(created.status).toBe(201);
      expect(created.body.secret).toMatch(new RegExp(`^rg_${kind}_`));
      expect(created.body.token).toMatchObject({ kind, userId: null, projectKey: 'default', environmentKey: 'staging', createdBy: admin.id });
      const audit = await t.request('GET', `/api/audit?projectKey=default&environmentKey=staging&action=token.created&resourceId=${created.body.token.id}`);
      expect(audit.body.items.length).toBe(1);
    }
    const before = await auditCount(t);
    const missing: [Record<string, unknown>, string][] = [
      [{ projectKey: 'nope', environmentKey: 'staging' }, 'project'],
      [{ projectKey: 'default', environmentKey: 'nope' }, 'environment'],
    ];
    for (const [where, resource] of missing) {
      const res = await t.request('POST', '/api/tokens', { kind: 'server', name: 'x', ...where });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND', details: { resource } });
    }
    expect(await auditCount(t)).toBe(before);
  });

  it('refuses bad input with a 400 and changes nothing', async () => {
    const before = await auditCount(t);
    const bodies: unknown[] = [
      { kind: 'root', name: 'x' },
      { kind: 'admin' },
      { kind: 'admin', name: '' },
      { kind: 'admin', name: 'x', projectKey: 'default' },
      { kind: 'server', name: 'x', projectKey: 'default' },
      { kind: 'browser', name: 'x', projectKey: 'default', environmentKey: 'production', userId: 'usr_x' },
      { kind: 'server', name: 'x', projectKey: 'bad key!', environmentKey: 'production' },
    ];
    for (const body of bodies) {
      const res = await t.request('POST', '/api/tokens', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await t.request('GET', '/api/tokens?limit=9999')).status).toBe(400);
    expect((await t.request('GET', '/api/tokens?secret=1')).status).toBe(400);
    expect(await auditCount(t)).toBe(before);
  });

  it('lists all tokens for admins (filters: userId, projectKey) and only their own for others', async () => {
    const all = await t.request('GET', '/api/tokens?limit=500');
    const kinds = new Set(all.body.items.map((i: { kind: string }) => i.kind));
    expect(kinds).toEqual(new Set(['admin', 'server', 'browser']));
    const ids = all.body.items.map((i: { id: string }) => i.id);
    expect(ids).toEqual([...ids].sort());

    const byUser = await t.request('GET', `/api/tokens?userId=${editor.id}`);
    expect(byUser.body.items.length).toBeGreaterThanOrEqual(3);
    expect(byUser.body.items.every((i: { userId: string }) => i.userId === editor.id)).toBe(true);
    const byProject = await t.request('GET', '/api/tokens?projectKey=default');
    expect(byProject.body.items.map((i: { kind: string }) => i.kind).sort()).toEqual(['browser', 'server']);
    expect((await t.request('GET', '/api/tokens?projectKey=unknown')).body.items).toEqual([]);

    const mine = await t.request('GET', '/api/tokens', undefined, editor.token);
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((i: { id: string }) => i.id).sort()).toEqual(byUser.body.items.map((i: { id: string }) => i.id).sort());
    expect((await t.request('GET', `/api/tokens?userId=${editor.id}`, undefined, editor.token)).status).toBe(200);
    const others = await t.request('GET', `/api/tokens?userId=${admin.id}`, undefined, editor.token);
    expect(others.status).toBe(403);
    expect(others.body.code).toBe('FORBIDDEN');

    // Paging by id.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('GET', `/api/tokens?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...page.body.items.map((i: { id: string }) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
  });

  it('records when a token was last used', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'used once' }, viewer.token);
    expect(created.body.token.lastUsedAt).toBeNull();
    const started = Date.now();
    expect((await t.request('GET', '/api/me', undefined, created.body.secret)).status).toBe(200);
    // Written off the request path: wait for it.
    await vi.waitFor(
      async () => {
        const [row] = await t.db.query<{ last_used_at: Date | string | null }>('select last_used_at from api_tokens where id = $1', [created.body.token.id]);
        expect(row?.last_used_at).not.toBeNull();
      },
      { timeout: 5_000, interval: 20 },
    );
    const listed = (await t.request('GET', '/api/tokens', undefined, viewer.token)).body.items.find((i: { id: string }) => i.id === created.body.token.id);
    expect(Date.parse(listed.lastUsedAt)).toBeGreaterThanOrEqual(started - 5_000);
  });

  it('revokes a token: 401 at once, audited, idempotent', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'to revoke' });
    const { secret, token } = created.body;
    expect((await t.request('GET', '/api/me', undefined, secret)).status).toBe(200); // now cached
    const revoked = await t.request('DELETE', `/api/tokens/${token.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: token.id, revokedAt: expect.any(String) });
    const refused = await t.request('GET', '/api/me', undefined, secret);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('UNAUTHENTICATED');

    const again = await t.request('DELETE', `/api/tokens/${token.id}`);
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const audit = await t.request('GET', `/api/audit?resourceType=token&resourceId=${token.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['token.revoked', 'token.created']);
    expect(audit.body.items[0]).toMatchObject({ before: { revokedAt: null }, after: { revokedAt: revoked.body.revokedAt } });
    const listed = (await t.request('GET', '/api/tokens?limit=500')).body.items.find((i: { id: string }) => i.id === token.id);
    expect(listed.revokedAt).toBe(revoked.body.revokedAt);

    const unknown = await t.request('DELETE', '/api/tokens/tok_nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NOT_FOUND');
  });

  it('revokes SDK tokens at once too', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'server', name: 'to revoke', projectKey: 'default', environmentKey: 'development' });
    const { secret, token } = created.body;
    // Any request authenticates (and caches) the token; a management route answers 403, not 401.
    expect((await t.request('GET', '/api/projects', undefined, secret)).status).toBe(403);
    expect((await t.request('DELETE', `/api/tokens/${token.id}`)).status).toBe(200);
    expect((await t.request('GET', '/api/projects', undefined, secret)).status).toBe(401);
  });

  it('lets users revoke their own tokens, and only admins anybody’s', async () => {
    const own = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'own' }, editor.token);
    const adminToken = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'admin’s' });
    const sdk = await t.request('POST', '/api/tokens', { kind: 'browser', name: 'sdk', projectKey: 'default', environmentKey: 'production' });
    for (const id of [adminToken.body.token.id, sdk.body.token.id, viewer.tokenId]) {
      const res = await t.request('DELETE', `/api/tokens/${id}`, undefined, editor.token);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
    expect((await t.request('GET', '/api/me', undefined, adminToken.body.secret)).status).toBe(200);
    expect((await t.request('DELETE', `/api/tokens/${own.body.token.id}`, undefined, editor.token)).status).toBe(200);
    expect((await t.request('GET', '/api/me', undefined, own.body.secret)).status).toBe(401);
    // A user may revoke the very token they call with.
    const self = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'self' }, editor.token);
    expect((await t.request('DELETE', `/api/tokens/${self.body.token.id}`, undefined, self.body.secret)).status).toBe(200);
    expect((await t.request('GET', '/api/me', undefined, self.body.secret)).status).toBe(401);
  });

  it('reaches the token cache of every replica through NOTIFY', async () => {
    const replica = await buildApp({ config: defaultConfig(), db: t.db });
    try {
      const created = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'replicated' });
      const call = () => replica.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${created.body.secret}` } });
      expect((await call()).statusCode).toBe(200); // cached by the replica for 5 s
      expect((await t.request('DELETE', `/api/tokens/${created.body.token.id}`)).status).toBe(200);
      await vi.waitFor(async () => expect((await call()).statusCode).toBe(401), { timeout: 2_500, interval: 50 });
    } finally {
      await replica.close();
    }
  });

  it('never lets an SDK token use a management route (403 FORBIDDEN), nor the other SDK kind’s routes', async () => {
    const server = (await t.request('POST', '/api/tokens', { kind: 'server', name: 'scope server', projectKey: 'default', environmentKey: 'production' })).body.secret;
    const browser = (await t.request('POST', '/api/tokens', { kind: 'browser', name: 'scope browser', projectKey: 'default', environmentKey: 'production' })).body.secret;
    const doc = (await t.request('GET', '/openapi.json', undefined, null)).body;
    const roles = ['viewer', 'editor', 'approver', 'admin'];
    let management = 0;
    for (const [path, item] of Object.entries<Record<string, { 'x-rollgate-access': string }>>(doc.paths)) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      for (const [method, op] of Object.entries(item)) {
        const access = op['x-rollgate-access'];
        const body = ['post', 'put', 'patch'].includes(method) ? {} : undefined;
        const callers: [string, string][] = roles.includes(access)
          ? [
              ['server', server],
              ['browser', browser],
            ]
          : access === 'server'
            ? [
                ['browser', browser],
                ['admin', t.adminToken],
              ]
            : access === 'browser'
              ? [
                  ['server', server],
                  ['admin', t.adminToken],
                ]
              : [];
        if (roles.includes(access)) management++;
        for (const [who, token] of callers) {
          const res = await t.request(method.toUpperCase() as 'GET', url, body, token);
          expect(res.status, `${who} token: ${method.toUpperCase()} ${path} (${access})`).toBe(403);
          expect(res.body.code).toBe('FORBIDDEN');
        }
      }
    }
    expect(management).toBeGreaterThanOrEqual(15);
    // In particular, SDK tokens cannot make or revoke tokens.
    const mint = await t.request('POST', '/api/tokens', { kind: 'admin', name: 'escalate' }, server);
    expect(mint.status).toBe(403);
  });
});
