/**
 * The `rollgate` command: `start` and `demo` run the server; most other
 * commands are a thin HTTP client of its API; `evaluate` and `validate` run
 * the core on local files. Parsing is commander's; each command lives in its
 * own module under commands/.
 */
import { Command, CommanderError, Option } from 'commander';
import { COMMANDS } from './commands/index.js';
import { processEnvironment, type Environment } from './config.js';
import { createContext } from './internal/context.js';
import { CliError, EXIT } from './internal/errors.js';
import type { CliIo } from './internal/output.js';

export type { CliIo } from './internal/output.js';
export { EXIT } from './internal/errors.js';

export const VERSION = '0.1.0';

/** Builds the program; exported for tests that read the command tree. */
export function buildProgram(io: CliIo, env: Environment, signals: NodeJS.EventEmitter): { program: Command; exitCode: () => number } {
  const ctx = createContext(io, env, signals);
  const program = new Command('rollgate')
    .description('Progressive delivery: staged rollouts of feature flags with automatic gates')
    .version(VERSION, '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show help (also: rollgate <command> --help)')
    .addOption(new Option('--url <url>', 'the Rollgate server (ROLLGATE_URL; default http://127.0.0.1:4242)'))
    .addOption(new Option('--token <token>', 'an admin token (ROLLGATE_TOKEN)'))
    .addOption(new Option('-p, --project <key>', 'the project (ROLLGATE_PROJECT)'))
    .addOption(new Option('-e, --environment <key>', 'the environment (ROLLGATE_ENVIRONMENT)'))
    .addOption(new Option('--json', 'print JSON for scripts'))
    .addOption(new Option('--no-color', 'no colour (also NO_COLOR=1, or when not on a terminal)'))
    .showSuggestionAfterError(true)
    .showHelpAfterError('(rollgate --help lists the commands; rollgate <command> --help shows examples)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText(
      'after',
      `
Settings come from flags, else the environment, else the config file written by
rollgate login (~/.config/rollgate/config.json).

Examples:
  rollgate demo                                  # a whole rollout in two minutes
  rollgate start                                 # the server on ./.rollgate/data
  rollgate login --url http://127.0.0.1:4242 --token rg_admin_... --project shop --environment production
  rollgate flags list
  rollgate rollout watch new-checkout

Exit codes: 0 ok, 1 failed or refused, 2 bad usage, 3 no or bad token, 4 not found,
5 conflict (state or version), 6 server unreachable, 7 rollout rolled back (watch),
130 interrupted. Docs: docs/cli.md`,
    );
  const configure = (command: Command) => {
    command.exitOverride();
    command.configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      outputError: (s, write) => write(s),
    });
    for (const sub of command.commands) configure(sub);
  };
  for (const module of COMMANDS) module.register(program, ctx);
  configure(program);
  return { program, exitCode: () => ctx.exitCode };
}

/**
 * Runs the command line and returns the exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { out: console.log, err: console.error });
 */
export async function runCli(argv: readonly string[], io: CliIo, signals: NodeJS.EventEmitter = process, env: Environment = processEnvironment()): Promise<number> {
  const { program, exitCode } = buildProgram(io, env, signals);
  if (argv.length === 0) {
    io.out(program.helpInformation().trimEnd());
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof CliError) {
      const name = commandName(argv);
      if (argv.includes('--json') && e.body !== undefined) io.out(JSON.stringify(e.body, null, 2));
      io.err(`rollgate ${name}: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

/** "rollout watch" of `rollout watch rol_1 --json`, for error messages. */
function commandName(argv: readonly string[]): string {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') || words.length === 2) break;
    words.push(a);
  }
  return words.join(' ');
}
