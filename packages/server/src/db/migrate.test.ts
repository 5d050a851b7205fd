import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../bootstrap.js';
import { createPostgresDatabase } from '../testing.test-helpers.js';
import { migrate, migrationsPending, readMigrations } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

const quiet = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe('migrations', () => {
  it('apply in order, once, and record each version', async () => {
    const db = await openPglite(undefined);
    cleanups.push(() => db.close());
    const all = (await readMigrations()).map((m) => m.version);
    expect(await migrationsPending(db)).toEqual(all);
    expect(await migrate(db)).toEqual(all);
    expect(await migrate(db)).toEqual([]);
    expect(await migrationsPending(db)).toEqual([]);
    const rows = await db.query<{ version: number }>('select version from schema_migrations order by version');
    expect(rows.map((r) => r.version)).toEqual(all);
  });

  it('roll back a migration that fails, leaving nothing of it behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-migrations-'));
    await writeFile(join(dir, '0001_good.sql'), 'create table good (id int);');
    await writeFile(join(dir, '0002_bad.sql'), 'create table half (id int); select * from no_such_table;');
    const db = await openPglite(undefined);
    cleanups.push(() => db.close());
    await expect(migrate(db, `${dir}/`)).rejects.toThrow(/migration 0002_bad.sql failed/);
    const tables = await db.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by tablename");
    expect(tables.map((t) => t.tablename)).toEqual(['good', 'schema_migrations']);
  });

  it.runIf(process.env.ROLLGATE_TEST_DATABASE_URL !== undefined)('run once when several replicas start together on PostgreSQL', async () => {
    const created = await createPostgresDatabase();
    const replicas = await Promise.all([1, 2, 3, 4].map(() => openPostgres(created.url, quiet, 2)));
    cleanups.push(async () => {
      for (const db of replicas) await db.close();
      await created.drop();
    });
    const applied = await Promise.all(replicas.map((db) => migrate(db)));
    const all = (await readMigrations()).map((m) => m.version);
    expect(applied.flat().sort((a, b) => a - b)).toEqual(all);
    const results = await Promise.all(replicas.map((db) => bootstrap(db, undefined)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [{ n } = { n: -1 }] = await replicas[0]!.query<{ n: number }>('select count(*)::int as n from users');
    expect(n).toBe(1);
  });
});
