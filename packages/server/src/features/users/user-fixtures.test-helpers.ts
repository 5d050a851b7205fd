/**
 * Test support: users with a personal token, made through the API as an admin would.
 */
import type { Role } from '@rollgate/contract';
import type { TestApp } from '../../testing.test-helpers.js';

export interface TestUser {
  id: string;
  email: string;
  role: Role;
  version: number;
  /** The secret of a personal (kind admin) token of this user. */
  token: string;
  tokenId: string;
}

let counter = 0;

/** Creates a user with `role` and a personal token for them, using the first admin's token. */
export async function createUserWithToken(t: TestApp, role: Role, name = `${role} ${++counter}`): Promise<TestUser> {
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}.${Date.now().toString(36)}${++counter}@example.com`;
  const user = await t.request('POST', '/api/users', { email, name, role });
  if (user.status !== 201) throw new Error(`cannot create user: ${user.status} ${JSON.stringify(user.body)}`);
  const token = await t.request('POST', '/api/tokens', { kind: 'admin', name: `${name} token`, userId: user.body.id });
  if (token.status !== 201) throw new Error(`cannot create token: ${token.status} ${JSON.stringify(token.body)}`);
  return { id: user.body.id, email, role, version: user.body.version, token: token.body.secret, tokenId: token.body.token.id };
}

/** The first admin's user id (the bootstrap admin, owner of `t.adminToken`). */
export async function firstAdmin(t: TestApp): Promise<{ id: string; version: number }> {
  const me = await t.request('GET', '/api/me');
  return { id: me.body.user.id, version: me.body.user.version };
}
