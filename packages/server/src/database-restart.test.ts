import { afterAll, describe, expect, it } from 'vitest';
import { canRunPrivatePostgres, startPrivatePostgres, type PrivatePostgres } from './private-postgres.test-helpers.js';
import { startServerProcess, type ServerProcess } from './server-process.test-helpers.js';
import { openStream, type SseConnection } from './features/client/client.test-helpers.js';

let pg: PrivatePostgres | undefined;
let server: ServerProcess | undefined;
let stream: SseConnection | undefined;
afterAll(async () => {
  stream?.close();
  if (server !== undefined && server.child.exitCode === null) await server.kill();
  pg?.destroy();
});

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${(server as ServerProcess).url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe.runIf(canRunPrivatePostgres())('a database restart', () => {
  it('answers 503 while PostgreSQL is down, loses nothing, and streams catch up after it is back', async () => {
    pg = await startPrivatePostgres();
    server = await startServerProcess({ DATABASE_URL: pg.url });
    const admin = server.adminToken as string;
    const created = await call('POST', '/api/projects/default/flags', admin, { key: 'before-restart', name: 'Before' });
    expect(created.status).toBe(201);
    const sdk = await call('POST', '/api/tokens', admin, { kind: 'server', name: 'svc', projectKey: 'default', environmentKey: 'production' });
    stream = await openStream(server.url, sdk.body.secret);
    await stream.waitFor((m) => m.event === 'snapshot');

    pg.stop();
    const down = await call('POST', '/api/projects/default/flags', admin, { key: 'during-outage', name: 'During' });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('DATABASE_UNAVAILABLE');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    pg.start();

    // The pool and the LISTEN connection reconnect by themselves.
    let after: { status: number; body: any } | undefined;
    for (let i = 0; i < 100; i++) {
      after = await call('POST', '/api/projects/default/flags', admin, { key: 'after-restart', name: 'After' });
      if (after.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after?.status).toBe(201);
    const event = await stream.waitFor((m) => m.event === 'change' && (m.data ?? '').includes('after-restart'), 15_000);
    expect(event.id).toBeTruthy();
    const list = await call('GET', '/api/projects/default/flags', admin);
    expect(list.body.items.map((f: { key: string }) => f.key).sort()).toEqual(['after-restart', 'before-restart']);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});
