/**
 * Test support: the database backends every database test runs on (PGlite
 * always; PostgreSQL when ROLLGATE_TEST_DATABASE_URL is set, with a fresh
 * database per call), and an in-process app with an admin token.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from './app.js';
import { bootstrap } from './bootstrap.js';
import { defaultConfig, type ServerConfig } from './config.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openPglite } from './db/pglite.js';
import { openPostgres } from './db/postgres.js';
import type { Clock } from './internal/time.js';

export type BackendName = 'pglite' | 'postgres';

/** A database for one test file, and how to get rid of it. */
export interface TestDatabase {
  db: Database;
  /** The connection string (PostgreSQL only), for starting server processes on the same database. */
  url: string | undefined;
  drop(): Promise<void>;
}

const quiet = pino({ level: 'silent' });

/** The backends available here: the database suites run once per backend. */
export function testBackends(): BackendName[] {
  return process.env.ROLLGATE_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** A fresh, empty PostgreSQL database on the test server; returns its URL and a drop function. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.ROLLGATE_TEST_DATABASE_URL;
  if (adminUrl === undefined) throw new Error('ROLLGATE_TEST_DATABASE_URL is not set');
  const name = `rollgate_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Opens a migrated database on `backend`. */
export async function openTestDatabase(backend: BackendName): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const db = await openPglite(undefined);
    await migrate(db);
    return { db, url: undefined, drop: () => db.close() };
  }
  const created = await createPostgresDatabase();
  const db = await openPostgres(created.url, quiet, 5);
  await migrate(db);
  return {
    db,
    url: created.url,
    async drop() {
      await db.close();
      await created.drop();
    },
  };
}

/** An app on a fresh database with the first admin's token, and a JSON request helper. */
export interface TestApp {
  app: FastifyInstance;
  db: Database;
  adminToken: string;
  /** `inject` with JSON in and out; `token` defaults to the admin token (null: none). */
  request(method: InjectOptions['method'], url: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function createTestApp(backend: BackendName, options: { config?: Partial<ServerConfig>; clock?: Clock } = {}): Promise<TestApp> {
  const database = await openTestDatabase(backend);
  const adminToken = `rg_admin_test_${randomBytes(16).toString('hex')}`;
  await bootstrap(database.db, adminToken);
  const app = await buildApp({ config: defaultConfig(options.config), db: database.db, clock: options.clock });
  await app.ready();
  return {
    app,
    db: database.db,
    adminToken,
    async request(method, url, body, token = adminToken) {
      const res = await app.inject({
        method,
        url,
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      const text = res.body;
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.statusCode, body: parsed, headers: res.headers };
    },
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

/**
 * Turns approval off for the default project's production environment (on
 * by default), for suites where approvals are not what is under test.
 */
export async function productionWithoutApproval(t: TestApp): Promise<void> {
  const production = await t.request('GET', '/api/projects/default/environments/production');
  if ((production.body as { requiresApproval?: boolean }).requiresApproval !== true) return;
  const off = await t.request('PATCH', '/api/projects/default/environments/production', { version: (production.body as { version: number }).version, requiresApproval: false });
  if (off.status !== 200) throw new Error(`cannot turn approval off for production: ${off.status} ${JSON.stringify(off.body)}`);
}
