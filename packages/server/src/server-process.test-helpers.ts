/**
 * Runs the real `rollgate start` process (compiled, as users run it) and
 * reads its URL and first admin token from its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

export interface ServerProcess {
  url: string;
  adminToken: string | undefined;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no cleanup. */
  kill(): Promise<void>;
  child: ChildProcess;
}

/**
 * Starts `rollgate start` on a free port with `env` added to this process's
 * environment. A process that does not say it is running within
 * `startTimeoutMs` is killed and the call fails with its output.
 */
export async function startServerProcess(env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0'], {
    env: { ...process.env, ROLLGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${startTimeoutMs / 1000} s:\n${out}`));
    }, startTimeoutMs);
    const check = () => {
      const match = /Rollgate is running at (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${out}`));
    });
  });
  await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    adminToken: /^\s+(rg_admin_\S+)$/m.exec(out)?.[1],
    output: () => out,
    child,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A JSON request to a running server with a bearer token; the body parsed (undefined when empty). */
export async function api(server: Pick<ServerProcess, 'url'>, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** One server-sent event as a stream client sees it. */
export interface StreamEvent {
  event: string;
  id: string;
  data: any;
}

/** A minimal SSE reader of GET /api/client/stream: events in arrival order; `ready` resolves on the first one. */
export function openStream(server: Pick<ServerProcess, 'url'>, token: string): { events: StreamEvent[]; close(): void; ready: Promise<void> } {
  const events: StreamEvent[] = [];
  let close = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${server.url}/api/client/stream`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
          );
          if (fields.data !== undefined) {
            events.push({ event: fields.event ?? 'message', id: fields.id ?? '', data: JSON.parse(fields.data) });
            resolve();
          }
        }
      });
    });
    req.on('error', reject);
    req.end();
    close = () => req.destroy();
  });
  return { events, close: () => close(), ready };
}

/** Polls `fn` every 10 ms until it gives a value (not undefined or false). */
export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A plan of `stages` stages with no gates: each advances once its minimum duration has passed. */
export function timedPlan(stages: number, minDurationMs: number) {
  const percentages = [1, 5, 10, 25, 50, 75, 90, 100];
  return {
    stages: Array.from({ length: stages }, (_, i) => ({
      id: `s${i + 1}`,
      name: `Stage ${i + 1}`,
      audience: { percentage: percentages[Math.round((i * (percentages.length - 1)) / Math.max(1, stages - 1))] },
      minDuration: minDurationMs,
    })),
  };
}

/** Each rollout's decision log, oldest first, as what changed: kind, stages, percentages and who; throws unless their versions follow one another and their times never go back. */
export async function decisionLogs(server: Pick<ServerProcess, 'url'>, token: string, ids: readonly string[]): Promise<Map<string, { log: string[]; decisions: any[] }>> {
  const logs = new Map<string, { log: string[]; decisions: any[] }>();
  for (const id of ids) {
    const res = await api(server, token, 'GET', `/api/projects/default/rollouts/${id}/decisions?limit=500`);
    if (res.status !== 200) throw new Error(`decisions of ${id} answered ${res.status}`);
    const items = [...res.body.items].reverse();
    // Each decision was made from the version the one before it left: none doubled, none skipped.
    const versions = items.map((d: { fromVersion: number }) => d.fromVersion);
    if (versions.some((v: number, i: number) => v !== (versions[0] as number) + i)) throw new Error(`decisions of ${id} from versions ${versions.join(', ')}`);
    // Time never goes back in a decision log, across restarts too.
    const times = items.map((d: { at: string }) => Date.parse(d.at));
    if (times.some((t: number, i: number) => i > 0 && t < (times[i - 1] as number))) throw new Error(`decisions of ${id} dated ${items.map((d: { at: string }) => d.at).join(', ')}`);
    logs.set(id, { log: items.map((d: any) => `${d.kind} ${d.fromStage}->${d.toStage} ${d.fromPercentage}%->${d.toPercentage}% by ${d.actor.kind}`), decisions: items });
  }
  return logs;
}


/**
 * Creates plan `timed` from `definition`, flags `rollout-0`... and starts one
 * rollout of the plan on each in the default project's development
 * environment; returns the rollout ids.
 */
export async function startRollouts(server: Pick<ServerProcess, 'url'>, token: string, count: number, definition: unknown): Promise<string[]> {
  const plan = await api(server, token, 'POST', '/api/projects/default/plans', { key: 'timed', name: 'Timed', definition });
  if (plan.status !== 201) throw new Error(`creating the plan answered ${plan.status}: ${JSON.stringify(plan.body)}`);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `rollout-${i}`;
    const flag = await api(server, token, 'POST', '/api/projects/default/flags', { key, name: key });
    if (flag.status !== 201) throw new Error(`creating flag ${key} answered ${flag.status}`);
    const started = await api(server, token, 'POST', '/api/projects/default/rollouts', { flagKey: key, environmentKey: 'development', planKey: 'timed' });
    if (started.status !== 201 || started.body.status !== 'running') throw new Error(`starting the rollout of ${key} answered ${started.status}: ${JSON.stringify(started.body)}`);
    ids.push(started.body.id);
  }
  return ids;
}
