import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { evaluate, type FlagConfig, type Segment } from '@rollgate/core';
import { CONTEXT_LIMITS, frontendVersionEventSchema } from '@rollgate/contract';
import { buildApp } from '../../app.js';
import { defaultConfig } from '../../config.js';
import { recordSnapshotChange } from '../snapshot-changes.js';
import { newId } from '../../internal/ids.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, applied } from '../flags/flag-testing.test-helpers.js';
import { snapshotHubOf } from './client-feature.js';
import {
  baseUrlOf,
  createSdkToken,
  environmentId,
  openStream,
  storedVersion,
  writeFlag,
  writeSegment,
  type SseConnection,
  type SseMessage,
} from './client.test-helpers.js';

interface SnapshotBody {
  environment: string;
  version: number;
  flags: FlagConfig[];
  segments: Segment[];
}

interface ChangeData {
  version: number;
  changes: { type: 'flag' | 'segment'; key: string; removed: boolean; flag?: FlagConfig; segment?: Segment }[];
}

/** What an SDK does with the stream: start from a snapshot, apply each change event in order. */
function applyEvent(state: SnapshotBody, message: SseMessage): SnapshotBody {
  if (message.event === 'snapshot') return JSON.parse(message.data as string) as SnapshotBody;
  if (message.event !== 'change') return state;
  const data = JSON.parse(message.data as string) as ChangeData;
  expect(String(data.version)).toBe(message.id);
  const flags = new Map(state.flags.map((f) => [f.key, f]));
  const segments = new Map(state.segments.map((s) => [s.key, s]));
  for (const c of data.changes) {
    const target = c.type === 'flag' ? flags : segments;
    if (c.removed) target.delete(c.key);
    else (target as Map<string, unknown>).set(c.key, c.type === 'flag' ? c.flag : c.segment);
  }
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { environment: state.environment, version: data.version, flags: [...flags.values()].sort(byKey), segments: [...segments.values()].sort(byKey) };
}

const isEvent = (m: SseMessage) => m.comment === undefined;

const CHECKOUT_CONFIG = {
  enabled: true,
  offVariation: 'off',
  rules: [
    { id: 'beta', segments: ['beta-testers'], serve: { variation: 'on' } },
    { id: 'north-america', conditions: [{ attribute: 'country', operator: 'in' as const, values: ['US', 'CA'] }], serve: { rollout: { percentage: 25, variation: 'on' } } },
  ],
  fallthrough: { variation: 'off' },
};

const BANNER_VARIATIONS = [
  { key: 'hello', value: 'Hello' },
  { key: 'hi', value: 'Hi' },
];
const BANNER_CONFIG = {
  enabled: true,
  offVariation: 'hello',
  targets: [{ variation: 'hi', values: ['user-2'] }],
  fallthrough: {
    rollout: {
      percentage: 100,
      variants: [
        { variation: 'hello', weight: 50_000 },
        { variation: 'hi', weight: 50_000 },
      ],
    },
  },
  salt: 'banner-2026',
};

describe.each(testBackends())('client API (%s)', (backend) => {
  let t: TestApp;
  let base: string;
  let server: string;
  let browser: string;
  let devServer: string;
  const streams: SseConnection[] = [];
  const open = async (...args: Parameters<typeof openStream>) => {
    const s = await openStream(...args);
    streams.push(s);
    return s;
  };

  const snapshot = async (token = server, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: '/api/client/snapshot', headers: { authorization: `Bearer ${token}`, ...headers } });

  /** Waits until this replica serves (at least) the stored version. */
  const converged = async (token = server, env = 'production'): Promise<SnapshotBody> => {
    const want = await storedVersion(t.db, env);
    let body: SnapshotBody | undefined;
    await vi.waitFor(
      async () => {
        body = (await snapshot(token)).json() as SnapshotBody;
        expect(body.version).toBeGreaterThanOrEqual(want);
      },
      { timeout: 5_000, interval: 10 },
    );
    return body as SnapshotBody;
  };

  beforeAll(async () => {
    t = await createTestApp(backend, { config: { heartbeatMs: 100 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = baseUrlOf(t.app.server.address());
    server = await createSdkToken(t.db, 'server', 'production');
    browser = await createSdkToken(t.db, 'browser', 'production');
    devServer = await createSdkToken(t.db, 'server', 'development');
    await writeSegment(t.db, {
      key: 'beta-testers',
      name: 'Beta testers',
      definition: { included: ['user-1'], rules: [{ conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }] },
    });
    await writeSegment(t.db, { key: 'gone', definition: { included: ['x'] }, archived: true });
    await writeFlag(t.db, { key: 'new-checkout', environments: { production: CHECKOUT_CONFIG } });
    await writeFlag(t.db, { key: 'banner-text', type: 'string', variations: BANNER_VARIATIONS, environments: { production: BANNER_CONFIG } });
    await writeFlag(t.db, { key: 'old-flag', archived: true });
    // A flag without a row for production (created before the environment existed).
    await t.db.transaction(async (tx) => {
      const [{ id } = { id: '' }] = await tx.query<{ id: string }>("select id from projects where key = 'default'");
      await tx.query("insert into flags (id, project_id, key, name, type, variations) values ($1, $2, 'no-config', 'No config', 'boolean', $3)", [
        newId('flg'),
        id,
        JSON.stringify([
          { key: 'on', value: true },
          { key: 'off', value: false },
        ]),
      ]);
      await recordSnapshotChange(tx, await environmentId(tx, 'production'), { type: 'flag', key: 'no-config', removed: false });
    });
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await t.close();
  });

  it("serves the token's environment snapshot with a strong ETag, and 304 for If-None-Match", async () => {
    const res = await snapshot();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    const body = res.json() as SnapshotBody;
    expect(body).toEqual({
      environment: 'production',
      version: await storedVersion(t.db, 'production'),
      flags: [
        { key: 'banner-text', type: 'string', variations: BANNER_VARIATIONS, ...BANNER_CONFIG, version: 2 },
        { key: 'new-checkout', type: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: false }], ...CHECKOUT_CONFIG, version: 2 },
        { key: 'no-config', type: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: false }], enabled: false, offVariation: 'off', fallthrough: { variation: 'off' } },
      ],
      segments: [
        {
          key: 'beta-testers',
          name: 'Beta testers',
          included: ['user-1'],
          rules: [{ conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }],
        },
      ],
    });

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await snapshot(server, { 'if-none-match': ifNoneMatch });
      expect(again.statusCode, ifNoneMatch).toBe(304);
      expect(again.body).toBe('');
      expect(again.headers.etag).toBe(etag);
      expect(again.headers['cache-control']).toBe('no-cache');
    }
    expect((await snapshot(server, { 'if-none-match': '"something-else"' })).statusCode).toBe(200);

    const dev = (await snapshot(devServer)).json() as SnapshotBody;
    expect(dev.environment).toBe('development');
    expect(dev.flags.find((f) => f.key === 'new-checkout')?.enabled).toBe(false);
    expect((await snapshot(devServer)).headers.etag).not.toBe(etag);
  });

  it('changes the ETag after a change, and the old one no longer gets a 304', async () => {
    const before = await snapshot();
    const etag = before.headers.etag as string;
    await writeFlag(t.db, { key: 'new-checkout', environments: { production: { ...CHECKOUT_CONFIG, enabled: false } } });
    const after = await converged();
    expect(after.version).toBe((before.json() as SnapshotBody).version + 1);
    expect(after.flags.find((f) => f.key === 'new-checkout')?.enabled).toBe(false);
    const res = await snapshot(server, { 'if-none-match': etag });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).not.toBe(etag);
    expect((await snapshot(server, { 'if-none-match': res.headers.etag as string })).statusCode).toBe(304);
    // A change to another environment changes nothing here.
    await writeFlag(t.db, { key: 'new-checkout', environments: { development: { ...CHECKOUT_CONFIG, enabled: true } } });
    await converged(devServer, 'development');
    expect((await snapshot(server, { 'if-none-match': res.headers.etag as string })).statusCode).toBe(304);
    await writeFlag(t.db, { key: 'new-checkout', environments: { production: CHECKOUT_CONFIG } });
  });

  it('lets each token kind use its own endpoints only', async () => {
    const call = (method: 'GET' | 'POST', url: string, token: string | null) =>
      t.request(method, url, method === 'POST' ? { context: { userId: 'u' } } : undefined, token);
    for (const [token, status] of [
      [t.adminToken, 403],
      [browser, 403],
      [null, 401],
      ['rg_server_not-a-token', 401],
    ] as const) {
      const res = await call('GET', '/api/client/snapshot', token);
      expect(res.status, `snapshot ${String(token)}`).toBe(status);
      expect(res.body.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      await expect(open(base, token)).rejects.toMatchObject({ status });
    }
    for (const [token, status] of [
      [t.adminToken, 403],
      [server, 403],
      [null, 401],
      ['rg_browser_not-a-token', 401],
    ] as const) {
      const res = await call('POST', '/api/frontend/evaluate', token);
      expect(res.status, `evaluate ${String(token)}`).toBe(status);
      const stream = await call('GET', '/api/frontend/stream', token);
      expect(stream.status, `frontend stream ${String(token)}`).toBe(status);
      expect(stream.body.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      await expect(open(base, token, { path: '/api/frontend/stream' })).rejects.toMatchObject({ status });
    }
    // SDK tokens cannot use the management API either.
    expect((await t.request('GET', '/api/projects', undefined, server)).status).toBe(403);
  });

  it('streams the snapshot on connect, then each change with the next id', async () => {
    const s = await open(base, server);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-cache');
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['x-request-id']).toBeTruthy();
    const first = await s.waitFor(isEvent);
    expect(first.event).toBe('snapshot');
    const current = await converged();
    expect(Number(first.id)).toBe(current.version);
    expect(JSON.parse(first.data as string)).toEqual(current);

    await writeFlag(t.db, { key: 'banner-text', environments: { production: { ...BANNER_CONFIG, enabled: false } } });
    const change = await s.waitFor((m) => m.event === 'change');
    expect(Number(change.id)).toBe(current.version + 1);
    const data = JSON.parse(change.data as string) as ChangeData;
    expect(data).toEqual({
      version: current.version + 1,
      changes: [{ type: 'flag', key: 'banner-text', removed: false, flag: { key: 'banner-text', type: 'string', variations: BANNER_VARIATIONS, ...BANNER_CONFIG, enabled: false, version: 3 } }],
    });
    await writeFlag(t.db, { key: 'banner-text', environments: { production: BANNER_CONFIG } });
    await s.waitFor((m) => m.event === 'change' && Number(m.id) === current.version + 2);
    s.close();
  });

  it('streams changes made through the management API', async () => {
    const s = await open(base, server);
    await s.waitFor(isEvent);
    const created = await t.request('POST', '/api/projects/default/flags', { key: 'via-api', name: 'Via the API' });
    expect(created.status).toBe(201);
    const hasKey = (m: SseMessage) => m.event === 'change' && (JSON.parse(m.data as string) as ChangeData).changes.some((c) => c.key === 'via-api');
    const added = await s.waitFor(hasKey);
    expect((JSON.parse(added.data as string) as ChangeData).changes).toEqual([
      { type: 'flag', key: 'via-api', removed: false, flag: expect.objectContaining({ key: 'via-api', enabled: false, version: created.body.environments.production.version }) },
    ]);
    const config = { enabled: true, offVariation: 'off', rules: [{ id: 'beta', segments: ['beta-testers'], serve: { variation: 'on' } }], fallthrough: { variation: 'off' } };
    // Production requires approval: the change request reaches the stream once another user approves it.
    const put = await applied(t, 'default', await t.request('PUT', '/api/projects/default/flags/via-api/environments/production', { version: created.body.environments.production.version, config }), (await addUser(t, 'approver')).token);
    expect(put.status).toBe(200);
    const configured = await s.waitFor((m) => hasKey(m) && Number(m.id) > Number(added.id));
    expect((JSON.parse(configured.data as string) as ChangeData).changes[0]?.flag).toEqual({
      key: 'via-api',
      type: 'boolean',
      variations: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      ...config,
      version: put.body.version,
    });
    s.close();
  });

  it('lets a client reproduce the snapshot by applying the change events in order', async () => {
    const s = await open(base, server);
    await s.waitFor(isEvent);
    // A seeded sequence of writes, some of them in concurrent bursts (coalesced into fewer reloads).
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const flagKeys = ['f-a', 'f-b', 'f-c', 'new-checkout'];
    const write = (): Promise<unknown> => {
      const r = random();
      const key = flagKeys[Math.floor(random() * flagKeys.length)] as string;
      if (r < 0.45) {
        return writeFlag(t.db, {
          key,
          environments: { production: { enabled: random() < 0.5, offVariation: 'off', fallthrough: { rollout: { percentage: Math.round(random() * 100), variation: 'on' } } } },
        });
      }
      if (r < 0.55) return writeFlag(t.db, { key, archived: random() < 0.6 });
      if (r < 0.65) return writeFlag(t.db, { key, environments: { development: { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } } } });
      const segment = `seg-${Math.floor(random() * 3)}`;
      return writeSegment(t.db, { key: segment, definition: { included: [`user-${Math.floor(random() * 100)}`] }, archived: random() < 0.2 });
    };
    for (let round = 0; round < 12; round++) {
      const burst = 1 + Math.floor(random() * 4);
      await Promise.all(Array.from({ length: burst }, write));
    }
    const final = await storedVersion(t.db, 'production');
    await s.waitFor((m) => isEvent(m) && Number(m.id) >= final);
    const events = s.events();
    let state = JSON.parse(events[0]?.data as string) as SnapshotBody;
    let lastId = Number(events[0]?.id);
    for (const e of events.slice(1)) {
      expect(e.event).toBe('change');
      expect(Number(e.id)).toBeGreaterThan(lastId);
      lastId = Number(e.id);
      state = applyEvent(state, e);
    }
    expect(state.version).toBe(final);
    expect(state).toEqual(await converged());
    s.close();
  });

  it('resumes from Last-Event-ID with only the missed changes', async () => {
    const s1 = await open(base, server);
    const first = await s1.waitFor(isEvent);
    s1.close();
    const held = JSON.parse(first.data as string) as SnapshotBody;
    await writeFlag(t.db, { key: 'resume-a', environments: { production: { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } } } });
    await writeSegment(t.db, { key: 'resume-seg', definition: { excluded: ['user-9'] } });
    await writeFlag(t.db, { key: 'banner-text', environments: { production: { ...BANNER_CONFIG, salt: 'resumed' } } });
    const current = await converged();

    // This replica still holds those transitions: one event per change, no snapshot.
    const s2 = await open(base, server, { lastEventId: first.id as string });
    await s2.waitFor((m) => isEvent(m) && Number(m.id) === current.version);
    const replayed = s2.events();
    expect(replayed.every((e) => e.event === 'change')).toBe(true);
    expect(replayed.flatMap((e) => (JSON.parse(e.data as string) as ChangeData).changes.map((c) => c.key)).sort()).toEqual(['banner-text', 'resume-a', 'resume-seg']);
    expect(replayed.reduce(applyEvent, held)).toEqual(current);
    s2.close();

    // A replica that started since (its hub is empty) reads them from snapshot_changes: one event.
    const other = await buildApp({ config: defaultConfig({ heartbeatMs: 100 }), db: t.db });
    try {
      await other.listen({ port: 0, host: '127.0.0.1' });
      const s3 = await open(baseUrlOf(other.server.address()), server, { lastEventId: first.id as string });
      const resumed = await s3.waitFor(isEvent);
      expect(resumed.event).toBe('change');
      expect(Number(resumed.id)).toBe(current.version);
      expect(applyEvent(held, resumed)).toEqual(current);
      // The same with ?lastEventId= (for clients that cannot set headers), when nothing was missed: no event.
      const s4 = await open(baseUrlOf(other.server.address()), server, { query: `?lastEventId=${current.version}` });
      await s4.waitFor((m) => m.comment === 'heartbeat');
      expect(s4.events()).toEqual([]);
      // A change written now reaches both replicas' streams (two apps, one database).
      await writeFlag(t.db, { key: 'resume-a', archived: true });
      for (const s of [s3, s4]) {
        const change = await s.waitFor((m) => m.event === 'change' && Number(m.id) === current.version + 1);
        expect(JSON.parse(change.data as string)).toEqual({ version: current.version + 1, changes: [{ type: 'flag', key: 'resume-a', removed: true }] });
      }
      s3.close();
      s4.close();

      // A gap the database no longer holds (changes pruned) falls back to a full snapshot; so do ids it cannot know.
      const now = await converged();
      await t.db.query('delete from snapshot_changes where environment_id = $1 and snapshot_version <= $2', [await environmentId(t.db, 'production'), Number(first.id) + 1]);
      for (const lastEventId of [first.id as string, String(now.version + 100), 'not-a-version']) {
        const s5 = await open(baseUrlOf(other.server.address()), server, { lastEventId });
        const event = await s5.waitFor(isEvent);
        expect(event.event, lastEventId).toBe('snapshot');
        expect(Number(event.id)).toBe(now.version);
        expect(JSON.parse(event.data as string)).toEqual(now);
        s5.close();
      }
    } finally {
      await other.close();
    }
  });

  it('sends heartbeats, and forgets clients that disconnect', async () => {
    const hub = snapshotHubOf(t.app);
    if (hub === undefined) throw new Error('no hub');
    await vi.waitFor(() => expect(hub.clientCount).toBe(0));
    const s = await open(base, server);
    await s.waitFor(isEvent);
    const beat = await s.waitFor((m) => m.comment === 'heartbeat');
    await s.waitFor((m) => m.comment === 'heartbeat', 2_000, s.messages.indexOf(beat) + 1);
    expect(hub.clientCount).toBe(1);
    const metrics = await hub.metrics.metrics();
    expect(metrics).toContain('rollgate_stream_clients{environment="default/production"} 1');
    expect(metrics).toContain(`rollgate_snapshot_version{environment="default/production"} ${await storedVersion(t.db, 'production')}`);
    s.close();
    await vi.waitFor(() => expect(hub.clientCount).toBe(0));
  });

  it('ends the open streams of a token when it is revoked', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'server', name: 'to revoke', projectKey: 'default', environmentKey: 'production' });
    expect(created.status).toBe(201);
    const kept = await open(base, server);
    const doomed = await open(base, created.body.secret);
    await Promise.all([kept.waitFor(isEvent), doomed.waitFor(isEvent)]);
    expect((await t.request('DELETE', `/api/tokens/${created.body.token.id}`)).status).toBe(200);
    await doomed.ended;
    const refused = await openStream(base, created.body.secret).catch((e: Error) => e);
    expect(String(refused)).toContain('401');
    // Other tokens' streams stay open.
    await kept.waitFor((m) => m.comment === 'heartbeat', 2_000, kept.messages.length);
  });

  it('catches up when a notification is lost, or on a resynchronise notification', async () => {
    const hub = snapshotHubOf(t.app);
    if (hub === undefined) throw new Error('no hub');
    const env = await environmentId(t.db, 'production');
    const before = (await converged()).version;
    const silentWrite = () =>
      t.db.transaction(async (tx) => {
        const [row] = await tx.query<{ v: number }>('update environments set snapshot_version = snapshot_version + 1 where id = $1 returning snapshot_version as v', [env]);
        await tx.query("update flag_environments set config = jsonb_set(config, '{enabled}', 'true') where environment_id = $1", [env]);
        await tx.query('insert into snapshot_changes (environment_id, snapshot_version, change) values ($1, $2, $3)', [env, row?.v, JSON.stringify({ type: 'flag', key: 'no-config', removed: false })]);
      });
    await silentWrite();
    await new Promise((r) => setTimeout(r, 50));
    expect(hub.peek(env)?.version).toBe(before);
    await hub.reconcile();
    await vi.waitFor(() => expect(hub.peek(env)?.version).toBe(before + 1));
    await silentWrite();
    hub.onNotification('');
    await vi.waitFor(() => expect(hub.peek(env)?.version).toBe(before + 2));
    // A stale notification does not move it back.
    hub.onNotification(JSON.stringify({ environmentId: env, snapshotVersion: 1 }));
    expect(hub.peek(env)?.version).toBe(before + 2);
  });

  it('evaluates flags for browsers exactly as the core does', async () => {
    const snap = await converged();
    const contexts = [
      {},
      { userId: 'user-1' },
      { userId: 'user-2', country: 'US' },
      { userId: 'someone', email: 'a@example.com' },
      ...Array.from({ length: 60 }, (_, i) => ({ userId: `user-${i * 7}`, country: ['US', 'CA', 'DE'][i % 3] as string, tags: ['a', 'b'], plan: null })),
    ];
    for (const context of contexts) {
      const res = await t.request('POST', '/api/frontend/evaluate', { context }, browser);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.version).toBe(snap.version);
      const expected: Record<string, unknown> = {};
      for (const flag of snap.flags) {
        const r = evaluate<unknown>(snap, flag.key, context, undefined);
        expected[flag.key] = {
          value: r.value ?? null,
          reason: r.reason,
          type: flag.type,
          ...(r.variant !== undefined ? { variant: r.variant } : {}),
          ...(r.ruleId !== undefined ? { ruleId: r.ruleId } : {}),
          ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
        };
      }
      expect(res.body.flags).toEqual(expected);
    }
    const some = await t.request('POST', '/api/frontend/evaluate', { context: { userId: 'user-2' }, flags: ['banner-text', 'missing', 'old-flag'] }, browser);
    expect(some.body.flags).toEqual({
      'banner-text': { value: 'Hi', variant: 'hi', reason: 'TARGETING_MATCH', type: 'string' },
      missing: { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' },
      'old-flag': { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' },
    });
    const bad = await t.request('POST', '/api/frontend/evaluate', { context: { nested: { no: 1 } } }, browser);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('matches regexes in linear time for browsers, and bounds the context a browser may send', async () => {
    await writeFlag(t.db, {
      key: 'regex-attack',
      environments: {
        production: {
          enabled: true,
          offVariation: 'off',
          rules: [
            { id: 'any', conditions: [{ attribute: 'name', operator: 'matches', values: ['(?:.*){10}x', '.*.*.*.*.*=x'] }], serve: { variation: 'on' } },
            { id: 'digits', conditions: [{ attribute: 'n', operator: 'matches', values: ['^\\d+\\d+\\d+\\d+x$'] }], serve: { variation: 'on' } },
          ],
          fallthrough: { variation: 'off' },
        },
      },
    });
    await converged();
    // A backtracking engine takes seconds on 24 characters of the first pattern; these are 1,024.
    const longest = { name: 'a'.repeat(CONTEXT_LIMITS.valueLength), n: '1'.repeat(CONTEXT_LIMITS.valueLength) };
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/frontend/evaluate', { context: longest, flags: ['regex-attack'] }, browser);
      expect(res.status).toBe(200);
      expect(res.body.flags['regex-attack']).toEqual({ value: false, variant: 'off', reason: 'DEFAULT', type: 'boolean' });
    }
    const hit = await t.request('POST', '/api/frontend/evaluate', { context: { n: '1234x' }, flags: ['regex-attack'] }, browser);
    expect(hit.body.flags['regex-attack']).toMatchObject({ value: true, ruleId: 'digits' });

    const tooLong = await t.request('POST', '/api/frontend/evaluate', { context: { name: 'a'.repeat(CONTEXT_LIMITS.valueLength + 1) } }, browser);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ code: 'VALIDATION_FAILED', requestId: expect.any(String) as unknown });
    const manyAttributes = Object.fromEntries(Array.from({ length: CONTEXT_LIMITS.attributes + 1 }, (_, i) => [`a${i}`, i]));
    expect((await t.request('POST', '/api/frontend/evaluate', { context: manyAttributes }, browser)).status).toBe(400);
    const longArray = { tags: Array.from({ length: CONTEXT_LIMITS.arrayLength + 1 }, (_, i) => `t${i}`) };
    expect((await t.request('POST', '/api/frontend/evaluate', { context: longArray }, browser)).status).toBe(400);
    const longName = { ['x'.repeat(CONTEXT_LIMITS.nameLength + 1)]: 'v' };
    expect((await t.request('POST', '/api/frontend/evaluate', { context: longName }, browser)).status).toBe(400);
  });

  it('streams only the snapshot version to browsers: on connect and after each change', async () => {
    await writeFlag(t.db, {
      key: 'beta-only',
      environments: { production: { enabled: true, offVariation: 'off', rules: [{ id: 'beta', segments: ['beta-testers'], serve: { variation: 'on' } }], fallthrough: { variation: 'off' } } },
    });
    const current = await converged();
    const hub = snapshotHubOf(t.app);
    if (hub === undefined) throw new Error('no hub');
    const streamsBefore = hub.clientCount;
    const before = await t.request('POST', '/api/frontend/evaluate', { context: { userId: 'user-3' }, flags: ['beta-only'] }, browser);
    expect(before.body.flags['beta-only']).toEqual({ value: false, variant: 'off', reason: 'DEFAULT', type: 'boolean' });
    const s = await open(base, browser, { path: '/api/frontend/stream' });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-cache');
    expect(s.headers['x-request-id']).toBeTruthy();
    const first = await s.waitFor(isEvent);
    expect(first).toMatchObject({ event: 'version', id: String(current.version) });
    expect(frontendVersionEventSchema.strict().parse(JSON.parse(first.data as string))).toEqual({ version: current.version });

    // A change: one version event, with no configuration in it.
    await writeFlag(t.db, { key: 'banner-text', environments: { production: { ...BANNER_CONFIG, salt: 'browser-stream' } } });
    const change = await s.waitFor((m) => isEvent(m) && Number(m.id) > current.version);
    expect(change.event).toBe('version');
    expect(JSON.parse(change.data as string)).toEqual({ version: current.version + 1 });
    // A segment change (which may change evaluations) is announced too; a change elsewhere is not.
    await writeFlag(t.db, { key: 'banner-text', environments: { development: BANNER_CONFIG } });
    await writeSegment(t.db, { key: 'beta-testers', name: 'Beta testers', definition: { included: ['user-1', 'user-3'] } });
    const segment = await s.waitFor((m) => isEvent(m) && Number(m.id) > current.version + 1);
    expect(JSON.parse(segment.data as string)).toEqual({ version: current.version + 2 });
    await s.waitFor((m) => m.comment === 'heartbeat', 2_000, s.messages.indexOf(segment) + 1);
    expect(s.events().map((e) => e.event)).toEqual(['version', 'version', 'version']);
    // The configuration (rules, segments, salts) never reaches the browser stream.
    for (const e of s.events()) expect(e.data).not.toMatch(/salt|rules|beta-testers|flags/);
    // What the browser then reads: the evaluation at that version.
    const evaluated = await t.request('POST', '/api/frontend/evaluate', { context: { userId: 'user-3' }, flags: ['beta-only'] }, browser);
    expect(evaluated.body.version).toBe(current.version + 2);
    expect(evaluated.body.flags['beta-only']).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'beta', type: 'boolean' });

    // A new connection starts from the current version.
    const again = await open(base, browser, { path: '/api/frontend/stream' });
    expect(await again.waitFor(isEvent)).toMatchObject({ event: 'version', id: String(current.version + 2) });
    expect(hub.clientCount).toBe(streamsBefore + 2);
    s.close();
    again.close();
    await vi.waitFor(() => expect(hub.clientCount).toBe(streamsBefore));
    await writeSegment(t.db, {
      key: 'beta-testers',
      name: 'Beta testers',
      definition: { included: ['user-1'], rules: [{ conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }] },
    });
  });

  it('ends the frontend streams of a browser token when it is revoked, and sends CORS headers on them', async () => {
    const created = await t.request('POST', '/api/tokens', { kind: 'browser', name: 'to revoke', projectKey: 'default', environmentKey: 'production' });
    expect(created.status).toBe(201);
    const kept = await open(base, browser, { path: '/api/frontend/stream', headers: { origin: 'https://shop.example' } });
    expect(kept.headers['access-control-allow-origin']).toBe('*');
    const doomed = await open(base, created.body.secret, { path: '/api/frontend/stream' });
    await Promise.all([kept.waitFor(isEvent), doomed.waitFor(isEvent)]);
    expect((await t.request('DELETE', `/api/tokens/${created.body.token.id}`)).status).toBe(200);
    await doomed.ended;
    await expect(open(base, created.body.secret, { path: '/api/frontend/stream' })).rejects.toMatchObject({ status: 401 });
    await kept.waitFor((m) => m.comment === 'heartbeat', 2_000, kept.messages.length);
    kept.close();
  });

  it('answers CORS for the frontend API (any origin by default)', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/frontend/evaluate',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/frontend/evaluate',
      headers: { origin: 'https://shop.example', authorization: `Bearer ${browser}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ context: {} }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const streamPreflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/frontend/stream',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(streamPreflight.statusCode).toBe(204);
    expect(streamPreflight.headers['access-control-allow-methods']).toContain('GET');
    // Only the frontend API.
    const client = await snapshot(server, { origin: 'https://shop.example' });
    expect(client.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('ends its streams when the app closes', async () => {
    const other = await buildApp({ config: defaultConfig({ heartbeatMs: 60_000 }), db: t.db });
    await other.listen({ port: 0, host: '127.0.0.1' });
    const s = await open(baseUrlOf(other.server.address()), server);
    await s.waitFor(isEvent);
    const started = performance.now();
    await other.close();
    await s.ended;
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe.each(testBackends())('frontend CORS with a list of origins (%s)', (backend) => {
  let t: TestApp;
  let browser: string;
  beforeAll(async () => {
    t = await createTestApp(backend, { config: { corsOrigins: ['https://shop.example', 'https://admin.example/'] } });
    browser = await createSdkToken(t.db, 'browser', 'production');
  });
  afterAll(() => t.close());

  const evaluateFrom = (origin: string, token: string | null = browser) =>
    t.app.inject({
      method: 'POST',
      url: '/api/frontend/evaluate',
      headers: { origin, 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      payload: JSON.stringify({ context: { userId: 'u' } }),
    });

  it('allows the listed origins', async () => {
    for (const origin of ['https://shop.example', 'https://admin.example']) {
      const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/frontend/evaluate', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      expect(preflight.headers.vary).toContain('Origin');
      const res = await evaluateFrom(origin);
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
    }
    // Errors carry the CORS headers too, so the browser can read them.
    const unauthenticated = await evaluateFrom('https://shop.example', null);
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe('https://shop.example');
  });

  it('refuses other origins, preflight or not', async () => {
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/frontend/evaluate', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.json().code).toBe('FORBIDDEN');
    const res = await evaluateFrom('https://evil.example');
    expect(res.statusCode).toBe(403);
    expect(res.json().details).toEqual({ origin: 'https://evil.example' });
    // Without an Origin (not a browser), the token is what counts.
    const noOrigin = await t.request('POST', '/api/frontend/evaluate', { context: {} }, browser);
    expect(noOrigin.status).toBe(200);
  });
});
