// Proves that @rollgate/cli installs on its own: packs it (npm pack runs its
// prepack bundle), installs the tarball globally into a temporary prefix
// (dependencies from the npm registry), and runs the installed `rollgate`:
// --help, validate, and start + /healthz + SIGTERM. With --fresh-clone it
// also clones the repository's HEAD, runs `npm ci` and `npx rollgate --help`
// there, as a new user would. Prints one line per check; exits 1 on a failure.
//
//   node scripts/check-cli-package.js [--fresh-clone]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rollgate-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let failed = false;

function check(name, fn) {
  const started = Date.now();
  try {
    const detail = fn();
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    failed = true;
    console.log(`FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

async function startAndStop(bin) {
  const child = spawn(bin, ['start', '--port', '0', '--data-dir', join(work, 'data')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROLLGATE_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  let url;
  while (url === undefined) {
    url = /Rollgate is running at (\S+)/.exec(out)?.[1];
    if (Date.now() > deadline) throw new Error(`did not start in 120 s:\n${out}`);
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const health = await (await fetch(`${url}/healthz`)).json();
  child.kill('SIGTERM');
  const code = await exited;
  if (health.status !== 'ok' || code !== 0) throw new Error(`healthz ${JSON.stringify(health)}, exit code ${code}:\n${out}`);
  return `${url}/healthz ok, stopped with exit code 0`;
}

let tarball;
check('npm pack -w @rollgate/cli', () => {
  run(npm, ['pack', '-w', '@rollgate/cli', '--pack-destination', work], { cwd: root });
  tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error('no tarball');
  const files = run('tar', ['tzf', join(work, tarball)]).trim().split('\n');
  for (const needed of ['package/bin/rollgate.js', 'package/dist/bundle/rollgate.js', 'package/migrations/0001_initial.sql']) if (!files.includes(needed)) throw new Error(`${needed} missing from ${tarball}`);
  return `${tarball}, ${files.length} files`;
});
const prefix = join(work, 'prefix');
const bin = join(prefix, 'bin', 'rollgate');
check('npm install -g <tarball>', () => {
  run(npm, ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(work, tarball)], { cwd: work });
});
check('rollgate --help', () => {
  const help = run(bin, ['--help']);
  if (!help.includes('Commands:') || !help.includes('rollout')) throw new Error(help);
});
check('rollgate validate', () => {
  const file = join(work, 'snapshot.json');
  writeFileSync(file, JSON.stringify({ flags: [{ key: 'f', type: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: false }], enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } }] }));
  return run(bin, ['validate', file]).trim();
});
try {
  console.log(`ok    rollgate start: ${await startAndStop(bin)}`);
} catch (error) {
  failed = true;
  console.log(`FAIL  rollgate start: ${error.message}`);
}

if (process.argv.includes('--fresh-clone')) {
  const clone = join(work, 'clone');
  check('git clone + npm ci', () => {
    run('git', ['clone', '--quiet', root, clone]);
    run(npm, ['ci', '--no-audit', '--no-fund'], { cwd: clone });
  });
  check('npx rollgate --help in the fresh clone', () => {
    const help = run('npx', ['rollgate', '--help'], { cwd: clone });
    if (!help.includes('Commands:')) throw new Error(help);
  });
}

rmSync(work, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
