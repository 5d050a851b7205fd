import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../server-process.test-helpers.js';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from './data-dir-lock.js';

const dirs: string[] = [];
const running: ServerProcess[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) await p.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** Runs `rollgate start` to its end; resolves with its exit code and output. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const bin = new URL('../../../cli/dist/bin.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'start', '--port', '0'], { env: { ...process.env, ROLLGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the data directory lock', () => {
  it('refuses a second holder, in this process too, naming the owner; released, it can be taken again', async () => {
    const dir = await tempDir();
    const release = await lockDataDir(dir);
    const owner = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, startedAt: expect.any(String), hostname: expect.any(String) });
    const second = lockDataDir(dir);
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(`in use by process ${process.pid}`);
    await release();
    await expect(readFile(join(dir, LOCK_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    await (await lockDataDir(dir))();
  });

  it('takes over a lock whose process is gone, or that is not readable', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), hostname: hostname(), startedAt: '2026-01-01T00:00:00Z' }));
    const release = await lockDataDir(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await release();
    await writeFile(join(dir, LOCK_FILE), '{"pid":');
    await (await lockDataDir(dir))();
  });

  it('refuses a lock held on another host, which it cannot check', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 4242, hostname: 'other-host.example', startedAt: '2026-01-01T00:00:00Z' }));
    await expect(lockDataDir(dir)).rejects.toThrow('process 4242 on other-host.example');
  });

  it('lets one of two real servers start on one data directory (the embedded database takes the lock), and the other says which process holds it', async () => {
    const dir = await tempDir();
    const first = await startServerProcess({ ROLLGATE_DATA_DIR: dir });
    running.push(first);
    const second = await runToExit({ ROLLGATE_DATA_DIR: dir });
    expect(second.code).toBe(1);
    expect(second.output).toContain(`in use by process ${first.child.pid}`);
    // The first one kept serving, and after a crash (no cleanup) the directory is usable again.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    await first.kill();
    const third = await startServerProcess({ ROLLGATE_DATA_DIR: dir });
    running.push(third);
    expect((await fetch(`${third.url}/healthz`)).status).toBe(200);
    expect(await third.stop()).toBe(0);
    await expect(readFile(join(dir, LOCK_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 90_000);
});
