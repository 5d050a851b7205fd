import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from './app.js';
import { bootstrap } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { openDatabase } from './database-factory.js';
import type { Database } from './db/database.js';
import { clockFor } from './internal/time.js';

/** A running server: its URL, and how to stop it. */
export interface RunningServer {
  url: string;
  app: FastifyInstance;
  db: Database;
  /** The generated admin token, on the first start only. */
  adminToken: string | undefined;
  close(): Promise<void>;
}

/**
 * Opens the database, migrates it, bootstraps on the first start, and listens.
 *
 * @example
 * const server = await startServer(loadConfig());
 * console.log(`Rollgate on ${server.url}`);
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const bootLogger = pino({ level: config.logLevel, redact: ['databaseUrl', 'adminToken'] });
  const db = await openDatabase(config, bootLogger);
  let app: FastifyInstance | undefined;
  try {
    const { adminToken } = await bootstrap(db, config.adminToken);
    app = await buildApp({ config, db, clock: clockFor(config, config.timeScale === 1 ? undefined : await latestRecordedTime(db)) });
    await app.listen({ port: config.port, host: config.host });
    if (config.timeScale !== 1) {
      bootLogger.warn({ mode: config.mode, timeScale: config.timeScale }, `the clock runs ${config.timeScale} times faster than real time (ROLLGATE_TIME_SCALE): never in production`);
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    const running = app;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      app: running,
      db,
      adminToken,
      close: () => (closing ??= running.close().finally(() => db.close())),
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The latest time the rollouts recorded (decisions and stage starts, which
 * an accelerated clock dates ahead of real time), in epoch ms; -Infinity when
 * there is none. An accelerated clock resumes from it after a restart, so
 * that time never goes back: a stage started in the clock's future would
 * otherwise wait for real time to catch up.
 */
export async function latestRecordedTime(db: Database): Promise<number> {
  const [row] = await db.query<{ at: Date | string | null }>(
    `select greatest(
       (select max(at) from rollout_decisions),
       (select to_timestamp(max(greatest((state->>'stageStartedAt')::double precision, (state->>'lastDecisionAt')::double precision)) / 1000) from rollouts)
     ) as at`,
  );
  return row?.at === null || row?.at === undefined ? -Infinity : new Date(row.at).getTime();
}
