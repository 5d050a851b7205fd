/**
 * Test support for the flag, change-request and segment suites: extra users
 * with their tokens (inserted directly, so these suites do not depend on the
 * users API), and readings of what a refused write must leave unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '@rollgate/contract';
import { hashToken } from '../../http/auth.js';
import { newId } from '../../internal/ids.js';
import type { TestApp } from '../../testing.test-helpers.js';

export interface TestUser {
  id: string;
  token: string;
}

/** A new user with `role` and an admin-kind (user) token. */
export async function addUser(t: TestApp, role: Role, name: string = role): Promise<TestUser> {
  const id = newId('usr');
  const token = `rg_admin_${randomBytes(16).toString('hex')}`;
  await t.db.query('insert into users (id, email, name, role) values ($1, $2, $3, $4)', [id, `${id}@example.test`, name, role]);
  await t.db.query("insert into api_tokens (id, kind, name, token_hash, prefix, user_id) values ($1, 'admin', 't', $2, 'rg_admin_xx', $3)", [newId('tok'), hashToken(token), id]);
  return { id, token };
}

/**
 * The answer of a write that may need approval, applied: a 202 change
 * request is approved with `approverToken` (someone other than its author).
 */
export async function applied(t: TestApp, projectKey: string, res: { status: number; body: any }, approverToken: string): Promise<{ status: number; body: any }> {
  if (res.status !== 202) return res;
  return t.request('POST', `/api/projects/${projectKey}/change-requests/${res.body.id}/approve`, { version: res.body.version }, approverToken);
}

/** The id of the first admin (the owner of `t.adminToken`). */
export async function adminUserId(t: TestApp): Promise<string> {
  const [row] = await t.db.query<{ id: string }>("select id from users where email = 'admin@localhost'");
  return (row as { id: string }).id;
}

/** Snapshot versions of a project's environments, by key. */
export async function snapshotVersions(t: TestApp, projectKey: string): Promise<Record<string, number>> {
  const res = await t.request('GET', `/api/projects/${projectKey}/environments`);
  return Object.fromEntries(res.body.items.map((e: { key: string; snapshotVersion: number }) => [e.key, e.snapshotVersion]));
}

/** The number of audit events. */
export async function auditCount(t: TestApp): Promise<number> {
  const [row] = await t.db.query<{ n: number }>('select count(*)::int as n from audit_events');
  return (row as { n: number }).n;
}

/** The newest audit actions of a project, newest first. */
export async function auditActions(t: TestApp, projectKey: string, limit = 10): Promise<string[]> {
  const res = await t.request('GET', `/api/audit?projectKey=${projectKey}&limit=${limit}`);
  return res.body.items.map((e: { action: string }) => e.action);
}

/** The last snapshot change recorded for an environment. */
export async function lastSnapshotChange(t: TestApp, projectKey: string, environmentKey: string): Promise<unknown> {
  const [row] = await t.db.query<{ change: unknown }>(
    `select c.change from snapshot_changes c join environments e on e.id = c.environment_id join projects p on p.id = e.project_id
      where p.key = $1 and e.key = $2 order by c.snapshot_version desc limit 1`,
    [projectKey, environmentKey],
  );
  return row?.change;
}

/** Everything a refused write must leave as it was. */
export async function stateOf(t: TestApp, projectKey: string): Promise<unknown> {
  const flags = await t.request('GET', `/api/projects/${projectKey}/flags?limit=500`);
  const archived = await t.request('GET', `/api/projects/${projectKey}/flags?limit=500&archived=true`);
  const segments = await t.request('GET', `/api/projects/${projectKey}/segments?limit=500`);
  const requests = await t.request('GET', `/api/projects/${projectKey}/change-requests?limit=500`);
  return { flags: flags.body, archived: archived.body, segments: segments.body, requests: requests.body, snapshots: await snapshotVersions(t, projectKey), audit: await auditCount(t) };
}
