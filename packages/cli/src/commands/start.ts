/** `rollgate start`: the server on the embedded database (or DATABASE_URL), until SIGINT or SIGTERM. */
import { ConfigError, DataDirLockedError, loadConfigWith, startServer, type RunningServer, type ServerConfig } from '@rollgate/server';
import type { CommandModule } from '../internal/context.js';
import { CliError, EXIT, UsageError } from '../internal/errors.js';
import type { CliIo } from '../internal/output.js';

/** The server configuration from the environment with some variables replaced (command-line options). */
export function serverConfig(variables: Record<string, string | undefined>): ServerConfig {
  const set = Object.fromEntries(Object.entries(variables).filter((e): e is [string, string] => e[1] !== undefined));
  try {
    return loadConfigWith(set);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** Starts the server, turning the usual failures into messages that say what to do. */
export async function startOrExplain(config: ServerConfig, command: string): Promise<RunningServer> {
  try {
    return await startServer(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof DataDirLockedError) throw new CliError(e.message);
    if (code === 'EADDRINUSE') throw new CliError(`port ${config.port} is in use. Stop the other process or pick another port: rollgate ${command} --port 4343`);
    if (config.databaseUrl !== undefined) {
      throw new CliError(`cannot open the database at DATABASE_URL: ${(e as Error).message}. Check that PostgreSQL is running and the URL is right.`);
    }
    throw e;
  }
}

/**
 * Resolves with the signal's name on the first SIGINT or SIGTERM, after
 * `stop` finished (in-flight requests answered, the database closed).
 */
export function untilSignal(signals: NodeJS.EventEmitter, io: CliIo, stop: () => Promise<void>): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => () => {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      io.err(`Received ${signal}: finishing requests and closing the database...`);
      stop().then(
        () => resolve(signal),
        (error: unknown) => {
          io.err(`error while stopping: ${String(error)}`);
          resolve(signal);
        },
      );
    };
    const onTerm = on('SIGTERM');
    const onInt = on('SIGINT');
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
  });
}

export const startCommand: CommandModule = {
  register(program, ctx) {
    program
      .command('start')
      .description('Start the Rollgate server (API, SDK streams, API docs) on the embedded database')
      .option('--port <n>', 'port to listen on (ROLLGATE_PORT, default 4242)')
      .option('--host <address>', 'address to listen on (ROLLGATE_HOST, default 127.0.0.1)')
      .option('--data-dir <dir>', 'embedded database directory (ROLLGATE_DATA_DIR, default ./.rollgate/data)')
      .addHelpText(
        'after',
        `
Stores its data in an embedded PostgreSQL (PGlite) in the data directory, or in
PostgreSQL when DATABASE_URL is set. On the first start it creates an admin user
and prints an admin token once. Every other setting is an environment variable
(docs/configuration.md). Stop it with Ctrl-C or SIGTERM: it finishes in-flight
requests and closes the database cleanly.

Examples:
  rollgate start
  rollgate start --port 8080 --data-dir /var/lib/rollgate
  DATABASE_URL=postgres://rollgate@db/rollgate rollgate start --host 0.0.0.0`,
      )
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ port?: string; host?: string; dataDir?: string }>();
          const config = serverConfig({ ROLLGATE_PORT: o.port, ROLLGATE_HOST: o.host, ROLLGATE_DATA_DIR: o.dataDir });
          const server = await startOrExplain(config, 'start');
          const say = ctx.io.out;
          say(`Rollgate is running at ${server.url}`);
          say(`  API docs:  ${server.url}/docs`);
          say(`  Database:  ${config.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `embedded, in ${config.dataDir}`}`);
          if (config.timeScale !== 1) say(`  Clock:     ${config.timeScale} times faster than real time (ROLLGATE_TIME_SCALE, ${config.mode} mode)`);
          if (server.adminToken !== undefined) {
            say('');
            say('First start: created the admin user and this admin token. It is shown only once; keep it safe:');
            say(`  ${server.adminToken}`);
            say(`  rollgate login --url ${server.url} --token ${server.adminToken}`);
          }
          await untilSignal(ctx.signals, ctx.io, () => server.close());
          say('Rollgate stopped.');
          return EXIT.ok;
        }),
      );
  },
};
