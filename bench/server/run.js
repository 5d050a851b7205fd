// Server benchmark: the client API of a real Rollgate server (PGlite in a temporary data
// directory, loopback only). See bench/README.md.
//
//   npm run bench:server                    (builds, then runs this)
//   node bench/server/run.js [--duration 10] [--connections 100] [--clients 1000] [--changes 5] [--flags 20]
//
// (a) GET /api/client/snapshot under autocannon, without and with If-None-Match.
// (b) Propagation: SSE clients on GET /api/client/stream, one flag change through the
//     management API, time until every client has the change event.
//
// This process runs the server and orchestrates. The load generators run in child
// processes (this script again, `--worker autocannon` / `--worker sse`), so they do not
// share the server's event loop.
import { Buffer } from 'node:buffer';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { api, percentile, startWorker as startScriptWorker, table } from '../lib/harness.js';

const startWorker = (kind) => startScriptWorker(fileURLToPath(import.meta.url), kind);

const TARGETS = { notModifiedPerSecond: 20_000, propagationP99Ms: 100 };
const DEFAULTS = { duration: 10, connections: 100, clients: 1_000, changes: 5, flags: 20, logLevel: 'warn' };
const PROJECT = 'bench';
const ENVIRONMENT = 'production';

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    const number = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive whole number`);
      i++;
      return n;
    };
    if (name === '--duration') opts.duration = number();
    else if (name === '--connections') opts.connections = number();
    else if (name === '--clients') opts.clients = number();
    else if (name === '--changes') opts.changes = number();
    else if (name === '--flags') opts.flags = number();
    else if (name === '--log-level') {
      opts.logLevel = value;
      i++;
    } else if (name === '--worker') {
      opts.worker = value;
      i++;
    } else throw new Error(`unknown option ${name}`);
  }
  return opts;
}

/** Milliseconds on a clock shared by the processes of this machine (epoch-based, sub-millisecond). */
const wallNow = () => performance.timeOrigin + performance.now();

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a');

// ---------------------------------------------------------------------------------------------
// Worker: autocannon
// ---------------------------------------------------------------------------------------------

async function autocannonWorker() {
  const { default: autocannon } = await import('autocannon');
  process.once('message', (job) => {
    const instance = autocannon(
      { url: job.url, connections: job.connections, duration: job.duration, headers: job.headers, pipelining: 1 },
      (error, result) => {
        if (error) {
          process.send({ error: String(error) });
        } else {
          process.send({
            requestsPerSecond: result.requests.average,
            total: result.requests.total,
            p50: result.latency.p50,
            p99: result.latency.p99,
            max: result.latency.max,
            statusCodes: result.statusCodeStats,
            errors: result.errors,
            timeouts: result.timeouts,
            bytesPerSecond: result.throughput.average,
          });
        }
        process.disconnect();
      },
    );
    instance.on('error', (error) => process.send({ error: String(error) }));
  });
  process.send({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// Worker: SSE clients
// ---------------------------------------------------------------------------------------------

async function sseWorker() {
  const job = await new Promise((resolve) => process.once('message', resolve));
  const clients = [];
  let snapshots = 0;
  let failures = 0;
  /** Per change number: arrival times (wall clock) of its event, one per client. */
  const arrivals = new Map();
  let watching;

  const connect = (index) =>
    new Promise((resolve) => {
      const client = { index, buffer: '', changes: 0 };
      const req = httpRequest(`${job.url}/api/client/stream`, { headers: { authorization: `Bearer ${job.token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          failures++;
          res.resume();
          resolve();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          const at = wallNow();
          client.buffer += chunk;
          let cut;
          while ((cut = client.buffer.indexOf('\n\n')) !== -1) {
            const block = client.buffer.slice(0, cut);
            client.buffer = client.buffer.slice(cut + 2);
            if (block.startsWith('event: snapshot')) {
              snapshots++;
              resolve();
            } else if (block.startsWith('event: change')) {
              client.changes++;
              const list = arrivals.get(client.changes) ?? [];
              list.push(at);
              arrivals.set(client.changes, list);
              if (watching !== undefined && client.changes === watching.change && list.length === clients.length) watching.done();
            }
          }
        });
      });
      req.on('error', () => {
        failures++;
        resolve();
      });
      req.end();
      client.req = req;
      clients.push(client);
    });

  // Connect in batches, so the listen backlog is never the bottleneck.
  for (let i = 0; i < job.clients; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, job.clients - i) }, (_, j) => connect(i + j)));
  }
  process.send({ ready: true, connected: snapshots, failures });

  process.on('message', (message) => {
    if (message.ping !== undefined) {
      process.send({ pong: message.ping, at: wallNow() });
    } else if (message.watch !== undefined) {
      const change = message.watch;
      const timer = setTimeout(() => report(true), 10_000);
      const report = (timedOut) => {
        clearTimeout(timer);
        watching = undefined;
        process.send({ change, arrivals: arrivals.get(change) ?? [], timedOut });
      };
      watching = { change, done: () => report(false) };
      process.send({ watching: change });
      if ((arrivals.get(change) ?? []).length === clients.length) report(false);
    } else if (message.stop) {
      for (const c of clients) c.req.destroy();
      process.disconnect();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: server, setup, runs, tables
// ---------------------------------------------------------------------------------------------

function flagConfig(percentage) {
  return {
    enabled: true,
    offVariation: 'off',
    targets: [{ variation: 'on', values: ['qa-1', 'qa-2'] }],
    rules: [
      { id: 'internal', segments: ['internal'], serve: { variation: 'on' } },
      { id: 'north-america', conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], serve: { rollout: { percentage: 25, variation: 'on' } } },
    ],
    fallthrough: { rollout: { percentage, variation: 'on' } },
  };
}

/** Project, environment, segment, flags and a server token, all through the HTTP API. */
async function setUp(base, adminToken, flagCount) {
  await api(base, adminToken, 'POST', '/api/projects', { key: PROJECT, name: 'Benchmark' });
  await api(base, adminToken, 'POST', `/api/projects/${PROJECT}/environments`, { key: ENVIRONMENT, name: 'Production' });
  await api(base, adminToken, 'POST', `/api/projects/${PROJECT}/segments`, {
    key: 'internal',
    name: 'Internal users',
    definition: { rules: [{ conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }] },
  });
  const versions = new Map();
  for (let i = 0; i < flagCount; i++) {
    const key = `bench-flag-${i}`;
    await api(base, adminToken, 'POST', `/api/projects/${PROJECT}/flags`, { key, name: `Benchmark flag ${i}` });
    const current = await api(base, adminToken, 'GET', `/api/projects/${PROJECT}/flags/${key}/environments/${ENVIRONMENT}`);
    const put = await api(base, adminToken, 'PUT', `/api/projects/${PROJECT}/flags/${key}/environments/${ENVIRONMENT}`, { version: current.body.version, config: flagConfig(10) });
    versions.set(key, put.body.version);
  }
  const created = await api(base, adminToken, 'POST', '/api/tokens', { kind: 'server', name: 'benchmark', projectKey: PROJECT, environmentKey: ENVIRONMENT });
  return { serverToken: created.body.secret, versions };
}

async function runAutocannon(job) {
  const worker = startWorker('autocannon');
  const ready = await worker.next();
  if (!ready.ready) throw new Error('autocannon worker failed to start');
  worker.child.send(job);
  const result = await worker.next(job.duration * 1_000 + 60_000);
  await worker.exited;
  if (result.error) throw new Error(`autocannon: ${result.error}`);
  return result;
}

/** Estimates how far the SSE worker's clock is from this one's, from IPC round trips. */
async function clockOffset(worker) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const sent = wallNow();
    worker.child.send({ ping: i });
    const pong = await worker.next();
    const back = wallNow();
    const rtt = back - sent;
    if (rtt < best.rtt) best = { rtt, offset: pong.at - (sent + rtt / 2) };
  }
  return best;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker === 'autocannon') return autocannonWorker();
  if (opts.worker === 'sse') return sseWorker();
  if (opts.worker !== undefined) throw new Error(`unknown worker ${opts.worker}`);

  let serverModule;
  try {
    serverModule = await import('@rollgate/server');
  } catch (error) {
    throw new Error(`cannot load @rollgate/server (run npm run build first): ${String(error)}`, { cause: error });
  }
  const { startServer, loadConfig } = serverModule;
  const dataDir = await mkdtemp(join(tmpdir(), 'rollgate-bench-server-'));
  // Only these variables: no DATABASE_URL (PGlite), loopback, a free port.
  const config = loadConfig({
    ROLLGATE_DATA_DIR: dataDir,
    ROLLGATE_PORT: '0',
    ROLLGATE_HOST: '127.0.0.1',
    ROLLGATE_LOG_LEVEL: opts.logLevel,
  });
  const server = await startServer(config);
  const cpu = cpus();
  try {
    const base = server.url;
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error(`the server must listen on loopback only, not ${base}`);
    if (server.adminToken === undefined) throw new Error('no admin token: the data directory was not fresh');
    const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
    console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${process.platform}/${process.arch}; load average ${load()}`);
    console.log(`server: @rollgate/server (dist), PGlite in ${dataDir}, ${base}, log level ${opts.logLevel}, ${opts.flags} flags + 1 segment`);

    const { serverToken, versions } = await setUp(base, server.adminToken, opts.flags);
    const first = await api(base, serverToken, 'GET', '/api/client/snapshot');
    const etag = first.headers.get('etag');
    const size = Buffer.byteLength(JSON.stringify(first.body));
    console.log(`snapshot: version ${first.body.version}, ${fmtInt(size)} bytes, ETag ${etag}\n`);

    // (a) Snapshot endpoint throughput.
    const runs = [];
    for (const [name, headers, expected] of [
      ['200 (full body)', { authorization: `Bearer ${serverToken}` }, '200'],
      ['304 (If-None-Match)', { authorization: `Bearer ${serverToken}`, 'if-none-match': etag }, '304'],
    ]) {
      const r = await runAutocannon({ url: `${base}/api/client/snapshot`, connections: opts.connections, duration: opts.duration, headers });
      const codes = Object.entries(r.statusCodes ?? {}).map(([code, s]) => `${code}: ${fmtInt(s.count)}`).join(', ');
      const unexpected = Object.entries(r.statusCodes ?? {}).filter(([code]) => code !== expected).reduce((n, [, s]) => n + s.count, 0);
      runs.push({ name, ...r, codes, unexpected });
    }
    console.log(`(a) GET /api/client/snapshot, autocannon ${opts.connections} connections, ${opts.duration} s each, in a child process`);
    console.log(
      table(
        ['response', 'requests/s', 'p50 ms', 'p99 ms', 'max ms', 'status codes', 'errors'],
        runs.map((r) => [r.name, fmtInt(r.requestsPerSecond), fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), r.codes, fmtInt(r.errors + r.timeouts + r.unexpected)]),
        ['l', 'r', 'r', 'r', 'r', 'l', 'r'],
      ),
    );
    console.log();

    // (b) Propagation to SSE clients.
    const sse = startWorker('sse');
    sse.child.send({ url: base, token: serverToken, clients: opts.clients });
    const ready = await sse.next(120_000);
    if (ready.connected !== opts.clients) throw new Error(`only ${ready.connected} of ${opts.clients} SSE clients got their snapshot (${ready.failures} failed)`);
    const offset = await clockOffset(sse);
    const rows = [];
    const all = [];
    let missing = 0;
    for (let change = 1; change <= opts.changes; change++) {
      await new Promise((r) => setTimeout(r, 500));
      sse.child.send({ watch: change });
      await sse.next();
      const key = 'bench-flag-0';
      const started = wallNow();
      const put = await api(base, server.adminToken, 'PUT', `/api/projects/${PROJECT}/flags/${key}/environments/${ENVIRONMENT}`, {
        version: versions.get(key),
        config: flagConfig(10 + change),
      });
      const answered = wallNow();
      versions.set(key, put.body.version);
      const result = await sse.next(30_000);
      const delays = result.arrivals.map((at) => at - offset.offset - started).sort((a, b) => a - b);
      missing += opts.clients - delays.length;
      all.push(...delays);
      const afterAnswer = delays.map((d) => d - (answered - started));
      rows.push([
        String(change),
        fmtMs(answered - started),
        fmtInt(delays.length),
        fmtMs(percentile(delays, 50)),
        fmtMs(percentile(delays, 99)),
        fmtMs(delays.at(-1) ?? NaN),
        fmtMs(afterAnswer.at(-1) ?? NaN),
      ]);
    }
    sse.child.send({ stop: true });
    await sse.exited;
    all.sort((a, b) => a - b);
    rows.push(['all', '', fmtInt(all.length), fmtMs(percentile(all, 50)), fmtMs(percentile(all, 99)), fmtMs(all.at(-1) ?? NaN), '']);
    console.log(
      `(b) propagation: ${fmtInt(opts.clients)} SSE clients (one child process), one flag change per row through PUT /api/projects/${PROJECT}/flags/:key/environments/${ENVIRONMENT};` +
        ` ms from sending the PUT until each client has the change event (IPC clock offset ${fmtMs(offset.offset)} ms, round trip ${fmtMs(offset.rtt)} ms, corrected)`,
    );
    console.log(table(['change', 'PUT round trip ms', 'clients', 'p50 ms', 'p99 ms', 'max ms', 'max after PUT answer ms'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
    console.log();

    console.log(`load average at the end: ${load()} (other processes on the machine compete for the same cores)`);
    const notModified = runs[1].requestsPerSecond;
    const p99 = percentile(all, 99);
    console.log(
      `targets: 304 path >= ${fmtInt(TARGETS.notModifiedPerSecond)} requests/s: ${notModified >= TARGETS.notModifiedPerSecond ? 'met' : 'NOT met'} (${fmtInt(notModified)}); ` +
        `propagation p99 < ${TARGETS.propagationP99Ms} ms: ${p99 < TARGETS.propagationP99Ms && missing === 0 ? 'met' : 'NOT met'} (${fmtMs(p99)} ms${missing > 0 ? `, ${missing} events missing` : ''})`,
    );
    const failed = runs.some((r) => r.errors + r.timeouts + r.unexpected > 0) || missing > 0;
    if (failed) {
      console.log('sanity check failed: errors, unexpected status codes or missing events (see above)');
      process.exitCode = 1;
    }
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
