/**
 * The `rollgate` command. Subcommands that need no server (evaluate, validate)
 * run the core evaluator on local files, the same code the server and SDKs run.
 */
import { readFile } from 'node:fs/promises';
import { RE2JS } from 're2js';
import { parseArgs } from 'node:util';
import { evaluate, validateSnapshot, type EvaluationContext } from '@rollgate/core';
import { ConfigError, DataDirLockedError, loadConfigWith, startServer, type RunningServer, type ServerConfig } from '@rollgate/server';

/** Where the command writes; a parameter so that tests can capture it. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const VERSION = '0.1.0';

const HELP = `rollgate ${VERSION}: progressive delivery with staged rollouts and automatic gates

Usage: rollgate <command> [options]

Commands:
  start                Start the Rollgate server (API and docs) on the embedded database
  evaluate             Evaluate a flag locally from a snapshot file
  validate             Check a snapshot file and list every problem

Options:
  -h, --help           Show help (also: rollgate <command> --help)
  -v, --version        Show the version

Docs: docs/README.md`;

const COMMAND_HELP: Record<string, string> = {
  start: `Usage: rollgate start [--port <n>] [--host <address>] [--data-dir <dir>]

Starts the Rollgate server: the HTTP API, the streaming endpoint for SDKs and
the API docs at /docs. It stores its data in an embedded PostgreSQL (PGlite)
in the data directory, or in PostgreSQL when DATABASE_URL is set. On the first
start it creates an admin user and prints an admin token once.

Options (each also settable by environment variable, see docs/configuration.md):
  --port <n>           Port to listen on (ROLLGATE_PORT, default 4242)
  --host <address>     Address to listen on (ROLLGATE_HOST, default 127.0.0.1)
  --data-dir <dir>     Embedded database directory (ROLLGATE_DATA_DIR, default ./.rollgate/data)

Stop it with Ctrl-C or SIGTERM: it finishes in-flight requests and closes the
database cleanly.`,
  evaluate: `Usage: rollgate evaluate --snapshot <file> --flag <key> [--context <json>] [--default <json>]

Evaluates one flag for one context with the core evaluator and prints the
result as JSON: value, variant, reason, ruleId, errorCode.

Options:
  --snapshot <file>    A snapshot of one environment (JSON: { flags, segments })
  --flag <key>         The flag to evaluate
  --context <json>     The context, e.g. '{"userId":"user-42","country":"US"}' (default {})
  --default <json>     The default value, returned on errors (default: none)

Example:
  rollgate evaluate --snapshot prod.json --flag new-checkout --context '{"userId":"u1","country":"CA"}'`,
  validate: `Usage: rollgate validate <snapshot-file>

Checks every flag and segment of a snapshot (variations, rules, operators,
regular expressions, rollouts, prerequisite cycles) and lists each problem with
its path. Exits with 1 when there is any.`,
};

class UsageError extends Error {}

function parseJsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`--${name} must be JSON, e.g. --${name} '{"userId":"u1"}' (got ${text})`);
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

async function evaluateCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { snapshot: { type: 'string' }, flag: { type: 'string' }, context: { type: 'string' }, default: { type: 'string' } },
    strict: true,
  });
  if (values.snapshot === undefined || values.flag === undefined) {
    throw new UsageError('evaluate needs --snapshot <file> and --flag <key> (see rollgate evaluate --help)');
  }
  const context = parseJsonOption('context', values.context) ?? {};
  if (typeof context !== 'object' || context === null || Array.isArray(context)) throw new UsageError('--context must be a JSON object');
  const snapshot = await readJsonFile(values.snapshot);
  const result = evaluate(snapshot, values.flag, context as EvaluationContext, parseJsonOption('default', values.default), { regex: RE2JS });
  io.out(JSON.stringify(result, null, 2));
  return result.reason === 'ERROR' ? 1 : 0;
}

async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) throw new UsageError('validate takes one snapshot file (see rollgate validate --help)');
  const issues = validateSnapshot(await readJsonFile(file), { regex: RE2JS });
  if (issues.length === 0) {
    io.out(`${file}: valid`);
    return 0;
  }
  for (const issue of issues) io.err(`${file}: ${issue.path || '(root)'}: ${issue.message}`);
  io.err(`${issues.length} problem${issues.length === 1 ? '' : 's'}`);
  return 1;
}

/** Starts the server and resolves when it has been stopped by a signal. */
async function startCommand(args: string[], io: CliIo, signals: NodeJS.EventEmitter): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  let config: ServerConfig;
  try {
    config = loadConfigWith({
      ...(values.port !== undefined ? { ROLLGATE_PORT: values.port } : {}),
      ...(values.host !== undefined ? { ROLLGATE_HOST: values.host } : {}),
      ...(values['data-dir'] !== undefined ? { ROLLGATE_DATA_DIR: values['data-dir'] } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof DataDirLockedError) {
      io.err(`rollgate start: ${e.message}`);
      return 1;
    }
    if (code === 'EADDRINUSE') {
      io.err(`rollgate start: port ${config.port} is in use. Stop the other process or pick another port: rollgate start --port 4343`);
      return 1;
    }
    if (config.databaseUrl !== undefined) {
      io.err(`rollgate start: cannot open the database at DATABASE_URL: ${(e as Error).message}. Check that PostgreSQL is running and the URL is right.`);
      return 1;
    }
    throw e;
  }
  io.out(`Rollgate is running at ${server.url}`);
  io.out(`  API docs:  ${server.url}/docs`);
  io.out(`  Database:  ${config.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `embedded, in ${config.dataDir}`}`);
  if (server.adminToken !== undefined) {
    io.out('');
    io.out('First start: created the admin user and this admin token. It is shown only once; keep it safe:');
    io.out(`  ${server.adminToken}`);
    io.out(`  curl -H "Authorization: Bearer ${server.adminToken}" ${server.url}/api/projects`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.out(`Received ${signal}: finishing requests and closing the database...`);
      server.close().then(resolve, (error: unknown) => {
        io.err(`rollgate start: error while stopping: ${String(error)}`);
        resolve();
      });
    };
    signals.once('SIGTERM', () => stop('SIGTERM'));
    signals.once('SIGINT', () => stop('SIGINT'));
  });
  io.out('Rollgate stopped.');
  return 0;
}

/**
 * Runs the command line and returns the exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { out: console.log, err: console.error });
 */
export async function runCli(argv: readonly string[], io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    io.out(VERSION);
    return 0;
  }
  const help = COMMAND_HELP[command];
  if (help === undefined) {
    io.err(`rollgate: unknown command "${command}". Commands: start, evaluate, validate (rollgate --help)`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(help);
    return 0;
  }
  try {
    switch (command) {
      case 'evaluate':
        return await evaluateCommand(rest, io);
      case 'validate':
        return await validateCommand(rest, io);
      default:
        return await startCommand(rest, io, signals);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`rollgate ${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
