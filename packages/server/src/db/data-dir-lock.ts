/**
 * One process per embedded data directory. PGlite keeps the database in the
 * memory of the process that opened it and writes it back on its own
 * schedule, so a second process on the same directory would overwrite the
 * first one's acknowledged writes. A lock file in the directory names its
 * owner (pid, host, start time); a second start refuses while that owner
 * lives, and takes over a lock left by a process that is gone (kill -9, a
 * power cut).
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file's name inside the data directory. */
export const LOCK_FILE = 'rollgate.lock';

/** What the lock file holds. */
export interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** The data directory is in use by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `the data directory ${dataDir} is in use by process ${owner.pid} on ${owner.hostname} (started ${owner.startedAt}). ` +
        `Stop that process first, or give this one another directory (ROLLGATE_DATA_DIR or --data-dir). ` +
        `If no such process runs any more, delete ${join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** The lock files this process holds, by path. */
const heldHere = new Map<string, LockOwner>();

/** Whether process `pid` exists on this host (EPERM: it exists, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 0 && typeof value.hostname === 'string' && typeof value.startedAt === 'string') {
      return value as LockOwner;
    }
  } catch {
    // missing, half written or not JSON: nobody holds it
  }
  return undefined;
}

/** Whether `owner` may still be using the directory: a live process on this host, or any process on another host (which cannot be checked). */
function holds(owner: LockOwner | undefined, self: LockOwner): owner is LockOwner {
  if (owner === undefined) return false;
  if (owner.hostname !== self.hostname) return true;
  return owner.pid !== self.pid && alive(owner.pid);
}

/**
 * Takes the lock of `dataDir` (which must exist) for this process; resolves
 * to the function that releases it. Throws DataDirLockedError while another
 * live process holds it.
 *
 * @example
 * const release = await lockDataDir('./.rollgate/data');
 * // ... open PGlite, serve ...
 * await release();
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  const self: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  // This process's own lock file is not stale: a second open here is refused too.
  const held = heldHere.get(path);
  if (held !== undefined) throw new DataDirLockedError(dataDir, held);
  // Two attempts: the second after removing a stale lock. Creating with 'wx'
  // is atomic, so of two processes taking over the same stale lock one wins.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(`${JSON.stringify(self)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      heldHere.set(path, self);
      return async () => {
        if (heldHere.get(path) !== self) return;
        heldHere.delete(path);
        const owner = await readOwner(path);
        if (owner?.pid === self.pid && owner.hostname === self.hostname) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    if (holds(owner, self)) throw new DataDirLockedError(dataDir, owner);
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const owner = await readOwner(path);
  throw new DataDirLockedError(dataDir, owner ?? { pid: 0, hostname: 'unknown', startedAt: 'unknown' });
}
