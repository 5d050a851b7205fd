import pg from 'pg';
import type { Logger } from '../internal/logger.js';
import type { Database, Sql } from './database.js';

// int8 (audit sequence numbers) as numbers, as PGlite returns them.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * PostgreSQL through a `pg` pool. LISTEN runs on a dedicated connection that
 * reconnects with backoff when the database restarts.
 *
 * @example
 * const db = await openPostgres('postgres://postgres@127.0.0.1:5432/rollgate', logger);
 */
export async function openPostgres(url: string, logger: Logger, poolSize = 10): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server restarted) must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  const wrap = (client: Pick<pg.PoolClient, 'query'>): Sql => ({
    query: async <T>(text: string, params?: readonly unknown[]) => (await client.query(text, params as unknown[] | undefined)).rows as T[],
    exec: async (text: string) => {
      await client.query(text);
    },
  });
  // Fail fast at start when the database is not there.
  await pool.query('select 1');

  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: pg.Client | undefined;
  let closed = false;
  let connecting: Promise<void> | undefined;

  const connectListener = async (): Promise<void> => {
    let delay = 100;
    while (!closed) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        client.on('notification', (msg) => {
          for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload ?? '');
        });
        client.on('error', (error) => {
          logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
          if (listenClient === client) listenClient = undefined;
          client.end().catch(() => undefined);
          if (!closed) connecting = connectListener();
        });
        for (const channel of listeners.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
        listenClient = client;
        // Whatever was sent while disconnected is lost: tell subscribers to resynchronise.
        for (const [, fns] of listeners) for (const fn of fns) fn('');
        return;
      } catch (error) {
        client.end().catch(() => undefined);
        logger.warn({ err: error, retryInMs: delay }, 'cannot open the LISTEN connection');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  };

  const db: Database = {
    kind: 'postgres',
    query: (text, params) => wrap(pool).query(text, params),
    exec: (text) => wrap(pool).exec(text),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async withAdvisoryLock(key, fn) {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [key]);
        try {
          return await fn(wrap(client));
        } finally {
          await client.query('select pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async tryAdvisoryLock(key, fn) {
      const client = await pool.connect();
      try {
        const [row] = (await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key])).rows;
        if (row?.ok !== true) return { acquired: false };
        try {
          return { acquired: true, result: await fn() };
        } finally {
          await client.query('select pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async listen(channel, onMessage) {
      let set = listeners.get(channel);
      const isNew = set === undefined;
      if (set === undefined) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(onMessage);
      if (listenClient === undefined) {
        connecting ??= connectListener();
        await connecting;
      } else if (isNew) {
        await listenClient.query(`listen ${pg.escapeIdentifier(channel)}`);
      }
      return async () => {
        set.delete(onMessage);
      };
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      closed = true;
      await listenClient?.end().catch(() => undefined);
      await pool.end();
    },
  };
  return db;
}
