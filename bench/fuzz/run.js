#!/usr/bin/env node
/**
 * The API fuzzer at length: requests generated from /openapi.json with
 * hostile values (the generator of packages/server/src/http/api-fuzz.test.ts),
 * every operation but the streams, as ten kinds of caller, against an app on
 * the embedded database (or PostgreSQL when ROLLGATE_TEST_DATABASE_URL is
 * set). Counts every answer by operation and status, and every failure: a 5xx,
 * or a refused request that changed a table. Exits 1 on any failure.
 *
 *   npm run bench:fuzz                                  (builds, then 100,000 requests)
 *   node bench/fuzz/run.js --requests 5000 --seed 7     (after a build)
 *
 * The generator is TypeScript test support; it is bundled here with esbuild,
 * with every module it imports from the packages taken from their dist/.
 */
import { mkdir, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Under node_modules: packages resolve from there, and lint and git leave it alone.
const OUT = join(ROOT, 'node_modules/.cache/rollgate-bench-fuzz');

function parseArgs(argv) {
  const opts = { requests: 100_000, seed: Number(process.env.FAST_CHECK_SEED || 20261121), backend: process.env.ROLLGATE_TEST_DATABASE_URL ? 'postgres' : 'pglite' };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (name === '--requests' && Number.isInteger(n) && n > 0) opts.requests = n;
    else if (name === '--seed' && Number.isSafeInteger(n)) opts.seed = n;
    else throw new Error(`unknown option ${name} ${value ?? ''} (use --requests N, --seed N)`);
  }
  return opts;
}

/** Bundles the test-support modules only; every other module of packages/*\/src is imported from its dist/. */
async function bundleFuzzer() {
  await mkdir(OUT, { recursive: true });
  const outfile = join(OUT, 'api-fuzz.mjs');
  await build({
    entryPoints: [join(ROOT, 'packages/server/src/http/api-fuzz.test-helpers.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    packages: 'external',
    logLevel: 'warning',
    plugins: [
      {
        name: 'packages-from-dist',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const path = resolvePath(args.resolveDir, args.path).replace(/\.js$/, '.ts');
            if (path.endsWith('.test-helpers.ts')) return { path };
            const match = /^(.*\/packages\/[a-z]+)\/src\/(.*)\.ts$/.exec(path);
            if (match === null) return undefined;
            const dist = `${match[1]}/dist/${match[2]}.js`;
            return { path: `./${relative(dirname(outfile), dist)}`, external: true };
          });
        },
      },
    ],
  });
  return import(pathToFileURL(outfile).href);
}

const opts = parseArgs(process.argv.slice(2));
const { createFuzzTarget, fuzz } = await bundleFuzzer();
const target = await createFuzzTarget(opts.backend);
const load = loadavg()[0];
const started = performance.now();
let report;
try {
  report = await fuzz(target, { numRuns: opts.requests, seed: opts.seed, stopOnFailure: false });
} finally {
  await target.t.close();
  await rm(OUT, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;

const COLUMNS = ['2xx', '400', '401', '403', '404', '409', '413', '415', '429', 'other 4xx', '5xx'];
const column = (status) => (status < 300 ? '2xx' : status >= 500 ? '5xx' : COLUMNS.includes(String(status)) ? String(status) : 'other 4xx');
const totals = Object.fromEntries(COLUMNS.map((c) => [c, 0]));
const rows = [...report.statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, byStatus]) => {
  const cells = Object.fromEntries(COLUMNS.map((c) => [c, 0]));
  for (const [status, n] of byStatus) {
    cells[column(status)] += n;
    totals[column(status)] += n;
  }
  return [op, cells];
});
const width = Math.max(...rows.map(([op]) => op.length), 'operation'.length);
const line = (name, cells) => `| ${name.padEnd(width)} | ${COLUMNS.map((c) => String(cells[c]).padStart(Math.max(c.length, 6))).join(' | ')} |`;
console.log(`API fuzz: ${report.requests} requests, seed ${opts.seed}, ${opts.backend}, ${target.ops.length} operations (streams left out), ${Object.keys(target.tokens).length} callers`);
console.log(`${new Date().toISOString()}; ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average ${load.toFixed(2)} at start; ${seconds.toFixed(0)} s, ${(report.requests / seconds).toFixed(0)} requests/s`);
console.log('');
console.log(`| ${'operation'.padEnd(width)} | ${COLUMNS.map((c) => c.padStart(Math.max(c.length, 6))).join(' | ')} |`);
console.log(`|${'-'.repeat(width + 2)}|${COLUMNS.map((c) => `${'-'.repeat(Math.max(c.length, 6) + 1)}:`).join('|')}|`);
for (const [op, cells] of rows) console.log(line(op, cells));
console.log(line('all', totals));
console.log('');
console.log(`failures (5xx, or a refused request that changed a table): ${report.failures.length}`);
for (const f of report.failures.slice(0, 20)) console.log(`  ${f.status} ${f.changed.length > 0 ? `changed ${f.changed.join(', ')} ` : ''}${f.request}\n    ${f.body}`);
process.exitCode = report.failures.length === 0 ? 0 : 1;
