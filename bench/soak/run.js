// Soak: one real Rollgate server (`rollgate start` from dist) under steady load for a long
// time, to show that throughput holds, nothing fails and memory stays flat. See bench/README.md
// and docs/reliability.md.
//
//   npm run bench:soak                         (builds, then runs this for 10 minutes)
//   node bench/soak/run.js [--duration 600] [--interval 30] [--poll-rate 500] [--pollers 50]
//                          [--clients 1000] [--events 20000] [--batch 1000] [--change-every 10]
//                          [--database postgres://...] [--pglite-shared-buffers 16MB]
//
// Load, for the whole duration, each from its own child process:
//  - snapshot polling: `--pollers` keep-alive connections polling GET /api/client/snapshot with
//    If-None-Match (as the SDKs do) at `--poll-rate` requests per second in total;
//  - `--clients` streaming clients on GET /api/client/stream (server SDK token), each counting
//    the change events it receives; a flag change every `--change-every` seconds;
//  - `--events` metric events per second to POST /api/client/metrics, in batches of `--batch`
//    items (error-rate and latency observations and exposures of 10,000 contexts).
// Every `--interval` seconds a row: throughput and errors of each load, and the server's memory
// (RSS from /proc; heap, external memory and the embedded database's WASM heap from /metrics).
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { api as call, percentile, startWorker as startScriptWorker, table } from '../lib/harness.js';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
/** A worker of this script, given its job. */
function startWorker(kind, job) {
  const worker = startScriptWorker(fileURLToPath(import.meta.url), kind);
  worker.child.send(job);
  return worker;
}

/** The body of a JSON API call. */
const api = async (...args) => (await call(...args)).body;

const DEFAULTS = {
  duration: 600,
  interval: 30,
  pollRate: 500,
  pollers: 50,
  clients: 1_000,
  events: 20_000,
  batch: 1_000,
  changeEvery: 10,
  flags: 20,
  database: undefined,
  pgliteSharedBuffers: undefined,
  /** RSS may grow by at most this fraction from the end of the first interval to the end. */
  flatTolerance: 0.1,
};
const PROJECT = 'default';
const ENVIRONMENT = 'production';
const CONTEXTS = 10_000;

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  const names = {
    '--duration': 'duration',
    '--interval': 'interval',
    '--poll-rate': 'pollRate',
    '--pollers': 'pollers',
    '--clients': 'clients',
    '--events': 'events',
    '--batch': 'batch',
    '--change-every': 'changeEvery',
    '--flags': 'flags',
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (names[name] !== undefined) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, 0 or more`);
      opts[names[name]] = n;
      i++;
    } else if (name === '--database') {
      opts.database = value;
      i++;
    } else if (name === '--pglite-shared-buffers') {
      opts.pgliteSharedBuffers = value;
      i++;
    } else if (name === '--worker') {
      opts.worker = value;
      i++;
    } else throw new Error(`unknown option ${name}`);
  }
  if (opts.batch < 1 || opts.batch > 1000) throw new Error('--batch must be from 1 to 1000 (the batch size the API accepts)');
  if (opts.interval < 1) throw new Error('--interval must be at least 1');
  return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmtMs = (n) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : 'n/a');
const mb = (bytes) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(0) : 'n/a');

/** Runs `send` `rate` times a second (spread over `lanes` concurrent lanes) until `stop()` returns true. */
async function paced(rate, lanes, stop, send) {
  if (rate <= 0) return;
  const gap = (1000 * lanes) / rate;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      let next = performance.now() + (gap * lane) / lanes;
      while (!stop()) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += gap;
        // Behind schedule (the server is slow): skip what was missed, do not burst.
        if (performance.now() - next > gap * 2) next = performance.now();
        await send(lane);
      }
    }),
  );
}

/** Counts and latencies of one kind of request over one reporting interval. */
class Window {
  constructor() {
    this.reset();
  }
  reset() {
    this.ok = 0;
    this.errors = 0;
    this.statuses = {};
    this.latencies = [];
    this.units = 0;
  }
  record(status, ms, units = 1) {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.latencies.push(ms);
    if (typeof status === 'number' && status < 400) {
      this.ok++;
      this.units += units;
    } else this.errors++;
  }
  take() {
    const sorted = this.latencies.sort((a, b) => a - b);
    const out = { ok: this.ok, errors: this.errors, units: this.units, statuses: this.statuses, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    this.reset();
    return out;
  }
}

/** A small keep-alive HTTP client (fetch would add its own pooling and per-request cost to the load generator). */
function client(base, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return (method, path, headers, body) =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = httpRequest(`${base}${path}`, { method, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', () => resolve({ status: 'error', ms: performance.now() - started }));
      });
      req.on('error', (error) => resolve({ status: error.code ?? 'error', ms: performance.now() - started }));
      req.end(body);
    });
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

/** Reports the window to the parent whenever asked, until told to stop. */
function serveReports(window, extra = () => ({})) {
  let stopped = false;
  process.on('message', (m) => {
    if (m.report) process.send({ report: { ...window.take(), ...extra() } });
    if (m.stop) {
      stopped = true;
      process.send({ report: { ...window.take(), ...extra() }, stopped: true });
      setTimeout(() => process.disconnect(), 100);
    }
  });
  return () => stopped;
}

async function pollWorker(job) {
  const window = new Window();
  const call = client(job.url, job.pollers);
  const etags = new Array(job.pollers).fill(undefined);
  const stopped = serveReports(window);
  process.send({ ready: true });
  await paced(job.pollRate, job.pollers, stopped, async (lane) => {
    const headers = { authorization: `Bearer ${job.token}`, ...(etags[lane] === undefined ? {} : { 'if-none-match': etags[lane] }) };
    const res = await call('GET', '/api/client/snapshot', headers);
    if (res.status === 200) etags[lane] = res.headers.etag;
    window.record(res.status, res.ms);
  });
}

async function metricsWorker(job) {
  const window = new Window();
  const call = client(job.url, 32);
  const stopped = serveReports(window);
  const prefix = randomBytes(4).toString('hex');
  let batchNo = 0;
  let rejected = 0;
  process.send({ ready: true });
  const batchesPerSecond = job.events / job.batch;
  await paced(batchesPerSecond, Math.max(1, Math.min(32, Math.ceil(batchesPerSecond))), stopped, async () => {
    const at = new Date().toISOString();
    const items = [];
    for (let i = 0; i < job.batch; i++) {
      const n = batchNo * job.batch + i;
      const flag = `soak-flag-${n % job.flags}`;
      const cohort = n % 10 < 5 ? 'treatment' : 'control';
      const contextKey = `ctx-${(n * 7919) % CONTEXTS}`;
      if (i % 10 === 0) items.push({ kind: 'exposure', flag, variant: cohort === 'treatment' ? 'on' : 'off', cohort, contextKey, at });
      else if (i % 2 === 0) items.push({ kind: 'metric', metric: 'error-rate', flag, cohort, value: n % 97 === 0 ? 1 : 0, at });
      else items.push({ kind: 'metric', metric: 'response-time', flag, cohort, value: 80 + (n % 50), at });
    }
    const body = JSON.stringify({ batchId: `${prefix}-${batchNo++}`, items });
    const res = await call('POST', '/api/client/metrics', { authorization: `Bearer ${job.token}`, 'content-type': 'application/json' }, body);
    let accepted = 0;
    if (res.status === 200) {
      const parsed = JSON.parse(res.body);
      accepted = parsed.accepted;
      rejected += parsed.rejected.length;
    }
    window.record(res.status, res.ms, accepted);
  });
  void rejected;
}

async function sseWorker(job) {
  const window = new Window();
  const clients = [];
  let failures = 0;
  let disconnects = 0;
  const connect = (index) =>
    new Promise((resolve) => {
      const c = { index, buffer: '', changes: 0, version: 0, open: false };
      const req = httpRequest(`${job.url}/api/client/stream`, { headers: { authorization: `Bearer ${job.token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          failures++;
          res.resume();
          resolve();
          return;
        }
        c.open = true;
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          c.buffer += chunk;
          let cut;
          while ((cut = c.buffer.indexOf('\n\n')) !== -1) {
            const block = c.buffer.slice(0, cut);
            c.buffer = c.buffer.slice(cut + 2);
            const id = /^id: (\d+)$/m.exec(block);
            if (id !== null) c.version = Number(id[1]);
            if (block.startsWith('event: snapshot')) resolve();
            else if (block.startsWith('event: change')) c.changes++;
          }
        });
        res.on('close', () => {
          if (c.open) disconnects++;
          c.open = false;
        });
      });
      req.on('error', () => {
        if (!c.open) failures++;
        resolve();
      });
      req.end();
      c.req = req;
      clients.push(c);
    });
  for (let i = 0; i < job.clients; i += 100) await Promise.all(Array.from({ length: Math.min(100, job.clients - i) }, (_, j) => connect(i + j)));
  const summary = () => {
    const versions = clients.map((c) => c.version);
    const changes = clients.map((c) => c.changes);
    return {
      open: clients.filter((c) => c.open).length,
      failures,
      disconnects,
      minVersion: Math.min(...versions),
      maxVersion: Math.max(...versions),
      minChanges: Math.min(...changes),
      maxChanges: Math.max(...changes),
    };
  };
  serveReports(window, summary);
  process.send({ ready: true, ...summary() });
  process.on('message', (m) => {
    if (m.stop) for (const c of clients) c.req.destroy();
  });
}

// ---------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------

/** Starts `rollgate start` and reads its URL. */
async function startServer(env) {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0'], { env: { ...process.env, ROLLGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    out += d;
    process.stderr.write(d);
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 120 s:\n${out}`)), 120_000);
    const check = () => {
      const m = /Rollgate is running at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}:\n${out}`)));
  });
  return { child, url };
}

/** The server's memory: RSS from /proc, the rest from its /metrics. */
async function memoryOf(server) {
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8').catch(() => '');
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  const text = await (await globalThis.fetch(`${server.url}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss,
    heapUsed: value('nodejs_heap_size_used_bytes'),
    external: value('nodejs_external_memory_bytes'),
    database: value('rollgate_embedded_database_memory_bytes'),
  };
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return num / den;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker !== undefined) {
    const job = await new Promise((resolve) => process.once('message', resolve));
    if (opts.worker === 'poll') return pollWorker(job);
    if (opts.worker === 'metrics') return metricsWorker(job);
    if (opts.worker === 'sse') return sseWorker(job);
    throw new Error(`unknown worker ${opts.worker}`);
  }

  const adminToken = `rg_admin_soak_${randomBytes(16).toString('hex')}`;
  const dataDir = opts.database === undefined ? await mkdtemp(join(tmpdir(), 'rollgate-soak-')) : undefined;
  const env = {
    ROLLGATE_ADMIN_TOKEN: adminToken,
    ROLLGATE_HOST: '127.0.0.1',
    ...(dataDir === undefined ? { DATABASE_URL: opts.database } : { ROLLGATE_DATA_DIR: dataDir }),
    ...(opts.pgliteSharedBuffers === undefined ? {} : { ROLLGATE_PGLITE_SHARED_BUFFERS: opts.pgliteSharedBuffers }),
  };
  const server = await startServer(env);
  const workers = [];
  try {
    const cpu = cpus();
    const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
    console.log(`Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; load average ${load()}`);
    console.log(
      `server: rollgate start (dist) on ${dataDir === undefined ? 'PostgreSQL' : `PGlite in ${dataDir}`}${opts.pgliteSharedBuffers === undefined ? '' : `, shared_buffers ${opts.pgliteSharedBuffers}`}, ${server.url}, pid ${server.child.pid}`,
    );
    console.log(
      `load: ${fmtInt(opts.pollRate)} snapshot polls/s over ${opts.pollers} connections, ${fmtInt(opts.clients)} streaming clients (a flag change every ${opts.changeEvery} s), ` +
        `${fmtInt(opts.events)} metric events/s in batches of ${opts.batch}; ${opts.duration} s, a row every ${opts.interval} s\n`,
    );

    const versions = new Map();
    for (let i = 0; i < opts.flags; i++) {
      const key = `soak-flag-${i}`;
      const flag = await api(server.url, adminToken, 'POST', `/api/projects/${PROJECT}/flags`, { key, name: `Soak flag ${i}` });
      versions.set(key, flag.environments[ENVIRONMENT].version);
    }
    const token = (await api(server.url, adminToken, 'POST', '/api/tokens', { kind: 'server', name: 'soak', projectKey: PROJECT, environmentKey: ENVIRONMENT })).secret;
    const setConfig = async (key, percentage) => {
      const res = await api(server.url, adminToken, 'PUT', `/api/projects/${PROJECT}/flags/${key}/environments/${ENVIRONMENT}`, {
        version: versions.get(key),
        config: { enabled: true, offVariation: 'off', targets: [], rules: [], fallthrough: { rollout: { percentage, variation: 'on' } } },
      });
      versions.set(key, res.version);
    };
    for (const key of versions.keys()) await setConfig(key, 10);

    const job = { url: server.url, token, ...opts };
    const sse = startWorker('sse', job);
    const ready = await sse.next(300_000);
    if (ready.open !== opts.clients) throw new Error(`only ${ready.open} of ${opts.clients} streaming clients connected (${ready.failures} failed)`);
    workers.push(sse);
    for (const kind of ['poll', 'metrics']) {
      const w = startWorker(kind, job);
      await w.next();
      workers.push(w);
    }

    const rows = [];
    const memory = [];
    let changes = 0;
    let changeErrors = 0;
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let changing = true;
    const changer = (async () => {
      while (changing && opts.changeEvery > 0) {
        await sleep(opts.changeEvery * 1000);
        if (!changing) break;
        try {
          await setConfig('soak-flag-0', 10 + (changes % 80));
          changes++;
        } catch (error) {
          changeErrors++;
          console.error(String(error));
        }
      }
    })();
    const totals = { polls: 0, pollErrors: 0, events: 0, metricErrors: 0 };
    const statuses = { poll: {}, metrics: {} };
    const merge = (into, from) => {
      for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    };
    const collect = async (last) => {
      const t = elapsed();
      for (const w of workers) w.child.send(last ? { stop: true } : { report: true });
      const [s, p, m] = await Promise.all(workers.map((w) => w.next()));
      const mem = await memoryOf(server);
      const span = t - (rows.at(-1)?.t ?? 0);
      totals.polls += p.report.ok;
      totals.pollErrors += p.report.errors;
      totals.events += m.report.units;
      totals.metricErrors += m.report.errors;
      merge(statuses.poll, p.report.statuses);
      merge(statuses.metrics, m.report.statuses);
      memory.push([t, mem.rss]);
      const row = { t, span, p: p.report, m: m.report, s: s.report, mem, changes };
      rows.push(row);
      console.log(
        `t=${fmtInt(t)}s polls/s ${fmtInt(p.report.ok / span)} (p99 ${fmtMs(p.report.p99)} ms, errors ${p.report.errors}), events/s ${fmtInt(m.report.units / span)} ` +
          `(p99 ${fmtMs(m.report.p99)} ms, errors ${m.report.errors}), streams ${s.report.open}/${opts.clients} changes ${s.report.minChanges}/${changes}, ` +
          `RSS ${mb(mem.rss)} MB heap ${mb(mem.heapUsed)} MB external ${mb(mem.external)} MB database ${mb(mem.database)} MB`,
      );
    };
    for (let next = opts.interval; next < opts.duration; next += opts.interval) {
      await sleep(Math.max(0, next * 1000 - (performance.now() - started)));
      await collect(false);
    }
    changing = false;
    await changer;
    // Give the last change time to reach every stream before the final row.
    await sleep(Math.max(0, opts.duration * 1000 - (performance.now() - started)));
    await sleep(1_000);
    await collect(true);
    const finalVersion = (await api(server.url, token, 'GET', '/api/client/snapshot')).version;

    console.log();
    console.log(
      table(
        ['t (s)', 'polls/s', 'poll p99 ms', 'poll errors', 'events/s', 'ingest p99 ms', 'ingest errors', 'streams open', 'changes seen (min/made)', 'RSS MB', 'heap MB', 'external MB', 'db WASM MB'],
        rows.map((r) => [
          fmtInt(r.t),
          fmtInt(r.p.ok / r.span),
          fmtMs(r.p.p99),
          fmtInt(r.p.errors),
          fmtInt(r.m.units / r.span),
          fmtMs(r.m.p99),
          fmtInt(r.m.errors),
          `${r.s.open}/${opts.clients}`,
          `${r.s.minChanges}/${r.changes}`,
          mb(r.mem.rss),
          mb(r.mem.heapUsed),
          mb(r.mem.external),
          mb(r.mem.database),
        ]),
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
    const total = elapsed();
    const last = rows.at(-1);
    const first = rows[0];
    const secondHalf = memory.filter(([t]) => t >= total / 2);
    const growthPerMinute = slope(secondHalf) * 60;
    const growth = (last.mem.rss - first.mem.rss) / first.mem.rss;
    const flat = growth <= opts.flatTolerance;
    const streamsOk = last.s.minChanges === changes && last.s.minVersion === finalVersion && last.s.failures === 0 && last.s.disconnects === 0;
    console.log();
    console.log(
      `totals over ${fmtInt(total)} s: ${fmtInt(totals.polls)} polls (${fmtInt(totals.polls / total)}/s), ${fmtInt(totals.events)} metric events stored (${fmtInt(totals.events / total)}/s), ${changes} flag changes`,
    );
    console.log(`status codes: polls ${JSON.stringify(statuses.poll)}, metric batches ${JSON.stringify(statuses.metrics)}; flag changes that failed: ${changeErrors}`);
    console.log(
      `streams: ${last.s.failures} failed to connect, ${last.s.disconnects} dropped; every client saw ${last.s.minChanges} to ${last.s.maxChanges} of ${changes} changes and holds version ${last.s.minVersion} to ${last.s.maxVersion} (server: ${finalVersion})`,
    );
    console.log(
      `memory: RSS ${mb(first.mem.rss)} MB after the first interval, ${mb(last.mem.rss)} MB at the end (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%), ` +
        `${(growthPerMinute / 1048576).toFixed(2)} MB/min over the second half: ${flat ? 'flat' : 'NOT flat'} (tolerance +${opts.flatTolerance * 100}%)`,
    );
    console.log(`load average at the end: ${load()} (other processes on the machine compete for the same cores)`);
    const failed = totals.pollErrors + totals.metricErrors + changeErrors > 0 || !streamsOk || !flat;
    if (failed) {
      console.log('sanity check failed: errors, streams that missed changes, or memory that grew (see above)');
      process.exitCode = 1;
    }
  } finally {
    for (const w of workers) w.child.kill();
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
