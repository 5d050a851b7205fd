// Dashboard benchmark, in Debian's Chromium against the real server (PGlite in memory,
// loopback). See bench/README.md.
//
//   npm run bench:web          (builds, then runs this)
//   node bench/web/run.js [--rollouts 500] [--metrics 10] [--days 14] [--runs 3]
//
// (a) Gzipped JavaScript the first page loads (index.html's module script and its preloads).
// (b) Time to interactive of the overview with N rollouts: from navigation until every
//     row is in the table and the sort buttons respond.
// (c) Time to interactive of a rollout page whose stage reads M metrics with D days of
//     minute data each: until every metric tile and its chart are drawn. The minute
//     data come from an observation source plugged into the controller (the same
//     interface the stored metrics and Prometheus sources implement), so the server
//     does the guard's work on all of it for every request.
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { buildApp, defaultConfig } = await import(`${root}packages/server/dist/index.js`);
const { openPglite } = await import(`${root}packages/server/dist/db/pglite.js`);
const { migrate } = await import(`${root}packages/server/dist/db/migrate.js`);
const { bootstrap } = await import(`${root}packages/server/dist/bootstrap.js`);
const { rolloutFeatureOf } = await import(`${root}packages/server/dist/features/rollouts/rollout-feature.js`);

const TARGETS = { firstPageGzipKb: 250, overviewMs: 1500, rolloutMs: 2000 };
const opts = { rollouts: 500, metrics: 10, days: 14, runs: 3 };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i]?.replace(/^--/, '');
  if (!(name in opts)) throw new Error(`unknown option --${name}`);
  opts[name] = Number(process.argv[i + 1]);
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 20);
const clock = () => new Date(NOW);
const METRICS = ['error-rate', 'response-time-avg', 'response-time-p95', 'cache-hit-rate', 'db-query-time', 'uptime', 'cpu-usage', 'memory-usage', 'adoption', 'forecast-accuracy'].slice(0, opts.metrics);

async function request(app, token, method, url, body) {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

// (a) First-page JavaScript.
const dist = `${root}packages/web/dist/`;
const html = await readFile(`${dist}index.html`, 'utf8');
const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let gzipBytes = 0;
let rawBytes = 0;
for (const s of scripts) {
  const body = await readFile(`${dist}${s.slice(1)}`);
  rawBytes += body.length;
  gzipBytes += gzipSync(body, { level: 9 }).length;
}

// The server, with a plan whose first stage reads every metric for `days` days.
const db = await openPglite(undefined);
await migrate(db);
const token = `rg_admin_bench_${'x'.repeat(24)}`;
await bootstrap(db, token);
const app = await buildApp({ config: defaultConfig({ rolloutTickMs: 0, logLevel: 'warn' }), db, clock });
const feature = rolloutFeatureOf(app);
const series = new Map();
feature.setObservationSource(async (rollout, _plan, stage, now) => {
  const metrics = {};
  if (!rollout.flagKey.startsWith('heavy')) return { metrics };
  for (const key of METRICS) {
    let s = series.get(key);
    if (s === undefined) {
      s = [];
      for (let t = rollout.state.stageStartedAt; t < now; t += MINUTE) {
        const v = 1 + 0.1 * Math.sin(t / 3_600_000);
        s.push({ start: t, end: t + MINUTE, treatment: { value: v * 1.02, samples: 40, variance: 0.04 }, control: { value: v, samples: 360, variance: 0.04 } });
      }
      series.set(key, s);
    }
    const total = (c) => ({ value: s.reduce((a, i) => a + i[c].value * i[c].samples, 0) / s.reduce((a, i) => a + i[c].samples, 0), samples: s.reduce((a, i) => a + i[c].samples, 0), variance: 0.04 });
    metrics[key] = { treatment: total('treatment'), control: total('control'), series: s };
  }
  return { metrics };
});
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${app.server.address().port}`;
const gates = METRICS.map((m, i) => ({ id: `g${i}`, metric: m, role: 'rollback', condition: { type: 'relative', op: '>', value: 25 } }));
await request(app, token, 'POST', '/api/projects/default/plans', {
  key: 'bench',
  name: 'Bench plan',
  definition: { stages: [{ id: 's1', name: '10%', audience: { percentage: 10 }, minDuration: 30 * DAY, gates }, { id: 's2', name: 'All', audience: { percentage: 100 }, minDuration: DAY }] },
});
const startAt = NOW - opts.days * DAY;
const seeding = performance.now();
// Rollouts start on the clock's "now": the heavy one is moved back `days` days in its stored state.
for (let i = 0; i < opts.rollouts; i++) {
  const key = i === 0 ? 'heavy-checkout' : `flag-${String(i).padStart(4, '0')}`;
  await request(app, token, 'POST', '/api/projects/default/flags', { key, name: key });
  await request(app, token, 'POST', '/api/projects/default/rollouts', { flagKey: key, environmentKey: i % 2 === 0 ? 'production' : 'staging', planKey: 'bench' });
}
await db.query(`update rollouts set state = jsonb_set(jsonb_set(state, '{stageStartedAt}', $1::jsonb), '{startedAt}', $1::jsonb) where id = (select r.id from rollouts r join flags f on f.id = r.flag_id where f.key = 'heavy-checkout')`, [String(startAt)]);
const [heavy] = await db.query("select r.id from rollouts r join flags f on f.id = r.flag_id where f.key = 'heavy-checkout'");
const seededMs = performance.now() - seeding;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const signIn = await context.request.post(`${base}/api/session`, { data: { token } });
if (!signIn.ok()) throw new Error(`sign-in failed: ${signIn.status()}`);

async function time(url, ready) {
  const results = [];
  for (let run = 0; run < opts.runs; run++) {
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(url);
    await ready(page);
    results.push(performance.now() - t0);
    await page.close();
  }
  results.sort((a, b) => a - b);
  return { median: results[Math.floor(results.length / 2)], all: results };
}

const overview = await time(`${base}/`, async (page) => {
  await page.locator('tbody tr').nth(opts.rollouts - 1).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: /Flag/ }).click();
  await page.locator('th[aria-sort]').filter({ hasText: 'Flag' }).waitFor();
});
const rollout = await time(`${base}/rollouts/default/${heavy.id}`, async (page) => {
  await page.locator('.tile').nth(opts.metrics - 1).waitFor({ timeout: 60_000 });
  await page.locator('.tile canvas').nth(opts.metrics - 1).waitFor({ timeout: 60_000 });
});
await browser.close();
await app.close();
await db.close();

const pass = (ok) => (ok ? 'yes' : 'NO');
const rows = [
  ['first-page JS (gzip)', `${(gzipBytes / 1024).toFixed(1)} KB (${(rawBytes / 1024).toFixed(0)} KB raw, ${scripts.length} files)`, `<= ${TARGETS.firstPageGzipKb} KB`, pass(gzipBytes / 1024 <= TARGETS.firstPageGzipKb)],
  [`overview, ${opts.rollouts} rollouts: interactive`, `${overview.median.toFixed(0)} ms (runs: ${overview.all.map((x) => x.toFixed(0)).join(', ')})`, `<= ${TARGETS.overviewMs} ms`, pass(overview.median <= TARGETS.overviewMs)],
  [`rollout page, ${opts.metrics} metrics x ${opts.days} d of minutes: interactive`, `${rollout.median.toFixed(0)} ms (runs: ${rollout.all.map((x) => x.toFixed(0)).join(', ')})`, `<= ${TARGETS.rolloutMs} ms`, pass(rollout.median <= TARGETS.rolloutMs)],
];
console.log(`bench/web, ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; seeding ${opts.rollouts} rollouts took ${(seededMs / 1000).toFixed(1)} s`);
console.log('| measure | result | target | met |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
