import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { createUserWithToken, type TestUser } from '../users/user-fixtures.test-helpers.js';
import { CSRF_HEADER, SESSION_COOKIE } from './session-feature.js';

describe.each(testBackends())('dashboard sessions (%s)', (backend) => {
  let t: TestApp;
  let editor: TestUser;

  beforeAll(async () => {
    t = await createTestApp(backend, { config: { logLevel: 'silent' } });
    editor = await createUserWithToken(t, 'editor', 'Eve Editor');
  });
  afterAll(() => t.close());

  /** A request with only a cookie (and optionally the CSRF header): what the browser sends. */
  const withCookie = async (method: InjectOptions['method'], url: string, cookie: string, options: { csrf?: string; body?: unknown } = {}) => {
    const res = await t.app.inject({
      method,
      url,
      headers: {
        cookie: `${SESSION_COOKIE}=${cookie}`,
        ...(options.csrf === undefined ? {} : { [CSRF_HEADER]: options.csrf }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    });
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body), headers: res.headers };
  };

  async function signIn(token: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const res = await t.request('POST', '/api/session', { token }, null);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const setCookie = String(res.headers['set-cookie']);
    const cookie = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(setCookie)?.[1];
    expect(cookie).toBeDefined();
    return { cookie: cookie as string, csrf: res.body.csrfToken, setCookie };
  }

  it('turns a user token into an httpOnly SameSite=Strict cookie that authenticates reads', async () => {
    const { cookie, csrf, setCookie } = await signIn(editor.token);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    // The token itself is not the cookie.
    expect(setCookie).not.toContain(editor.token);
    const session = await withCookie('GET', '/api/session', cookie);
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ role: 'editor', user: { id: editor.id, name: 'Eve Editor' }, tokenId: editor.tokenId, csrfToken: csrf });
    expect((await withCookie('GET', '/api/projects', cookie)).status).toBe(200);
  });

  it('refuses writes with the cookie but without the CSRF token, and changes nothing', async () => {
    const { cookie, csrf } = await signIn(editor.token);
    const refused = await withCookie('POST', '/api/projects', cookie, { body: { key: 'csrf-probe', name: 'Probe' } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN', details: { required: CSRF_HEADER } });
    expect(typeof refused.body.requestId).toBe('string');
    const wrong = await withCookie('POST', '/api/projects', cookie, { csrf: `${csrf}x`, body: { key: 'csrf-probe', name: 'Probe' } });
    expect(wrong.status).toBe(403);
    expect((await t.request('GET', '/api/projects/csrf-probe')).status).toBe(404);
    // An editor may not create projects; the session carries the user's role, not more.
    const asEditor = await withCookie('POST', '/api/projects', cookie, { csrf, body: { key: 'csrf-probe', name: 'Probe' } });
    expect(asEditor.status).toBe(403);
    expect(asEditor.body.details).toMatchObject({ required: 'admin', role: 'editor' });
  });

  it('lets a write through with the CSRF token, audited as the signed-in user', async () => {
    const admin = await signIn(t.adminToken);
    const created = await withCookie('POST', '/api/projects', admin.cookie, { csrf: admin.csrf, body: { key: 'by-session', name: 'By session' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const audit = await t.request('GET', '/api/audit?limit=5&resourceType=project');
    expect(audit.body.items[0]).toMatchObject({ action: 'project.created', actor: { kind: 'user' } });
  });

  it('ends the session on the server at sign-out, only with the CSRF token', async () => {
    const { cookie, csrf } = await signIn(editor.token);
    expect((await withCookie('DELETE', '/api/session', cookie)).status).toBe(403);
    expect((await withCookie('GET', '/api/session', cookie)).status).toBe(200);
    const out = await withCookie('DELETE', '/api/session', cookie, { csrf });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    // A copy of the cookie kept elsewhere no longer works.
    const after = await withCookie('GET', '/api/session', cookie);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHENTICATED');
    expect((await withCookie('GET', '/api/projects', cookie)).status).toBe(401);
  });

  it('ends sessions whose token is revoked', async () => {
    const user = await createUserWithToken(t, 'viewer', 'Vic Viewer');
    const { cookie } = await signIn(user.token);
    expect((await withCookie('GET', '/api/projects', cookie)).status).toBe(200);
    expect((await t.request('DELETE', `/api/tokens/${user.tokenId}`)).status).toBeLessThan(300);
    expect((await withCookie('GET', '/api/projects', cookie)).status).toBe(401);
  });

  it('refuses unknown tokens, SDK tokens and bad bodies with a 4xx', async () => {
    const bad = await t.request('POST', '/api/session', { token: 'rg_admin_nope' }, null);
    expect(bad.status, JSON.stringify(bad.body)).toBe(401);
    expect(bad.body.code).toBe('UNAUTHENTICATED');
    expect(bad.headers['set-cookie']).toBeUndefined();
    const invalid = await t.request('POST', '/api/session', { token: '' }, null);
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
    const extra = await t.request('POST', '/api/session', { token: editor.token, role: 'admin' }, null);
    expect(extra.status).toBe(400);
    expect((await t.request('POST', '/api/projects', { key: 'sdk-home', name: 'SDK home' })).status).toBe(201);
    expect((await t.request('POST', '/api/projects/sdk-home/environments', { key: 'prod', name: 'Prod' })).status).toBe(201);
    const sdk = await t.request('POST', '/api/tokens', { kind: 'server', name: 'sdk', projectKey: 'sdk-home', environmentKey: 'prod' });
    expect(sdk.status, JSON.stringify(sdk.body)).toBe(201);
    const refused = await t.request('POST', '/api/session', { token: sdk.body.secret }, null);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
  });

  it('says not signed in without a cookie or with a forged one', async () => {
    expect((await t.request('GET', '/api/session', undefined, null)).status).toBe(401);
    expect((await withCookie('GET', '/api/session', 'A'.repeat(43))).status).toBe(401);
  });
});
