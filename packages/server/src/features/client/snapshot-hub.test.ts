import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../app.js';
import { bootstrap } from '../../bootstrap.js';
import { defaultConfig } from '../../config.js';
import type { Database } from '../../db/database.js';
import { migrate } from '../../db/migrate.js';
import { openPostgres } from '../../db/postgres.js';
import { createPostgresDatabase, openTestDatabase, testBackends, type TestDatabase } from '../../testing.test-helpers.js';
import { baseUrlOf, createSdkToken, environmentId, openStream, writeFlag, writeSegment, type SseConnection } from './client.test-helpers.js';
import { SnapshotHub } from './snapshot-hub.js';
import { diffSnapshots, resolveChanges } from './sse.js';

const quiet = pino({ level: 'silent' });
const ADMIN_TOKEN = `rg_admin_test_${'r'.repeat(32)}`;

/** A socket stand-in that accepts writes and never drains them (a client that stopped reading). */
function stuckResponse(): ServerResponse {
  return new Writable({ highWaterMark: 1, write: () => undefined }) as unknown as ServerResponse;
}

/** One that reads everything at once. */
function readingResponse(received: Buffer[] = []): ServerResponse {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  }) as unknown as ServerResponse;
}

describe('stream events', () => {
  const flag = { key: 'a', type: 'boolean' as const, variations: [], enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } };
  it('resolves changes against the new content, each key once, absent = removed', () => {
    const index = { flags: new Map([['a', flag]]), segments: new Map() };
    expect(
      resolveChanges(
        [
          { type: 'flag', key: 'a' },
          { type: 'segment', key: 's' },
          { type: 'flag', key: 'a' },
          { type: 'flag', key: 'gone' },
        ],
        index,
      ),
    ).toEqual([
      { type: 'segment', key: 's', removed: true },
      { type: 'flag', key: 'a', removed: false, flag },
      { type: 'flag', key: 'gone', removed: true },
    ]);
    expect(resolveChanges([{ type: 'environment', key: 'production' }], index)).toBeUndefined();
  });

  it('diffs two snapshots by content', () => {
    const before = { flags: new Map([['a', flag], ['b', flag]]), segments: new Map([['s', { key: 's' }]]) };
    const after = { flags: new Map([['a', { ...flag, enabled: false }], ['c', flag]]), segments: new Map([['s', { key: 's' }]]) };
    expect(diffSnapshots(before, after)).toEqual([
      { type: 'flag', key: 'a' },
      { type: 'flag', key: 'c' },
      { type: 'flag', key: 'b' },
    ]);
  });
});

describe.each(testBackends())('SnapshotHub (%s)', (backend) => {
  let database: TestDatabase;
  let env: string;
  let clock = 0;
  const hubs: SnapshotHub[] = [];
  const newHub = async (options: Partial<ConstructorParameters<typeof SnapshotHub>[0]> = {}, db?: Database) => {
    const hub = new SnapshotHub({ db: db ?? database.db, logger: quiet, metrics: new Registry(), heartbeatMs: 60_000, now: () => clock, ...options });
    await hub.start();
    hubs.push(hub);
    return hub;
  };

  beforeAll(async () => {
    database = await openTestDatabase(backend);
    await bootstrap(database.db, undefined);
    env = await environmentId(database.db, 'production');
    await writeFlag(database.db, { key: 'f', environments: { production: { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } } } });
  });
  afterAll(async () => {
    for (const hub of hubs) await hub.close();
    await database.drop();
  });

  it('drops a client whose socket has not drained for too long, and one with too much buffered', async () => {
    const hub = await newHub({ stallMs: 1_000, maxBufferedBytes: 1_000_000 });
    const entry = await hub.get(env);
    clock = 10_000;
    const stuck = stuckResponse();
    const reading = readingResponse();
    hub.addClient(env, stuck, 0);
    hub.addClient(env, reading, entry.version);
    expect(hub.clientCount).toBe(2);
    hub.heartbeat();
    expect(stuck.destroyed).toBe(false);
    clock = 10_500;
    hub.heartbeat();
    expect(stuck.destroyed).toBe(false);
    clock = 12_000;
    hub.heartbeat();
    expect(stuck.destroyed).toBe(true);
    expect(reading.destroyed).toBe(false);
    await vi.waitFor(() => expect(hub.clientCount).toBe(1));
    expect(await hub.metrics.getSingleMetricAsString('rollgate_stream_dropped_total')).toContain('rollgate_stream_dropped_total 1');

    const small = await newHub({ stallMs: 60_000, maxBufferedBytes: 100 });
    await small.get(env);
    const full = stuckResponse();
    // Version 0: it is sent the whole snapshot, more than 100 bytes it will never read.
    small.addClient(env, full, 0);
    expect(full.destroyed).toBe(true);
  });

  it('coalesces a burst of changes into few reloads, and ends on the last version', async () => {
    let loads = 0;
    const counting: Database = { ...database.db, transaction: (fn) => (loads++, database.db.transaction(fn)) };
    const hub = await newHub({}, counting);
    const received: Buffer[] = [];
    const entry = await hub.get(env);
    hub.addClient(env, readingResponse(received), entry.version);
    loads = 0;
    const writes = 30;
    await Promise.all(
      Array.from({ length: writes }, (_, i) =>
        writeFlag(database.db, { key: 'f', environments: { production: { enabled: i % 2 === 0, offVariation: 'off', fallthrough: { variation: 'on' } } } }),
      ),
    );
    await vi.waitFor(() => expect(hub.peek(env)?.version).toBe(entry.version + writes));
    expect(loads).toBeLessThan(writes);
    const ids = received.map((b) => /^event: change\nid: (\d+)/.exec(b.toString())?.[1]).map(Number);
    expect(ids.at(-1)).toBe(entry.version + writes);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });
});

/** Replicas: separate connections to one PostgreSQL database, one app each. */
describe.runIf(process.env.ROLLGATE_TEST_DATABASE_URL !== undefined)('replicas on one PostgreSQL database', () => {
  let drop: () => Promise<void>;
  const dbs: Database[] = [];
  const apps: FastifyInstance[] = [];
  const streams: SseConnection[] = [];
  let token: string;

  beforeAll(async () => {
    const created = await createPostgresDatabase();
    drop = created.drop;
    for (let i = 0; i < 2; i++) dbs.push(await openPostgres(created.url, quiet, 5));
    const [a, b] = dbs as [Database, Database];
    await migrate(a);
    await bootstrap(a, ADMIN_TOKEN);
    for (const db of [a, b]) {
      const app = await buildApp({ config: defaultConfig({ heartbeatMs: 1_000 }), db });
      await app.listen({ port: 0, host: '127.0.0.1' });
      apps.push(app);
    }
    token = await createSdkToken(a, 'server', 'production');
    await writeSegment(a, { key: 'pilot', definition: { included: ['user-1'] } });
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    for (const app of apps) await app.close();
    for (const db of dbs) await db.close();
    await drop();
  });

  it("a change written through replica A reaches replica B's stream clients", async () => {
    const b = dbs[1] as Database;
    const [appA, appB] = apps as [FastifyInstance, FastifyInstance];
    const onB = await openStream(baseUrlOf(appB.server.address()), token);
    const onA = await openStream(baseUrlOf(appA.server.address()), token);
    streams.push(onA, onB);
    const snapshot = await onB.waitFor((m) => m.event === 'snapshot');
    await onA.waitFor((m) => m.event === 'snapshot');
    // Through replica A's management API.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    // Replication, not approval, is under test here: production's changes apply at once.
    const production = await appA.inject({ method: 'GET', url: '/api/projects/default/environments/production', headers: admin });
    expect((await appA.inject({ method: 'PATCH', url: '/api/projects/default/environments/production', headers: admin, payload: JSON.stringify({ version: production.json().version, requiresApproval: false }) })).statusCode).toBe(200);
    const created = await appA.inject({ method: 'POST', url: '/api/projects/default/flags', headers: admin, payload: JSON.stringify({ key: 'replicated', name: 'Replicated' }) });
    expect(created.statusCode).toBe(201);
    let flagVersion = created.json().environments.production.version as number;
    const delays: { putMs: number; toB: number; toA: number }[] = [];
    for (let i = 1; i <= 10; i++) {
      const config = { enabled: true, offVariation: 'off', fallthrough: { rollout: { percentage: i * 10, variation: 'on' } } };
      const started = performance.now();
      const put = await appA.inject({ method: 'PUT', url: '/api/projects/default/flags/replicated/environments/production', headers: admin, payload: JSON.stringify({ version: flagVersion, config }) });
      const answered = performance.now();
      expect(put.statusCode).toBe(200);
      flagVersion = put.json().version;
      const [eventB, eventA] = await Promise.all(
        [onB, onA].map((s) => s.waitFor((m) => m.event === 'change' && (JSON.parse(m.data as string) as { changes: { flag?: { version?: number } }[] }).changes[0]?.flag?.version === flagVersion)),
      );
      expect(JSON.parse(eventB?.data as string).changes).toEqual([
        { type: 'flag', key: 'replicated', removed: false, flag: { key: 'replicated', type: 'boolean', variations: expect.any(Array), ...config, version: flagVersion } },
      ]);
      expect(eventA?.id).toBe(eventB?.id);
      delays.push({ putMs: answered - started, toB: (eventB?.at ?? 0) - started, toA: (eventA?.at ?? 0) - started });
    }
    // And rows written with SQL on B's connection reach A.
    const version = (await writeFlag(b, { key: 'replicated', archived: true })).get(await environmentId(b, 'production'));
    for (const s of [onA, onB]) {
      const archived = await s.waitFor((m) => m.event === 'change' && Number(m.id) === version);
      expect(JSON.parse(archived.data as string).changes).toEqual([{ type: 'flag', key: 'replicated', removed: true }]);
    }
    expect(Number(snapshot.id)).toBeLessThan(Number(onB.events().at(-1)?.id));
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    console.log(
      `cross-replica propagation over PostgreSQL LISTEN/NOTIFY, ms from sending PUT to replica A until the stream client has the event: ` +
        `on replica B ${fmt(delays.map((d) => d.toB))}; on replica A ${fmt(delays.map((d) => d.toA))}; PUT round trip ${fmt(delays.map((d) => d.putMs))}`,
    );
    // Both replicas serve the same content under the same ETag.
    const etags = await Promise.all(apps.map(async (app) => (await app.inject({ method: 'GET', url: '/api/client/snapshot', headers: { authorization: `Bearer ${token}` } })).headers.etag));
    expect(etags[0]).toBe(etags[1]);
  });
});
