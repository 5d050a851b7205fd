/**
 * The command's settings: the only module of the command that reads
 * `process.env`. Each setting comes from a flag, else the environment, else
 * the config file written by `rollgate login` (in that order).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from './internal/errors.js';

/** What `rollgate login` stores: the server and token per profile. */
export interface StoredSettings {
  url?: string;
  token?: string;
  project?: string;
  environment?: string;
}

/** The settings a command runs with, and where each came from. */
export interface Settings {
  url: string | undefined;
  token: string | undefined;
  project: string | undefined;
  environment: string | undefined;
  /** Where each value came from: flag, env, file or default. */
  sources: Record<'url' | 'token' | 'project' | 'environment', 'flag' | 'env' | 'file' | 'default' | 'unset'>;
  configFile: string;
}

/** The environment the command reads (a parameter, so tests can give their own). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A server SDK token for `metrics push`: --sdk-token, else ROLLGATE_SDK_TOKEN. */
export function sdkToken(flag: string | undefined, env: Environment): string | undefined {
  return flag ?? (env.ROLLGATE_SDK_TOKEN || undefined);
}

/** The process environment: read here only. */
export function processEnvironment(): Environment {
  return process.env;
}

/** The config file: ROLLGATE_CONFIG, else $XDG_CONFIG_HOME/rollgate/config.json, else ~/.config/rollgate/config.json. */
export function configFilePath(env: Environment): string {
  if (env.ROLLGATE_CONFIG) return env.ROLLGATE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'rollgate', 'config.json');
}

/** Whether colour is off: NO_COLOR set to anything non-empty (no-color.org), or TERM=dumb. */
export function colourDisabled(env: Environment): boolean {
  return (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb';
}

export async function readStoredSettings(file: string): Promise<StoredSettings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the config file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const out: StoredSettings = {};
    for (const key of ['url', 'token', 'project', 'environment'] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string' && value !== '') out[key] = value;
    }
    return out;
  } catch (e) {
    throw new UsageError(`the config file ${file} is not a JSON object (${(e as Error).message}); fix it or run rollgate login again`);
  }
}

/** Writes the config file readable by its owner only (0600), atomically. */
export async function writeStoredSettings(file: string, settings: StoredSettings): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** Flags > environment > config file > default, for each setting. */
export async function resolveSettings(flags: StoredSettings, env: Environment): Promise<Settings> {
  const configFile = configFilePath(env);
  const stored = await readStoredSettings(configFile);
  const fromEnv: StoredSettings = {
    url: env.ROLLGATE_URL || undefined,
    token: env.ROLLGATE_TOKEN || undefined,
    project: env.ROLLGATE_PROJECT || undefined,
    environment: env.ROLLGATE_ENVIRONMENT || undefined,
  };
  const sources = {} as Settings['sources'];
  const pick = (key: keyof StoredSettings, fallback?: string): string | undefined => {
    if (flags[key] !== undefined) return ((sources[key] = 'flag'), flags[key]);
    if (fromEnv[key] !== undefined) return ((sources[key] = 'env'), fromEnv[key]);
    if (stored[key] !== undefined) return ((sources[key] = 'file'), stored[key]);
    sources[key] = fallback === undefined ? 'unset' : 'default';
    return fallback;
  };
  return {
    url: pick('url', 'http://127.0.0.1:4242')?.replace(/\/+$/, ''),
    token: pick('token'),
    project: pick('project'),
    environment: pick('environment'),
    sources,
    configFile,
  };
}
