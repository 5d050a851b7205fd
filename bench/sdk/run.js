#!/usr/bin/env node
// SDK metrics benchmark: one process evaluates flags and calls track() at a fixed rate
// through the Node SDK against a real Rollgate server, then the server's stored totals
// are compared with what was tracked. See bench/README.md.
//
//   npm run bench:sdk                       (builds, then runs this)
//   node bench/sdk/run.js [--duration 60] [--evaluations 100000] [--tracks 400000] [--users 10000] [--flags 2]
//
// This process runs the server (PGlite in a temporary data directory, or PostgreSQL when
// DATABASE_URL is set: use an empty database) and reads its tables at the end. The load runs
// in one child process (this script again, `--worker sdk`) with one SDK client, so the SDK's
// memory is its own: it prints its RSS and heap every 5 s.
//
// Load: `--evaluations` evaluations per second of the rollout flags (round robin) for
// `--users` distinct users, and `--tracks` track() calls per second, each naming one flag,
// spread over four metrics: error-rate (ratio), response-time-avg (mean),
// response-time-p95 (quantile: histogram sketch) and adoption (unique: HyperLogLog sketch).
// Paced in 10 ms slices; the achieved rates are printed, whatever they are.
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from '../internal/start-server.js';

const DEFAULTS = { duration: 60, evaluations: 100_000, tracks: 400_000, users: 10_000, flags: 2 };
const PROJECT = 'bench';
const ENVIRONMENT = 'production';
const METRICS = ['error-rate', 'response-time-avg', 'response-time-p95', 'adoption'];

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    i++;
    if (name === '--worker') {
      opts.worker = value;
      continue;
    }
    const key = name.replace(/^--/, '');
    if (!(key in DEFAULTS)) throw new Error(`unknown option ${name}`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive whole number`);
    opts[key] = n;
  }
  return opts;
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

/** A markdown table with right-aligned numeric columns. */
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const lines = [`| ${headers.map((h, i) => h.padEnd(widths[i])).join(' | ')} |`, `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Worker: the SDK under load
// ---------------------------------------------------------------------------------------------

async function sdkWorker(job) {
  const { createClient } = await import('@rollgate/sdk');
  const client = createClient({ url: job.url, token: job.token, logger: { warn: (m) => process.stderr.write(`[sdk] ${m}\n`), error: (m) => process.stderr.write(`[sdk] ${m}\n`) } });
  await client.ready(30_000);
  let delivered = 0;
  let rejected = 0;
  client.on('flush', (r) => {
    delivered += r.accepted ?? 0;
    rejected += r.rejected?.length ?? 0;
  });
  const contexts = Array.from({ length: job.users }, (_, i) => ({ userId: `user-${i}`, country: i % 3 === 0 ? 'US' : 'DE' }));
  const tracked = Object.fromEntries(METRICS.map((m) => [m, { count: 0, sum: 0 }]));
  let evaluations = 0;
  let tracks = 0;
  let exposures = 0;
  const flags = job.flagKeys;
  const sliceMs = 10;
  const evalsPerSlice = job.evaluations / (1000 / sliceMs);
  const tracksPerSlice = job.tracks / (1000 / sliceMs);
  const samples = [];
  const started = performance.now();
  const end = started + job.duration * 1000;
  let nextSample = started + 5_000;
  let last = { t: started, evaluations: 0, tracks: 0 };
  let u = 0;
  let e = 0;
  let k = 0;
  const sample = (now) => {
    const m = process.memoryUsage();
    const s = (now - last.t) / 1000;
    samples.push({
      t: (now - started) / 1000,
      evaluationsPerSecond: (evaluations - last.evaluations) / s,
      tracksPerSecond: (tracks - last.tracks) / s,
      rss: m.rss,
      heapUsed: m.heapUsed,
      delivered,
      droppedExposures: client.droppedExposures,
      droppedMetrics: client.droppedMetrics,
    });
    last = { t: now, evaluations, tracks };
  };
  let slice = 0;
  while (true) {
    const now = performance.now();
    if (now >= end) break;
    if (now >= nextSample) {
      sample(now);
      nextSample += 5_000;
    }
    // Pace: slice n is due at started + n * sliceMs; ahead of time, wait.
    const due = started + slice * sliceMs;
    if (now < due) {
      await new Promise((r) => setTimeout(r, due - now));
      continue;
    }
    slice++;
    const evalTarget = Math.round(slice * evalsPerSlice);
    while (evaluations < evalTarget) {
      const flag = flags[e++ % flags.length];
      client.variant(flag, contexts[u++ % contexts.length]);
      evaluations++;
      exposures++;
    }
    const trackTarget = Math.round(slice * tracksPerSlice);
    while (tracks < trackTarget) {
      const ctx = contexts[k % contexts.length];
      const flag = flags[k % flags.length];
      const metric = METRICS[tracks % 4];
      const value = metric === 'error-rate' ? (k % 100 === 0 ? 1 : 0) : metric === 'adoption' ? (k % 3 === 0 ? 1 : 0) : 50 + (k % 500);
      client.track(metric, value, ctx, { flags: flag });
      tracked[metric].count++;
      tracked[metric].sum += value;
      tracks++;
      if (tracks % 4 === 0) k++;
    }
    // Let timers and sockets run.
    await new Promise((r) => setImmediate(r));
  }
  sample(performance.now());
  const loadSeconds = (performance.now() - started) / 1000;
  const closeStarted = performance.now();
  await client.close();
  process.send({
    done: true,
    samples,
    tracked,
    exposures,
    evaluations,
    tracks,
    loadSeconds,
    closeSeconds: (performance.now() - closeStarted) / 1000,
    delivered,
    rejected,
    droppedExposures: client.droppedExposures,
    droppedMetrics: client.droppedMetrics,
  });
}

// ---------------------------------------------------------------------------------------------
// Main: the server, set-up, comparison
// ---------------------------------------------------------------------------------------------

async function api(base, token, method, path, body) {
  const res = await globalThis.fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Project, environment, flags with a rollout-owned 20% rule, and a server token, through the HTTP API. */
async function setUp(base, adminToken, flagCount) {
  await api(base, adminToken, 'POST', '/api/projects', { key: PROJECT, name: 'Benchmark' });
  await api(base, adminToken, 'POST', `/api/projects/${PROJECT}/environments`, { key: ENVIRONMENT, name: 'Production' });
  const flagKeys = [];
  for (let i = 0; i < flagCount; i++) {
    const key = `bench-rollout-${i}`;
    flagKeys.push(key);
    await api(base, adminToken, 'POST', `/api/projects/${PROJECT}/flags`, { key, name: `Benchmark rollout ${i}` });
    const path = `/api/projects/${PROJECT}/flags/${key}/environments/${ENVIRONMENT}`;
    const current = await api(base, adminToken, 'GET', path);
    const config = { enabled: true, offVariation: 'off', rules: [{ id: `rollout:bench-${i}`, serve: { rollout: { percentage: 20, variation: 'on' } } }], fallthrough: { variation: 'off' } };
    await api(base, adminToken, 'PUT', path, { version: current.version, config });
  }
  const created = await api(base, adminToken, 'POST', '/api/tokens', { kind: 'server', name: 'benchmark', projectKey: PROJECT, environmentKey: ENVIRONMENT });
  return { serverToken: created.secret, flagKeys };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker === 'sdk') {
    process.once('message', (job) => void sdkWorker(job).catch((error) => {
      console.error(error);
      process.exit(1);
    }));
    return;
  }
  if (opts.worker !== undefined) throw new Error(`unknown worker ${opts.worker}`);
  const databaseUrl = process.env.DATABASE_URL;
  const { server, dataDir, adminToken, close } = await startBenchServer({ name: 'sdk', databaseUrl });
  const cpu = cpus();
  let child;
  try {
    const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
    console.log(`Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${process.platform}/${process.arch}; load average ${load()}`);
    console.log(`server: @rollgate/server (dist), ${databaseUrl ? 'PostgreSQL' : `PGlite in ${dataDir}`}, ${server.url}`);
    const { serverToken, flagKeys } = await setUp(server.url, adminToken, opts.flags);
    console.log(
      `load: one SDK process, ${fmtInt(opts.evaluations)} evaluations/s of ${opts.flags} flags in rollout and ${fmtInt(opts.tracks)} track()/s over ${METRICS.length} metrics, ${fmtInt(opts.users)} users, ${opts.duration} s\n`,
    );
    child = fork(fileURLToPath(import.meta.url), ['--worker', 'sdk'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the SDK worker exited with ${code}`)));
      child.send({ url: server.url, token: serverToken, flagKeys, ...opts });
    });

    console.log('SDK process over time (rates of the 5 s before each row):\n');
    console.log(
      table(
        ['t (s)', 'evaluations/s', 'track()/s', 'RSS (MB)', 'heap used (MB)', 'items delivered', 'dropped exposures', 'dropped metrics'],
        result.samples.map((s) => [s.t.toFixed(0), fmtInt(s.evaluationsPerSecond), fmtInt(s.tracksPerSecond), mb(s.rss), mb(s.heapUsed), fmtInt(s.delivered), fmtInt(s.droppedExposures), fmtInt(s.droppedMetrics)]),
      ),
    );
    console.log(
      `\nachieved over ${result.loadSeconds.toFixed(1)} s: ${fmtInt(result.evaluations / result.loadSeconds)} evaluations/s, ${fmtInt(result.tracks / result.loadSeconds)} track()/s; close() (last flush) took ${result.closeSeconds.toFixed(1)} s; ${fmtInt(result.delivered)} items delivered, ${fmtInt(result.rejected)} rejected\n`,
    );

    // What the server stored, against what was tracked.
    const rows = await server.db.query(
      `select m.metric, sum(m.count)::float8 as count, sum(m.sum)::float8 as sum
         from metric_minutes m join environments e on e.id = m.environment_id join projects p on p.id = e.project_id
        where p.key = $1 and e.key = $2 group by m.metric order by m.metric`,
      [PROJECT, ENVIRONMENT],
    );
    const stored = new Map(rows.map((r) => [r.metric, r]));
    const compare = [['exposures', result.exposures, result.exposures, stored.get('$exposures')?.count ?? 0, stored.get('$exposures')?.sum ?? 0]];
    for (const m of METRICS) compare.push([m, result.tracked[m].count, result.tracked[m].sum, stored.get(m)?.count ?? 0, stored.get(m)?.sum ?? 0]);
    for (const m of ['$dropped-exposures', '$dropped-metrics']) compare.push([`${m.slice(1)} (reported)`, 0, 0, stored.get(m)?.count ?? 0, stored.get(m)?.sum ?? 0]);
    console.log('Totals: tracked by the SDK process, stored by the server:\n');
    console.log(table(['series', 'tracked count', 'tracked sum', 'stored count', 'stored sum', 'equal'], compare.map(([name, tc, ts, sc, ss]) => [name, fmtInt(tc), fmtInt(ts), fmtInt(sc), fmtInt(ss), tc === sc && ts === ss ? 'yes' : 'NO'])));
    const equal = compare.every(([, tc, ts, sc, ss]) => tc === sc && ts === ss);
    const lost = result.droppedExposures + result.droppedMetrics;
    console.log(`\n${equal && lost === 0 ? 'nothing lost: every stored total equals what was tracked' : `LOST: ${fmtInt(lost)} dropped in the SDK; stored totals ${equal ? 'equal' : 'differ from'} what was tracked`}; load average ${load()}`);
    if (!equal || lost > 0) process.exitCode = 1;
  } finally {
    child?.kill();
    await close();
  }
}

await main();
