import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.js';
import type { Database, Sql } from './database.js';

export interface PgliteOptions {
  /** PostgreSQL's shared_buffers (e.g. `32MB`); default PGlite's own (128MB). */
  sharedBuffers?: string;
}

/**
 * The embedded database: PostgreSQL compiled to WASM, in one data directory.
 * Single process: PGlite runs one query at a time, and a transaction holds it
 * until it ends, so transactions here are serial by construction. A data
 * directory is locked for its process (`DataDirLockedError` for a second one)
 * until the database is closed.
 *
 * @example
 * const db = await openPglite('./.rollgate/data', { sharedBuffers: '32MB' });
 */
export async function openPglite(dataDir: string | undefined, options: PgliteOptions = {}): Promise<Database> {
  let release = async (): Promise<void> => undefined;
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    release = await lockDataDir(dataDir);
  }
  const startParams = options.sharedBuffers === undefined ? undefined : [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.sharedBuffers}`];
  let pg: PGlite;
  try {
    pg = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), ...(startParams === undefined ? {} : { startParams }) });
  } catch (error) {
    await release();
    throw error;
  }
  // The WASM memory is not part of PGlite's typed API; read it where the module keeps it.
  const wasmMemory = (pg as unknown as { mod?: { wasmMemory?: { buffer: ArrayBufferLike } } }).mod?.wasmMemory;
  const run = async <T>(sql: Pick<PGlite, 'query'>, text: string, params?: readonly unknown[]): Promise<T[]> =>
    (await sql.query<T>(text, params as unknown[] | undefined)).rows;
  let active = 0;
  const tryLocked = new Set<number>();
  const db: Database = {
    kind: 'pglite',
    query: (text, params) => run(pg, text, params),
    exec: async (text) => {
      await pg.exec(text);
    },
    async transaction(fn) {
      active++;
      try {
        return await pg.transaction((tx) =>
          fn({
            query: (text, params) => run(tx, text, params),
            exec: async (text) => {
              await tx.exec(text);
            },
          }),
        );
      } finally {
        active--;
      }
    },
    // One process owns the data directory, so there is nobody to race with;
    // the SQL lock is still taken so the code path is the same as on PostgreSQL.
    async withAdvisoryLock(key, fn) {
      await pg.query('select pg_advisory_lock($1)', [key]);
      try {
        return await fn(db as Sql);
      } finally {
        await pg.query('select pg_advisory_unlock($1)', [key]);
      }
    },
    // Advisory locks are re-entrant within PGlite's one session, so a flag
    // keeps two overlapping callers in this process from both entering.
    async tryAdvisoryLock(key, fn) {
      if (tryLocked.has(key)) return { acquired: false };
      tryLocked.add(key);
      try {
        await pg.query('select pg_advisory_lock($1)', [key]);
        try {
          return { acquired: true, result: await fn() };
        } finally {
          await pg.query('select pg_advisory_unlock($1)', [key]);
        }
      } finally {
        tryLocked.delete(key);
      }
    },
    async listen(channel, onMessage) {
      const unsubscribe = await pg.listen(channel, onMessage);
      return async () => unsubscribe();
    },
    stats: () => ({ total: 1, idle: active === 0 ? 1 : 0, waiting: Math.max(0, active - 1) }),
    ...(wasmMemory === undefined ? {} : { embeddedMemoryBytes: () => wasmMemory.buffer.byteLength }),
    close: () => pg.close().finally(release),
  };
  return db;
}
