/**
 * The SDK against the real server process (the compiled `rollgate start`,
 * PGlite in a temporary data directory), through a loopback proxy so the
 * client keeps its URL while the server is killed and restarted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../../server/src/server-process.test-helpers.js';
import { createClient, RollgateAuthError, type RollgateClient, type UpdateEvent } from './index.js';
import { startProxy, type TestProxy } from './proxy.test-helpers.js';

const FLAG = 'sdk-checkout';
const dataDir = mkdtempSync(join(tmpdir(), 'rollgate-sdk-server-'));
let server: ServerProcess | undefined;
let proxy: TestProxy;
let admin: string;
let token: string;
let client: RollgateClient | undefined;
const clients: RollgateClient[] = [];
const silent = {};
const fast = { reconnectBaseMs: 100, reconnectMaxMs: 400, logger: silent };

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${(server as ServerProcess).url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Sets the flag's production configuration: on for everyone, or off. */
async function setFlag(on: boolean): Promise<void> {
  const path = `/api/projects/default/flags/${FLAG}/environments/production`;
  const current = await call('GET', path);
  expect(current.status).toBe(200);
  const config = { enabled: true, offVariation: 'off', fallthrough: { variation: on ? 'on' : 'off' } };
  const res = await call('PUT', path, { version: current.body.version, config });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

function nextUpdate(c: RollgateClient, flag: string, timeoutMs = 15_000): Promise<UpdateEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no update of ${flag} within ${timeoutMs} ms`)), timeoutMs);
    const on = (e: UpdateEvent) => {
      if (!e.changedFlags.includes(flag)) return;
      clearTimeout(timer);
      c.off('update', on);
      resolve(e);
    };
    c.on('update', on);
  });
}

function waitFor<T>(c: RollgateClient, event: 'stale' | 'error', predicate: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    const on = (v: T) => {
      if (!predicate(v)) return;
      clearTimeout(timer);
      c.off(event, on as never);
      resolve(v);
    };
    c.on(event, on as never);
  });
}

async function createToken(kind: 'server' | 'browser'): Promise<{ id: string; secret: string }> {
  const res = await call('POST', '/api/tokens', { kind, name: `sdk test ${kind}`, projectKey: 'default', environmentKey: 'production' });
  expect(res.status).toBe(201);
  return { id: res.body.token.id, secret: res.body.secret };
}

beforeAll(async () => {
  server = await startServerProcess({ ROLLGATE_DATA_DIR: dataDir, ROLLGATE_HOST: '127.0.0.1' });
  admin = server.adminToken as string;
  expect(admin).toMatch(/^rg_admin_/);
  // The SDK, not approvals, is under test here: production's changes apply at once.
  const production = await call('GET', '/api/projects/default/environments/production');
  if (production.body.requiresApproval === true) {
    expect((await call('PATCH', '/api/projects/default/environments/production', { version: production.body.version, requiresApproval: false })).status).toBe(200);
  }
  expect((await call('POST', '/api/projects/default/flags', { key: FLAG, name: 'SDK checkout' })).status).toBe(201);
  token = (await createToken('server')).secret;
  proxy = await startProxy(server.url);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await proxy?.close();
  if (server !== undefined && server.child.exitCode === null) await server.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the SDK against a real server', () => {
  it('is ready from the server, and a change reaches it through the stream', async () => {
    client = createClient({ url: proxy.url, token, ...fast });
    clients.push(client);
    await client.ready(15_000);
    expect(client.stale).toBe(false);
    expect(client.isEnabled(FLAG, { userId: 'u-1' })).toBe(false);
    expect(client.evaluate(FLAG, { userId: 'u-1' }, false).reason).toBe('DISABLED');

    const update = nextUpdate(client, FLAG);
    const t0 = performance.now();
    await setFlag(true);
    const event = await update;
    const delay = performance.now() - t0;
    console.log(`[sdk] flag change reached the client through the stream in ${delay.toFixed(1)} ms (PUT included), version ${event.version}`);
    expect(client.isEnabled(FLAG, { userId: 'u-1' })).toBe(true);
    expect(client.evaluate(FLAG, { userId: 'u-1' }, false)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    // Only one stream request so far.
    expect(proxy.requests.filter((r) => r.path.startsWith('/api/client/stream')).length).toBe(1);
  });

  it('keeps answering from its last snapshot while the server is dead, and reports it stale', async () => {
    const c = client as RollgateClient;
    const stale = waitFor<boolean>(c, 'stale', (s) => s);
    await (server as ServerProcess).kill();
    await stale;
    expect(c.stale).toBe(true);
    const lastUpdated = c.lastUpdatedAt;
    expect(c.isEnabled(FLAG, { userId: 'u-1' })).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.isEnabled(FLAG, { userId: 'u-2' })).toBe(true);
    expect(c.stale).toBe(true);
    expect(c.lastUpdatedAt).toEqual(lastUpdated);
  });

  it('catches up after a new server process starts on the same data: a change made while it was down is seen', async () => {
    const c = client as RollgateClient;
    const versionBefore = c.version as number;
    server = await startServerProcess({ ROLLGATE_DATA_DIR: dataDir, ROLLGATE_HOST: '127.0.0.1' });
    // The change is made before the client can reach the new server.
    await setFlag(false);
    const fresh = waitFor<boolean>(c, 'stale', (s) => !s);
    const update = nextUpdate(c, FLAG);
    const streamsBefore = proxy.requests.length;
    proxy.target = server.url;
    await Promise.all([fresh, update]);
    expect(c.stale).toBe(false);
    expect(c.version).toBeGreaterThan(versionBefore);
    expect(c.isEnabled(FLAG, { userId: 'u-1' })).toBe(false);
    // It resumed the stream (Last-Event-ID), it did not need a full GET.
    const after = proxy.requests.slice(streamsBefore).filter((r) => r.status !== undefined);
    expect(after.some((r) => r.path.startsWith('/api/client/stream') && r.status === 200)).toBe(true);
  });

  it('polls with If-None-Match when streaming is off: 304s, then the change', async () => {
    const polled = createClient({ url: proxy.url, token, stream: false, pollIntervalMs: 100, ...fast });
    clients.push(polled);
    await polled.ready(15_000);
    const start = proxy.requests.length;
    await new Promise((r) => setTimeout(r, 700));
    const polls = proxy.requests.slice(start).filter((r) => r.path.startsWith('/api/client/snapshot'));
    const notModified = polls.filter((r) => r.status === 304).length;
    console.log(`[sdk] polling: ${polls.length} requests in 700 ms, ${notModified} answered 304`);
    expect(notModified).toBeGreaterThanOrEqual(3);
    expect(proxy.requests.slice(start).some((r) => r.path.startsWith('/api/client/stream'))).toBe(false);
    const update = nextUpdate(polled, FLAG);
    await setFlag(true);
    await update;
    expect(polled.isEnabled(FLAG, {})).toBe(true);
    polled.close();
  });

  it('stops for good on a revoked token (401), and refuses a browser token (403)', async () => {
    const doomed = await createToken('server');
    const c = createClient({ url: proxy.url, token: doomed.secret, ...fast });
    clients.push(c);
    await c.ready(15_000);
    const errored = waitFor<Error>(c, 'error', () => true);
    expect((await call('DELETE', `/api/tokens/${doomed.id}`)).status).toBe(200);
    const error = await errored;
    expect(error).toBeInstanceOf(RollgateAuthError);
    expect(error.message).toMatch(/401.*revoked/);
    const prefix = doomed.secret.slice(0, 23);
    const count = proxy.requests.filter((r) => r.token === prefix).length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(proxy.requests.filter((r) => r.token === prefix).length).toBe(count);
    // It still answers from its last snapshot.
    expect(c.isEnabled(FLAG, {})).toBe(true);

    const browser = await createToken('browser');
    const b = createClient({ url: proxy.url, token: browser.secret, ...fast });
    clients.push(b);
    b.on('error', () => {});
    const refused = await b.ready(10_000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RollgateAuthError);
    expect((refused as RollgateAuthError).status).toBe(403);
    expect(String(refused)).toMatch(/wrong kind/);
  });
  it('reports exposures and metrics of a rollout flag: the server accepts every item, and a retried batch keeps its batchId', async () => {
    const ROLLOUT_FLAG = 'sdk-rollout';
    expect((await call('POST', '/api/projects/default/flags', { key: ROLLOUT_FLAG, name: 'SDK rollout' })).status).toBe(201);
    const path = `/api/projects/default/flags/${ROLLOUT_FLAG}/environments/production`;
    const current = await call('GET', path);
    const config = { enabled: true, offVariation: 'off', rules: [{ id: 'rollout:test', serve: { rollout: { percentage: 50, variation: 'on' } } }], fallthrough: { variation: 'off' } };
    const put = await call('PUT', path, { version: current.body.version, config });
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    const c = createClient({ url: proxy.url, token, ...fast, metrics: { flushIntervalMs: 60_000, flushAt: 1_000 } });
    clients.push(c);
    const answered: { accepted?: number; rejected?: unknown[]; items: number }[] = [];
    c.on('flush', (r) => answered.push(r));
    await c.ready(15_000);
    let treatment = 0;
    for (let i = 0; i < 200; i++) {
      const ctx = { userId: `rollout-user-${i}` };
      if (c.isEnabled(ROLLOUT_FLAG, ctx)) treatment++;
      c.track('error-rate', i % 4 === 0 ? 1 : 0, ctx);
    }
    expect(treatment).toBeGreaterThan(60);
    expect(treatment).toBeLessThan(140);

    // The server cannot be reached: the batch is kept, then sent again with the same batchId.
    proxy.target = undefined;
    const failed = await c.flush();
    // 200 exposures and the error rate of each cohort as one aggregate.
    expect(failed).toMatchObject([{ items: 202, retained: true }]);
    proxy.target = (server as ServerProcess).url;
    const retried = await c.flush();
    expect(retried).toEqual([{ batchId: failed[0]?.batchId, items: 202, accepted: 202, rejected: [], duplicate: false }]);
    // Sent once more, the server counts it once.
    const again = await fetch(`${(server as ServerProcess).url}/api/client/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batchId: failed[0]?.batchId, items: [{ kind: 'metric', metric: 'error-rate', flag: ROLLOUT_FLAG, cohort: 'control', value: 1, at: new Date().toISOString() }] }),
    });
    expect(await again.json()).toMatchObject({ duplicate: true });

    // More than one batch: 1,000 series (flushAt) flush by themselves, the rest on close(). Two
    // evaluations of each context are one item with a count of 2, which the server takes.
    answered.length = 0;
    for (let i = 0; i < 1_500; i++) {
      c.isEnabled(ROLLOUT_FLAG, { userId: `rollout-user-${i}` });
      c.isEnabled(ROLLOUT_FLAG, { userId: `rollout-user-${i}` });
    }
    await c.close();
    expect(answered.length).toBeGreaterThanOrEqual(2);
    expect(answered.every((r) => r.items <= 1_000 && r.rejected?.length === 0 && r.accepted === r.items)).toBe(true);
    expect(answered.reduce((n, r) => n + (r.accepted ?? 0), 0)).toBe(1_500);
    expect(c.droppedExposures).toBe(0);
  });
});
