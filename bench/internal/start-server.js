// A real Rollgate server for benchmarks: @rollgate/server from dist, loopback only, a free
// port, PGlite in a fresh temporary data directory (or PostgreSQL at `databaseUrl`, which
// should be an empty database). `close()` stops it and deletes the directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param {{ name: string, logLevel?: string, databaseUrl?: string }} options
 * @returns {Promise<{ server: import('@rollgate/server').RunningServer, dataDir: string, adminToken: string, close(): Promise<void> }>}
 */
export async function startBenchServer({ name, logLevel = 'warn', databaseUrl }) {
  let serverModule;
  try {
    serverModule = await import('@rollgate/server');
  } catch (error) {
    throw new Error(`cannot load @rollgate/server (run npm run build first): ${String(error)}`, { cause: error });
  }
  const { startServer, loadConfig } = serverModule;
  const dataDir = await mkdtemp(join(tmpdir(), `rollgate-bench-${name}-`));
  // Only these variables: loopback, a free port, and the database.
  const config = loadConfig({
    ROLLGATE_DATA_DIR: dataDir,
    ROLLGATE_PORT: '0',
    ROLLGATE_HOST: '127.0.0.1',
    ROLLGATE_LOG_LEVEL: logLevel,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const server = await startServer(config);
  const close = async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(server.url)) {
    await close();
    throw new Error(`the server must listen on loopback only, not ${server.url}`);
  }
  if (server.adminToken === undefined) {
    await close();
    throw new Error('no admin token: the database was not fresh');
  }
  return { server, dataDir, adminToken: server.adminToken, close };
}
