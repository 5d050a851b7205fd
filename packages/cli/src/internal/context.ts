/**
 * What every command module is given: the output, the settings (flags >
 * environment > config file), an API client, and signals for commands that
 * run until stopped.
 */
import type { Command } from 'commander';
import { colourDisabled, resolveSettings, type Environment, type Settings } from '../config.js';
import { ApiClient } from './api-client.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { Printer, type CliIo } from './output.js';

/** The options every command takes (defined on the program). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  project?: string;
  environment?: string;
  json?: boolean;
  color?: boolean;
}

export interface CommandContext {
  io: CliIo;
  env: Environment;
  signals: NodeJS.EventEmitter;
  /** Options of `command` with the program's global options. */
  options<T extends object>(command: Command): T & GlobalOptions;
  printer(command: Command): Printer;
  settings(command: Command): Promise<Settings>;
  /** A client of the server, with the token; says how to log in when there is none. */
  client(command: Command): Promise<ApiClient>;
  /** The project key: --project, ROLLGATE_PROJECT, or the config file. */
  project(command: Command): Promise<string>;
  /** The environment key: --environment, ROLLGATE_ENVIRONMENT, the config file, or `fallback`. */
  environment(command: Command, fallback?: string): Promise<string>;
  /** Wraps a command's action: the handler's return value is the exit code. */
  action(handler: (command: Command) => Promise<number | void>): (...args: unknown[]) => Promise<void>;
  exitCode: number;
}

/** A command module: adding a command is one file that exports one of these, listed in commands/index.ts. */
export interface CommandModule {
  register(program: Command, ctx: CommandContext): void;
}

export function createContext(io: CliIo, env: Environment, signals: NodeJS.EventEmitter): CommandContext {
  const ctx: CommandContext = {
    io,
    env,
    signals,
    exitCode: EXIT.ok,
    options<T extends object>(command: Command) {
      return command.optsWithGlobals<T & GlobalOptions>();
    },
    printer(command) {
      const o = ctx.options(command);
      return new Printer(io, { json: o.json === true, colour: o.color !== false && !colourDisabled(env) });
    },
    settings(command) {
      const o = ctx.options(command);
      return resolveSettings({ url: o.url, token: o.token, project: o.project, environment: o.environment }, env);
    },
    async client(command) {
      const s = await ctx.settings(command);
      if (s.token === undefined) {
        throw new CliError('no token: log in with rollgate login --url <server> --token <admin token>, or pass --token, or set ROLLGATE_TOKEN', EXIT.auth);
      }
      return new ApiClient(s.url ?? 'http://127.0.0.1:4242', s.token);
    },
    async project(command) {
      const s = await ctx.settings(command);
      if (s.project === undefined) throw new UsageError('which project? Pass --project <key>, set ROLLGATE_PROJECT, or store one with rollgate login --project <key>');
      return s.project;
    },
    async environment(command, fallback) {
      const s = await ctx.settings(command);
      const env = s.environment ?? fallback;
      if (env === undefined) throw new UsageError('which environment? Pass --environment <key>, set ROLLGATE_ENVIRONMENT, or store one with rollgate login --environment <key>');
      return env;
    },
    action(handler) {
      return async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const code = await handler(command);
        ctx.exitCode = typeof code === 'number' ? code : EXIT.ok;
      };
    },
  };
  return ctx;
}
