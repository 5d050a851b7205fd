import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, openStream, startServerProcess, waitFor, type ServerProcess } from './server-process.test-helpers.js';
import { createPostgresDatabase } from './testing.test-helpers.js';

const withPostgres = process.env.ROLLGATE_TEST_DATABASE_URL !== undefined;
const running: ServerProcess[] = [];
const dropLater: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) await p.kill();
  for (const drop of dropLater) await drop();
});

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const p = await startServerProcess(env);
  running.push(p);
  return p;
}

/** Creates a flag and turns it on in production; returns the flag environment's new version. */
async function createLiveFlag(server: ServerProcess, token: string, key: string): Promise<void> {
  expect((await api(server, token, 'POST', '/api/projects/default/flags', { key, name: key })).status).toBe(201);
  // Processes, not approvals, are under test here: production's changes apply at once.
  const production = await api(server, token, 'GET', '/api/projects/default/environments/production');
  if (production.body.requiresApproval) {
    expect((await api(server, token, 'PATCH', '/api/projects/default/environments/production', { version: production.body.version, requiresApproval: false })).status).toBe(200);
  }
  const env = await api(server, token, 'GET', `/api/projects/default/flags/${key}/environments/production`);
  const put = await api(server, token, 'PUT', `/api/projects/default/flags/${key}/environments/production`, {
    version: env.body.version,
    config: { ...env.body.config, enabled: true, fallthrough: { rollout: { percentage: 25, variation: 'on' } } },
  });
  expect(put.status).toBe(200);
}

async function restartKeepsData(env: Record<string, string>): Promise<void> {
  const first = await start(env);
  const token = first.adminToken as string;
  expect(token).toMatch(/^rg_admin_/);
  expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  await createLiveFlag(first, token, 'new-checkout');
  const sdk = await api(first, token, 'POST', '/api/tokens', { kind: 'server', name: 'svc', projectKey: 'default', environmentKey: 'production' });
  expect(sdk.status).toBe(201);
  expect(await first.stop()).toBe(0);
  expect(first.output()).toContain('Rollgate stopped.');

  const second = await start(env);
  expect(second.adminToken).toBeUndefined();
  const flag = await api(second, token, 'GET', '/api/projects/default/flags/new-checkout');
  expect(flag.status).toBe(200);
  expect(flag.body.environments.production.config).toMatchObject({ enabled: true, fallthrough: { rollout: { percentage: 25 } } });
  const snapshot = await fetch(`${second.url}/api/client/snapshot`, { headers: { authorization: `Bearer ${sdk.body.secret}` } });
  expect(snapshot.status).toBe(200);
  const body = (await snapshot.json()) as { flags: { key: string }[] };
  expect(body.flags.map((f) => f.key)).toContain('new-checkout');
  const audit = await api(second, token, 'GET', '/api/audit?limit=500');
  expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['flag.created', 'flag.environment.updated', 'token.created']));
  expect(await second.stop()).toBe(0);
}

describe('the rollgate server process', () => {
  it('on the embedded database: serves, stops on SIGTERM, and keeps all data across a restart', async () => {
    await restartKeepsData({ ROLLGATE_DATA_DIR: await mkdtemp(join(tmpdir(), 'rollgate-e2e-')) });
  });

  it('on the embedded database: a crash (SIGKILL) loses no committed change', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-crash-'));
    const first = await start({ ROLLGATE_DATA_DIR: dir });
    const token = first.adminToken as string;
    for (let i = 0; i < 5; i++) expect((await api(first, token, 'POST', '/api/projects/default/flags', { key: `crash-${i}`, name: 'x' })).status).toBe(201);
    await first.kill();
    const second = await start({ ROLLGATE_DATA_DIR: dir });
    const flags = await api(second, token, 'GET', '/api/projects/default/flags');
    expect(flags.body.items.map((f: { key: string }) => f.key).sort()).toEqual(['crash-0', 'crash-1', 'crash-2', 'crash-3', 'crash-4']);
    expect(await second.stop()).toBe(0);
  });

  it.runIf(withPostgres)('on PostgreSQL: serves, stops on SIGTERM, and keeps all data across a restart', async () => {
    const database = await createPostgresDatabase();
    dropLater.push(database.drop);
    await restartKeepsData({ DATABASE_URL: database.url });
  });

  it.runIf(withPostgres)('two replicas on one PostgreSQL: a change made through one reaches the stream clients of the other', async () => {
    const database = await createPostgresDatabase();
    dropLater.push(database.drop);
    const a = await start({ DATABASE_URL: database.url });
    const b = await start({ DATABASE_URL: database.url });
    const token = a.adminToken as string;
    expect(b.adminToken).toBeUndefined();
    const sdk = await api(a, token, 'POST', '/api/tokens', { kind: 'server', name: 'svc', projectKey: 'default', environmentKey: 'production' });
    const streamB = openStream(b, sdk.body.secret);
    const streamA = openStream(a, sdk.body.secret);
    await Promise.all([streamB.ready, streamA.ready]);
    expect(streamB.events[0]?.event).toBe('snapshot');

    await createLiveFlag(a, token, 'from-replica-a');
    const seenByB = await waitFor('the change on replica B', () =>
      streamB.events.find((e) => e.event === 'change' && JSON.stringify(e.data).includes('from-replica-a') && JSON.stringify(e.data).includes('"percentage":25')),
    );
    expect(Number(seenByB.id)).toBeGreaterThan(Number(streamB.events[0]?.id));

    await createLiveFlag(b, token, 'from-replica-b');
    await waitFor('the change on replica A', () => streamA.events.find((e) => e.event === 'change' && JSON.stringify(e.data).includes('from-replica-b')));
    streamA.close();
    expect(await a.stop()).toBe(0);
    // Graceful shutdown ends open streams instead of waiting for their clients.
    expect(await b.stop()).toBe(0);
    streamB.close();
  });
});
