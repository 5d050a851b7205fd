import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LOCKS, type Database, type Sql } from './database.js';

/** The folder of numbered SQL migrations, shipped with the package. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNNN_name.sql` files in order. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({ version: Number(file.slice(0, 4)), name: file.slice(5, -4), sql: await readFile(`${dir}${file}`, 'utf8') })),
  );
}

async function appliedVersions(sql: Sql): Promise<Set<number>> {
  await sql.query(`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now()
  )`);
  const rows = await sql.query<{ version: number }>('select version from schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory
 * lock so that replicas starting together apply each migration exactly once.
 * Returns the versions it applied.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await readMigrations(dir);
  return db.withAdvisoryLock(LOCKS.migrations, async (sql) => {
    const applied = await appliedVersions(sql);
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await sql.exec('begin');
      try {
        await sql.exec(m.sql);
        await sql.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        await sql.exec('commit');
      } catch (error) {
        await sql.exec('rollback');
        throw new Error(`migration ${String(m.version).padStart(4, "0")}_${m.name}.sql failed: ${(error as Error).message}`, { cause: error });
      }
      done.push(m.version);
    }
    return done;
  });
}

/** Whether every shipped migration has been applied (for /readyz). */
export async function migrationsPending(db: Database, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await readMigrations(dir);
  const rows = await db.query<{ version: number }>('select version from schema_migrations').catch(() => []);
  const applied = new Set(rows.map((r) => r.version));
  return migrations.filter((m) => !applied.has(m.version)).map((m) => m.version);
}
