// Bundle size of the browser entry points of @rollgate/sdk: each entry bundled
// from source with esbuild as an application bundler would (minified, ESM,
// browser platform, peer dependencies left out), then gzipped (level 9).
// Usage: npm run size:browser [-- --json]
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The entries measured; the core browser entry's target is 8 KB gzipped (8,192 bytes). */
export const ENTRIES = [
  { name: '@rollgate/sdk/browser', file: 'packages/sdk/src/browser.ts', budget: 8192 },
  { name: '@rollgate/sdk/react', file: 'packages/sdk/src/react.ts' },
  { name: '@rollgate/sdk/openfeature-web', file: 'packages/sdk/src/openfeature-web.ts' },
];

/** Bundles one entry; returns the code, its raw and gzipped sizes, the bundled inputs and the imports left to the page. */
export async function measure(file) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [file],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    conditions: ['@rollgate/source'],
    external: ['react', '@openfeature/web-sdk', '@openfeature/core'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const meta = Object.values(result.metafile.outputs)[0];
  return {
    raw: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
    imports: (meta?.imports ?? []).map((i) => i.path),
    code: Buffer.from(code).toString('utf8'),
  };
}

async function main() {
  const rows = [];
  for (const entry of ENTRIES) rows.push({ ...entry, ...(await measure(entry.file)) });
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows.map(({ name, raw, gzip, inputs }) => ({ name, raw, gzip, inputs })), null, 2));
    return;
  }
  const kb = (n) => (n / 1024).toFixed(2);
  console.log(`esbuild ${esbuildVersion}, minified ESM for browsers (es2020), gzip level 9; react and @openfeature/* are peer dependencies, not counted.\n`);
  console.log('| entry | raw bytes | gzipped bytes | gzipped KB | target |');
  console.log('|:--|--:|--:|--:|:--|');
  for (const r of rows) {
    const target = r.budget === undefined ? '' : `<= ${kb(r.budget)} KB: ${r.gzip <= r.budget ? 'met' : 'NOT met'}`;
    console.log(`| ${r.name} | ${r.raw.toLocaleString('en-US')} | ${r.gzip.toLocaleString('en-US')} | ${kb(r.gzip)} | ${target} |`);
  }
  console.log('\nInputs of @rollgate/sdk/browser:');
  for (const input of rows[0].inputs) console.log(`  ${input}`);
  if (rows.some((r) => r.budget !== undefined && r.gzip > r.budget)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
