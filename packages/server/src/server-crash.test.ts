/**
 * Crash tests: the real `rollgate start` process is killed with SIGKILL at
 * random moments (seeded, the seed is in every failure message) while it
 * acknowledges writes and while its rollout controller ticks, on the embedded
 * database and on PostgreSQL. What was acknowledged survives every crash, and
 * the controller's decision log after the crashes is the one a run without
 * crashes writes: no transition lost, none doubled.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/src/stats/stats.test-helpers.js';
import { api, decisionLogs, startRollouts, startServerProcess, timedPlan, waitFor, type ServerProcess } from './server-process.test-helpers.js';
import { createPostgresDatabase, testBackends, type BackendName } from './testing.test-helpers.js';

const SEED = Number(process.env.ROLLGATE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = mulberry32(SEED);
const between = (min: number, max: number) => Math.floor(min + random() * (max - min));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creating a PGlite cluster on a busy machine can take most of a minute. */
const START_TIMEOUT = 120_000;
const running: ServerProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.kill();
  for (const fn of cleanup) await fn();
});

const ADMIN_TOKEN = `rg_admin_crash_${randomBytes(12).toString('hex')}`;
let template: Promise<string> | undefined;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-crash-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Where a server keeps its data: a fresh PostgreSQL database, or a copy of a
 * PGlite directory that one clean start and stop initialised (creating a
 * PGlite cluster takes seconds; copying it does not).
 */
async function databaseFor(backend: BackendName): Promise<Record<string, string>> {
  if (backend === 'pglite') {
    template ??= (async () => {
      const dir = await tempDir();
      const first = await start({ ROLLGATE_DATA_DIR: dir, ROLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
      expect(await first.stop()).toBe(0);
      return dir;
    })();
    const dir = await tempDir();
    await cp(await template, dir, { recursive: true });
    return { ROLLGATE_DATA_DIR: dir, ROLLGATE_ADMIN_TOKEN: ADMIN_TOKEN };
  }
  const database = await createPostgresDatabase();
  cleanup.push(database.drop);
  return { DATABASE_URL: database.url, ROLLGATE_ADMIN_TOKEN: ADMIN_TOKEN };
}

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const p = await startServerProcess(env, START_TIMEOUT);
  running.push(p);
  return p;
}

/** Every flag of the default project, with its environments, through the paged list. */
async function allFlags(server: ServerProcess, token: string): Promise<Map<string, any>> {
  const flags = new Map<string, any>();
  let cursor: string | null = null;
  do {
    const page = await api(server, token, 'GET', `/api/projects/default/flags?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(page.status).toBe(200);
    for (const f of page.body.items) flags.set(f.key, f);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return flags;
}

const WRITERS = 8;
const CRASHES = 4;
/** Each test restarts the server several times; on a busy machine one start takes seconds. */
const TIMEOUT = 240_000;

describe.each(testBackends())('kill -9 during concurrent writes (%s)', (backend) => {
  it(`loses no acknowledged write over ${CRASHES} crashes (seed ${SEED})`, async () => {
    const env = await databaseFor(backend);
    let server = await start(env);
    const token = ADMIN_TOKEN;
    /** Acknowledged creations, and per flag the last acknowledged configuration version and its percentage. */
    const created = new Set<string>();
    const configured = new Map<string, { version: number; percentage: number }>();
    let attempts = 0;
    let unacknowledged = 0;

    for (let round = 0; round < CRASHES; round++) {
      let stop = false;
      const target = server;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const key = `w${round}-${w}-${i}`;
          attempts++;
          try {
            const res = await api(target, token, 'POST', '/api/projects/default/flags', { key, name: key });
            expect(res.status, JSON.stringify(res.body)).toBe(201);
            created.add(key);
            const percentage = (round * 7 + w + i) % 100;
            const put = await api(target, token, 'PUT', `/api/projects/default/flags/${key}/environments/development`, {
              version: res.body.environments.development.version,
              config: { ...res.body.environments.development.config, enabled: true, fallthrough: { rollout: { percentage, variation: 'on' } } },
            });
            expect(put.status, JSON.stringify(put.body)).toBe(200);
            configured.set(key, { version: put.body.version, percentage });
          } catch (error) {
            // A request the crash cut off was never acknowledged: it may or may not be stored.
            if ((error as { name?: string }).name === 'AssertionError') throw error;
            unacknowledged++;
            return;
          }
        }
      };
      const before = created.size;
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      // The first requests after a start are slow (cold caches and JIT): crash once writes flow.
      await waitFor('writes to be acknowledged', () => created.size - before >= WRITERS, 60_000);
      await sleep(between(0, 800));
      await server.kill();
      stop = true;
      await Promise.all(writers);

      server = await start(env);
      expect(server.adminToken, 'a restart must not bootstrap again').toBeUndefined();
      const flags = await allFlags(server, token);
      const lost = [...created].filter((key) => !flags.has(key));
      expect(lost, `acknowledged creations lost after crash ${round + 1} (seed ${SEED})`).toEqual([]);
      for (const [key, ack] of configured) {
        const stored = flags.get(key).environments.development;
        expect(stored.version, `${key}: acknowledged version ${ack.version} (seed ${SEED})`).toBeGreaterThanOrEqual(ack.version);
        if (stored.version === ack.version) expect(stored.config.fallthrough, `${key} (seed ${SEED})`).toEqual({ rollout: { percentage: ack.percentage, variation: 'on' } });
      }
    }
    expect(created.size, 'the writers got writes through between crashes').toBeGreaterThanOrEqual(CRASHES * WRITERS);
    expect(unacknowledged).toBeGreaterThan(0);
    expect(attempts).toBeGreaterThan(created.size);
    expect(await server.stop()).toBe(0);
  }, TIMEOUT);
});

const ROLLOUTS = 12;
const STAGES = 6;
const MINUTE = 60_000;
/** Each stage's minimum duration, in the clock's time. */
const STAGE_MS = 120 * MINUTE;

/**
 * Starts `ROLLOUTS` rollouts of one timed plan, runs the controller until
 * every one is completed, killing the server `crashes` times at random
 * moments meanwhile, and returns the decision logs.
 */
async function runRollouts(backend: BackendName, crashes: number): Promise<{ logs: string[][]; crashed: number }> {
  // Simulated time: 3,600 times faster than real time, so a two-hour stage takes two real
  // seconds, and a tick comes every 6 minutes of the clock (the 100 ms floor of real time).
  const env = { ...(await databaseFor(backend)), ROLLGATE_MODE: 'development', ROLLGATE_TIME_SCALE: '3600', ROLLGATE_ROLLOUT_TICK_MS: String(6 * MINUTE) };
  let server = await start(env);
  const token = ADMIN_TOKEN;
  const ids = await startRollouts(server, token, ROLLOUTS, timedPlan(STAGES, STAGE_MS));
  const completed = async () => {
    const res = await api(server, token, 'GET', '/api/projects/default/rollouts?status=completed&limit=500');
    return res.body.items.length === ROLLOUTS;
  };
  let crashed = 0;
  while (crashed < crashes && !(await completed())) {
    await sleep(between(20, 2_500));
    await server.kill();
    crashed++;
    server = await start(env);
    // The restarted clock goes on from the latest time recorded, never back before it.
    const latest = Math.max(...[...(await decisionLogs(server, token, ids)).values()].flatMap((l) => l.decisions.map((d) => Date.parse(d.at))));
    const clock = Date.parse((await api(server, token, 'GET', '/healthz')).body.time);
    expect(clock, `the clock after restart ${crashed} (seed ${SEED})`).toBeGreaterThanOrEqual(latest);
  }
  await waitFor('every rollout to complete', completed, 60_000);
  const logs = await decisionLogs(server, token, ids);
  for (const { decisions } of logs.values()) {
    // Each stage lasted at least its minimum duration on the clock, restarts included.
    for (let i = 1; i < decisions.length; i++) expect(Date.parse(decisions[i].at) - Date.parse(decisions[i - 1].at)).toBeGreaterThanOrEqual(STAGE_MS);
  }
  for (const [i] of ids.entries()) {
    const flag = await api(server, token, 'GET', `/api/projects/default/flags/rollout-${i}/environments/development`);
    expect(flag.body.config.rules.find((r: { id: string }) => r.id.startsWith('rollout:'))?.serve).toEqual({ rollout: { percentage: 100, variation: 'on' } });
  }
  expect(await server.stop()).toBe(0);
  return { logs: ids.map((id) => logs.get(id)?.log ?? []), crashed };
}

describe.each(testBackends())('kill -9 during rollout controller ticks on simulated time (%s)', (backend) => {
  it(`writes the decision log of a run without crashes (seed ${SEED})`, async () => {
    const clean = await runRollouts(backend, 0);
    // The run without crashes: the start, one advance per stage, the completion.
    expect(clean.logs[0]).toHaveLength(STAGES + 1);
    expect(clean.logs[0]?.[0]).toMatch(/^start /);
    expect(clean.logs[0]?.at(-1)).toMatch(/^complete /);
    for (const log of clean.logs) expect(log).toEqual(clean.logs[0]);

    const crashing = await runRollouts(backend, 4);
    expect(crashing.crashed, 'the rollouts were killed mid-run').toBeGreaterThanOrEqual(3);
    expect(crashing.logs, `decision logs after ${crashing.crashed} crashes (seed ${SEED})`).toEqual(clean.logs);
  }, TIMEOUT);
});
