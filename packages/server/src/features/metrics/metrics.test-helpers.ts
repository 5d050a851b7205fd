/**
 * Test support for the metrics suites: the `shop` project with a production
 * environment and a server SDK token of it.
 */
import { expect } from 'vitest';
import type { TestApp } from '../../testing.test-helpers.js';

/** Creates project `shop` with environment `production`; resolves to a server token's secret there. */
export async function shopWithServerToken(t: TestApp): Promise<string> {
  expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
  expect((await t.request('POST', '/api/projects/shop/environments', { key: 'production', name: 'production' })).status).toBe(201);
  const res = await t.request('POST', '/api/tokens', { kind: 'server', name: 'server', projectKey: 'shop', environmentKey: 'production' });
  expect(res.status).toBe(201);
  return res.body.secret as string;
}
