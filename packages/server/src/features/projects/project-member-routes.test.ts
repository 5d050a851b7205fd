import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate } from '../../db/migrate.js';
import { openTestDatabase, createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { auditActions } from '../flags/flag-testing.test-helpers.js';

describe.each(testBackends())('project roles (%s)', (backend) => {
  let t: TestApp;
  /** A user with base role `role` and a token; returns their id and token. */
  const user = async (name: string, role: string): Promise<{ id: string; token: string; version: number }> => {
    const created = await t.request('POST', '/api/users', { email: `${name}@example.test`, name, role });
    expect(created.status).toBe(201);
    const token = await t.request('POST', '/api/tokens', { kind: 'admin', name, userId: created.body.id });
    return { id: created.body.id, token: token.body.secret, version: created.body.version };
  };
  const grant = (project: string, userId: string, role: string, token = t.adminToken) => t.request('PUT', `/api/projects/${project}/members/${userId}`, { role }, token);

  beforeAll(async () => {
    t = await createTestApp(backend);
    for (const key of ['alpha', 'beta']) expect((await t.request('POST', '/api/projects', { key, name: key })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('opens to a user with base role none only the projects they have a role in, at once', async () => {
    const ann = await user('ann', 'none');
    expect((await t.request('GET', '/api/projects/alpha/flags', undefined, ann.token)).body).toMatchObject({ code: 'FORBIDDEN', details: { projectKey: 'alpha', role: 'none' } });
    expect((await t.request('GET', '/api/projects', undefined, ann.token)).body.items).toEqual([]);

    const granted = await grant('alpha', ann.id, 'viewer');
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ projectKey: 'alpha', userId: ann.id, email: 'ann@example.test', role: 'viewer' });
    expect((await t.request('GET', '/api/projects/alpha/flags', undefined, ann.token)).status).toBe(200);
    expect((await t.request('GET', '/api/projects/beta/flags', undefined, ann.token)).status).toBe(403);
    expect((await t.request('POST', '/api/projects/alpha/flags', { key: 'f', name: 'f' }, ann.token)).body).toMatchObject({ code: 'FORBIDDEN', details: { required: 'editor', role: 'viewer' } });
    expect((await t.request('GET', '/api/projects', undefined, ann.token)).body.items.map((p: { key: string }) => p.key)).toEqual(['alpha']);
    expect((await t.request('GET', '/api/me', undefined, ann.token)).body).toMatchObject({ role: 'none', projects: [{ projectKey: 'alpha', role: 'viewer' }] });
    // The audit log: one project at a time, one they have a role in.
    expect((await t.request('GET', '/api/audit', undefined, ann.token)).status).toBe(403);
    expect((await t.request('GET', '/api/audit?projectKey=beta', undefined, ann.token)).status).toBe(403);
    expect((await t.request('GET', '/api/audit?projectKey=alpha', undefined, ann.token)).status).toBe(200);

    expect((await grant('alpha', ann.id, 'editor')).body.role).toBe('editor');
    expect((await t.request('POST', '/api/projects/alpha/flags', { key: 'by-ann', name: 'f' }, ann.token)).status).toBe(201);
    expect((await t.request('DELETE', `/api/projects/alpha/members/${ann.id}`)).body).toMatchObject({ role: 'editor' });
    expect((await t.request('GET', '/api/projects/alpha/flags', undefined, ann.token)).status).toBe(403);
    expect(await auditActions(t, 'alpha', 3)).toEqual(['project.role.revoked', 'flag.created', 'project.role.granted']);
  });

  it('lets a project role replace the base role in that project, and keeps admins admins everywhere', async () => {
    const bob = await user('bob', 'editor');
    expect((await grant('beta', bob.id, 'viewer')).status).toBe(200);
    expect((await t.request('POST', '/api/projects/beta/flags', { key: 'x', name: 'x' }, bob.token)).status).toBe(403);
    expect((await t.request('POST', '/api/projects/alpha/flags', { key: 'by-bob', name: 'x' }, bob.token)).status).toBe(201);
    const members = await t.request('GET', '/api/projects/beta/members', undefined, bob.token);
    expect(members.body.items).toEqual([expect.objectContaining({ userId: bob.id, role: 'viewer', grantedBy: expect.any(String) })]);

    const cat = await user('cat', 'admin');
    expect((await grant('beta', cat.id, 'viewer')).status).toBe(200);
    expect((await t.request('POST', '/api/projects/beta/flags', { key: 'by-cat', name: 'x' }, cat.token)).status).toBe(201);
  });

  it('lets a project admin manage roles of that project only, and refuses bad grants changing nothing', async () => {
    const dan = await user('dan', 'none');
    const eve = await user('eve', 'none');
    expect((await grant('alpha', dan.id, 'admin')).status).toBe(200);
    expect((await grant('alpha', eve.id, 'approver', dan.token)).status).toBe(200);
    expect((await grant('beta', eve.id, 'approver', dan.token)).status).toBe(403);
    expect((await grant('alpha', eve.id, 'admin', eve.token)).body).toMatchObject({ code: 'FORBIDDEN', details: { required: 'admin', role: 'approver' } });
    const [before] = await t.db.query<{ n: number }>('select count(*)::int as n from project_roles');
    expect((await grant('alpha', 'usr_nobody', 'viewer')).status).toBe(404);
    expect((await grant('nope', eve.id, 'viewer')).status).toBe(404);
    expect((await grant('alpha', eve.id, 'owner')).body.code).toBe('VALIDATION_FAILED');
    expect((await t.request('PUT', `/api/projects/alpha/members/${eve.id}`, { role: 'viewer', extra: 1 })).body.code).toBe('VALIDATION_FAILED');
    expect((await t.request('DELETE', `/api/projects/beta/members/${eve.id}`)).status).toBe(404);
    const [after] = await t.db.query<{ n: number }>('select count(*)::int as n from project_roles');
    expect(after?.n).toBe(before?.n);
  });
});

describe.each(testBackends())('the project roles migration (%s)', (backend) => {
  it("gives existing users their global role in every existing project, and makes the base role of non-admins none", async () => {
    const database = await openTestDatabase(backend);
    const { db } = database;
    // A database as it was before: migrations 0001 to 0005 only. openTestDatabase applied all; start again on a fresh schema.
    await db.query('drop schema public cascade');
    await db.query('create schema public');
    const dir = mkdtempSync(join(tmpdir(), 'rollgate-migrations-'));
    try {
      for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => f < '0006')) cpSync(join(MIGRATIONS_DIR, file), join(dir, file));
      await migrate(db, `${dir}/`);
      await db.query("insert into users (id, email, name, role) values ('u1', 'v@x', 'V', 'viewer'), ('u2', 'e@x', 'E', 'editor'), ('u3', 'a@x', 'A', 'admin')");
      await db.query("insert into projects (id, key, name) values ('p1', 'one', 'One'), ('p2', 'two', 'Two')");
      await migrate(db);
      const roles = await db.query<{ project_id: string; user_id: string; role: string }>('select project_id, user_id, role from project_roles order by project_id, user_id');
      expect(roles).toEqual([
        { project_id: 'p1', user_id: 'u1', role: 'viewer' },
        { project_id: 'p1', user_id: 'u2', role: 'editor' },
        { project_id: 'p2', user_id: 'u1', role: 'viewer' },
        { project_id: 'p2', user_id: 'u2', role: 'editor' },
      ]);
      expect(await db.query('select id, role from users order by id')).toEqual([
        { id: 'u1', role: 'none' },
        { id: 'u2', role: 'none' },
        { id: 'u3', role: 'admin' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
