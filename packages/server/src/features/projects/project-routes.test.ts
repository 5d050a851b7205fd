import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';

describe.each(testBackends())('projects and environments (%s)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('has the default project with development, staging and production (which requires approval) after the first start', async () => {
    const res = await t.request('GET', '/api/projects/default/environments');
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { key: string; requiresApproval: boolean }) => [e.key, e.requiresApproval])).toEqual([
      ['development', false],
      ['staging', false],
      ['production', true],
    ]);
  });

  it('creates, reads and updates a project, with optimistic concurrency', async () => {
    const created = await t.request('POST', '/api/projects', { key: 'checkout', name: 'Checkout' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'checkout', name: 'Checkout', description: '', version: 1 });
    const dup = await t.request('POST', '/api/projects', { key: 'checkout', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('ALREADY_EXISTS');
    const updated = await t.request('PATCH', '/api/projects/checkout', { version: 1, name: 'Checkout v2' });
    expect(updated.status).toBe(200);
    expect(updated.body.version).toBe(2);
    const stale = await t.request('PATCH', '/api/projects/checkout', { version: 1, name: 'Lost update' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
    expect((await t.request('GET', '/api/projects/checkout')).body.name).toBe('Checkout v2');
  });

  it('orders environments and keeps positions dense', async () => {
    await t.request('POST', '/api/projects', { key: 'ordering', name: 'Ordering' });
    for (const key of ['dev', 'prod']) expect((await t.request('POST', '/api/projects/ordering/environments', { key, name: key })).status).toBe(201);
    const staging = await t.request('POST', '/api/projects/ordering/environments', { key: 'staging', name: 'Staging', position: 1, requiresApproval: false });
    expect(staging.body.position).toBe(1);
    const list = await t.request('GET', '/api/projects/ordering/environments');
    expect(list.body.items.map((e: { key: string; position: number }) => [e.key, e.position])).toEqual([
      ['dev', 0],
      ['staging', 1],
      ['prod', 2],
    ]);
    const prod = list.body.items[2];
    const approval = await t.request('PATCH', '/api/projects/ordering/environments/prod', { version: prod.version, requiresApproval: true });
    expect(approval.body.requiresApproval).toBe(true);
  });

  it('refuses bad input with a 4xx and a code, and changes nothing', async () => {
    const before = (await t.request('GET', '/api/audit?limit=500')).body.items.length;
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/projects', { key: 'bad key!', name: 'x' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/projects', { key: 'ok', name: 'x', extra: 1 }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/projects', [1, 2], 400, 'VALIDATION_FAILED'],
      ['PATCH', '/api/projects/nope', { version: 1 }, 404, 'NOT_FOUND'],
      ['GET', '/api/nothing-here', undefined, 404, 'ROUTE_NOT_FOUND'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const res = await t.request(method as 'POST', url, body);
      expect(res.status, `${method} ${url}`).toBe(status);
      expect(res.body.code).toBe(code);
      expect(typeof res.body.message).toBe('string');
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    }
    const unknown = await t.request('POST', '/api/projects', { key: 'ok', name: 'x', extra: 1 });
    expect(unknown.body.details.issues[0].message).toContain('unknown field');
    const badJson = await t.app.inject({ method: 'POST', url: '/api/projects', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, payload: '{"key":' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().code).toBe('INVALID_JSON');
    const text = await t.app.inject({ method: 'POST', url: '/api/projects', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'text/plain' }, payload: 'hi' });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await t.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ key: 'big', name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');
    expect((await t.request('GET', '/api/audit?limit=500')).body.items.length).toBe(before);
  });

  it('needs a token, and the right role', async () => {
    const anonymous = await t.request('GET', '/api/projects', undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
    const bogus = await t.request('GET', '/api/projects', undefined, 'rg_admin_not-a-real-token');
    expect(bogus.status).toBe(401);
  });

  it('writes an audit event in the same transaction as each change', async () => {
    const res = await t.request('GET', '/api/audit?projectKey=checkout');
    expect(res.status).toBe(200);
    const actions = res.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['project.updated', 'project.created']);
    const updated = res.body.items[0];
    expect(updated.before.name).toBe('Checkout');
    expect(updated.after.name).toBe('Checkout v2');
    expect(updated.actor).toMatchObject({ kind: 'user', name: 'Admin' });
    expect(updated.requestId).toBeTruthy();
    const page1 = await t.request('GET', '/api/audit?limit=2');
    const page2 = await t.request('GET', `/api/audit?limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items[0].seq).toBeLessThan(page1.body.items[1].seq);
  });

  it('keeps the audit log append-only in the database', async () => {
    await expect(t.db.query('delete from audit_events')).rejects.toThrow(/append-only/);
    await expect(t.db.query("update audit_events set action = 'x'")).rejects.toThrow(/append-only/);
  });
});
