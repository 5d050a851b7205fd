/**
 * Three `rollgate start` processes on one PostgreSQL. The one whose rollout
 * controller holds the advisory lock is killed with SIGKILL in the middle of
 * a tick: another replica takes the lock and the rollouts go on, with no
 * transition lost or doubled, and the stream clients of every surviving
 * replica end with exactly the configuration the database holds.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCKS } from './db/database.js';
import { api, decisionLogs, openStream, startRollouts, startServerProcess, timedPlan, waitFor, type ServerProcess, type StreamEvent } from './server-process.test-helpers.js';
import { createPostgresDatabase } from './testing.test-helpers.js';

const withPostgres = process.env.ROLLGATE_TEST_DATABASE_URL !== undefined;
const ADMIN_TOKEN = `rg_admin_replicas_${randomBytes(12).toString('hex')}`;
const ROLLOUTS = 20;
const STAGES = 5;
const STAGE_MS = 1_500;

const running: ServerProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.kill();
  for (const fn of cleanup) await fn();
});

/** The flags a stream client holds after applying its snapshot and change events in order. */
function streamState(events: readonly StreamEvent[]): { versions: number[]; flags: Map<string, unknown> } {
  const flags = new Map<string, unknown>();
  const versions: number[] = [];
  for (const e of events) {
    versions.push(Number(e.id));
    if (e.event === 'snapshot') {
      flags.clear();
      for (const f of e.data.flags) flags.set(f.key, f);
    } else if (e.event === 'change') {
      for (const c of e.data.changes) {
        if (c.type !== 'flag') continue;
        if (c.removed) flags.delete(c.key);
        else flags.set(c.key, c.flag);
      }
    }
  }
  return { versions, flags };
}

describe.runIf(withPostgres)('three replicas on one PostgreSQL', () => {
  it('the controller lock holder killed mid-tick: another replica goes on within 10 s, no transition lost or doubled, every stream gets every change', async () => {
    const database = await createPostgresDatabase();
    cleanup.push(database.drop);
    const replicas: ServerProcess[] = [];
    for (const name of ['a', 'b', 'c']) {
      const url = new URL(database.url);
      url.searchParams.set('application_name', `replica-${name}`);
      const p = await startServerProcess({ DATABASE_URL: url.toString(), ROLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, ROLLGATE_ROLLOUT_TICK_MS: '100' }, 60_000);
      running.push(p);
      replicas.push(p);
    }
    const [a] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const sdk = await api(a, ADMIN_TOKEN, 'POST', '/api/tokens', { kind: 'server', name: 'svc', projectKey: 'default', environmentKey: 'development' });
    expect(sdk.status).toBe(201);
    const streams = replicas.map((r) => openStream(r, sdk.body.secret));
    await Promise.all(streams.map((s) => s.ready));

    const monitor = new pg.Client({ connectionString: database.url });
    await monitor.connect();
    cleanup.unshift(() => monitor.end());
    /** The replica whose controller holds the lock now (it holds it only while it ticks). */
    const lockHolder = async (): Promise<string | undefined> => {
      const rows = await monitor.query<{ name: string }>(
        "select a.application_name as name from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted and l.objid = $1",
        [LOCKS.rolloutController],
      );
      return rows.rows[0]?.name;
    };

    const ids = await startRollouts(a, ADMIN_TOKEN, ROLLOUTS, timedPlan(STAGES, STAGE_MS));
    const startedAt = Date.now();
    // Kill the leader as the first stage ends, when its ticks apply transitions.
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + STAGE_MS - 100 - Date.now())));
    const holder = await waitFor('a replica to hold the controller lock', lockHolder, 10_000);
    const victim = replicas[['replica-a', 'replica-b', 'replica-c'].indexOf(holder)] as ServerProcess;
    await victim.kill();
    const killedAt = Date.now();
    const survivors = replicas.filter((r) => r !== victim);

    const completed = async () => {
      const res = await api(survivors[0] as ServerProcess, ADMIN_TOKEN, 'GET', '/api/projects/default/rollouts?status=completed&limit=500');
      return res.body.items.length === ROLLOUTS;
    };
    await waitFor('every rollout to complete on the surviving replicas', completed, 60_000);
    expect(await lockHolder()).not.toBe(holder);

    const logs = await decisionLogs(survivors[0] as ServerProcess, ADMIN_TOKEN, ids);
    const kinds = ['start', ...Array.from({ length: STAGES - 1 }, () => 'advance'), 'complete'];
    for (const id of ids) {
      const { log, decisions } = logs.get(id) as { log: string[]; decisions: any[] };
      expect(decisions.map((d) => d.kind), `${id}: ${log.join('; ')}`).toEqual(kinds);
      expect(decisions.slice(1, STAGES).map((d) => [d.fromStage, d.toStage, d.actor.kind])).toEqual(Array.from({ length: STAGES - 1 }, (_, i) => [i, i + 1, 'system']));
    }
    // The rollouts went on: the first decision the controller made after the kill came within 10 s of it.
    const after = [...logs.values()].flatMap((l) => l.decisions).map((d) => Date.parse(d.at)).filter((t) => t > killedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.min(...after) - killedAt).toBeLessThan(10_000);

    // Every surviving replica's stream client holds the configuration the database holds.
    const snapshot = await api(survivors[0] as ServerProcess, sdk.body.secret, 'GET', '/api/client/snapshot');
    const finalFlags = new Map(snapshot.body.flags.map((f: { key: string }) => [f.key, f]));
    for (const [i, replica] of replicas.entries()) {
      if (replica === victim) continue;
      const stream = streams[i] as ReturnType<typeof openStream>;
      await waitFor(`replica ${i}'s stream to reach version ${snapshot.body.version}`, () => Number(stream.events.at(-1)?.id) >= snapshot.body.version, 10_000);
      const state = streamState(stream.events);
      expect(state.versions, 'versions only go up').toEqual([...state.versions].sort((x, y) => x - y));
      expect(new Set(state.versions).size).toBe(state.versions.length);
      expect(state.versions.at(-1)).toBe(snapshot.body.version);
      expect(state.flags).toEqual(finalFlags);
      stream.close();
    }
    streams[replicas.indexOf(victim)]?.close();
    for (const r of survivors) expect(await r.stop()).toBe(0);
  }, 180_000);
});
