import type { ServerConfig } from './config.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openPglite } from './db/pglite.js';
import { openPostgres } from './db/postgres.js';
import type { Logger } from './internal/logger.js';

/** Opens the configured database (PostgreSQL when DATABASE_URL is set, else PGlite) and migrates it. */
export async function openDatabase(config: ServerConfig, logger: Logger): Promise<Database> {
  const db = config.databaseUrl !== undefined ? await openPostgres(config.databaseUrl, logger, config.poolSize) : await openPglite(config.dataDir, { sharedBuffers: config.pgliteSharedBuffers });
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}
