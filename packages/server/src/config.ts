/**
 * Configuration. The only module that reads `process.env`.
 */
import { resolve } from 'node:path';
import { isAddressOrRange } from './features/metric-definitions/sources/address-policy.js';

export interface ServerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  host: string;
  /** PGlite data directory, used when `databaseUrl` is not set. `undefined` = in memory (tests). */
  dataDir: string | undefined;
  /** PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: string | undefined;
  /** Admin token to create for the first admin user instead of generating one. */
  adminToken: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Origins allowed to call the frontend API from browsers; `*` allows any. */
  corsOrigins: string[];
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Interval between SSE heartbeats. */
  heartbeatMs: number;
  /** Database pool size (PostgreSQL). */
  poolSize: number;
  /** Interval between rollout controller ticks; 0 turns the controller off on this replica. */
  rolloutTickMs: number;
  /** Days that ingested metrics (minute rows, batch ids, contexts) are kept. */
  metricsRetentionDays: number;
  /**
   * Prometheus that metric definitions with a Prometheus source read when
   * they do not name their own `baseUrl`; undefined: none.
   */
  prometheusUrl: string | undefined;
  /** Failed authentications allowed per client address and token prefix per window; 0: no limit. */
  authFailuresPerToken: number;
  /** Failed authentications allowed per client address per window; 0: no limit. */
  authFailuresPerAddress: number;
  /** The window of both failed-authentication limits. */
  authFailureWindowMs: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (rate
   * limits, logs): false (none, the default), true (any), a number of hops,
   * or a list of proxy addresses and CIDR ranges.
   */
  trustProxy: boolean | number | string[];
  /**
   * Host names, addresses and CIDR ranges HTTP JSON metric sources may reach
   * besides public addresses; by default loopback, private and link-local
   * addresses are refused.
   */
  metricSourceAllow: string[];
  /**
   * What this server is for: `production` (the default), `development` or
   * `demo`. Only the last two may run on an accelerated clock.
   */
  mode: ServerMode;
  /**
   * How many times faster than real time the server's clock runs (1: real
   * time). Refused in production mode.
   */
  timeScale: number;
  /**
   * PostgreSQL's shared_buffers for the embedded database (PGlite), e.g.
   * `32MB`. Its page cache lives in the process's WASM heap, which never
   * shrinks; the data files are also in the operating system's cache.
   */
  pgliteSharedBuffers: string;
}

export const SERVER_MODES = ['production', 'development', 'demo'] as const;
export type ServerMode = (typeof SERVER_MODES)[number];

/** The largest accepted ROLLGATE_TIME_SCALE: one real second is then almost three hours. */
export const MAX_TIME_SCALE = 10_000;

/** A configuration value that cannot be used; the message says which and what to do. */
export class ConfigError extends Error {}

/** The embedded database's shared_buffers (see docs/reliability.md for the measurements behind it). */
export const DEFAULT_PGLITE_SHARED_BUFFERS = '32MB';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}=${raw} is not a whole number from ${min} to ${max}`);
  return n;
}

/** Whether `value` is an http(s) URL with no user or password in it. */
function isHttpUrlWithoutCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** ROLLGATE_TRUST_PROXY: `true`, `false`, a number of hops, or a comma-separated list of addresses and CIDR ranges. */
function trustProxy(raw: string | undefined): ServerConfig['trustProxy'] {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 100) throw new ConfigError(`ROLLGATE_TRUST_PROXY=${value} is more than 100 hops`);
    return hops;
  }
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.find((s) => !/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(s));
  if (bad !== undefined) throw new ConfigError(`ROLLGATE_TRUST_PROXY: ${bad} is not an IP address or CIDR range (or use true, false or a number of hops)`);
  return list;
}

/** ROLLGATE_METRIC_SOURCE_ALLOW: comma-separated host names, IP addresses and CIDR ranges. */
function metricSourceAllow(raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.find((s) => (s.includes('/') || /^[\d.]+$|:/.test(s) ? !isAddressOrRange(s) : !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(s)));
  if (bad !== undefined) throw new ConfigError(`ROLLGATE_METRIC_SOURCE_ALLOW: ${bad} is not a host name, an IP address or a CIDR range (e.g. metrics.internal,10.0.0.0/8)`);
  return list;
}

/**
 * Refuses an accelerated clock outside development and demo mode, so that a
 * production server never decides on simulated time by mistake.
 */
export function checkTimeScale(mode: ServerMode, timeScale: number): void {
  if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > MAX_TIME_SCALE) {
    throw new ConfigError(`ROLLGATE_TIME_SCALE=${timeScale} is not a number above 0 and at most ${MAX_TIME_SCALE}`);
  }
  if (timeScale !== 1 && mode === 'production') {
    throw new ConfigError(
      `ROLLGATE_TIME_SCALE=${timeScale} runs the clock faster than real time, which production refuses: set ROLLGATE_MODE=development or ROLLGATE_MODE=demo, or unset ROLLGATE_TIME_SCALE`,
    );
  }
}

function timeScale(env: NodeJS.ProcessEnv): number {
  const raw = env.ROLLGATE_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n > 0 && n <= MAX_TIME_SCALE)) throw new ConfigError(`ROLLGATE_TIME_SCALE=${raw} is not a number above 0 and at most ${MAX_TIME_SCALE} (e.g. 60: one minute a second)`);
  return n;
}

/** The defaults, for tests and embedding: in-memory database, quiet logs, a free port, no limit on failed authentication. */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    dataDir: undefined,
    databaseUrl: undefined,
    adminToken: undefined,
    logLevel: 'silent',
    corsOrigins: ['*'],
    bodyLimit: 1024 * 1024,
    heartbeatMs: 15_000,
    poolSize: 10,
    rolloutTickMs: 10_000,
    metricsRetentionDays: 30,
    prometheusUrl: undefined,
    // Off here: suites send many bad tokens from one address on purpose. `loadConfig` (the server) turns them on.
    authFailuresPerToken: 0,
    authFailuresPerAddress: 0,
    authFailureWindowMs: 60_000,
    trustProxy: false,
    metricSourceAllow: [],
    mode: 'production',
    timeScale: 1,
    pgliteSharedBuffers: DEFAULT_PGLITE_SHARED_BUFFERS,
    ...overrides,
  };
}

/**
 * Reads the configuration from environment variables (see docs/configuration.md).
 *
 * @example
 * const config = loadConfig(process.env); // ROLLGATE_PORT, DATABASE_URL, ...
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const logLevel = (env.ROLLGATE_LOG_LEVEL || 'info') as ServerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`ROLLGATE_LOG_LEVEL=${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use the embedded database)');
  }
  const adminToken = env.ROLLGATE_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 24) throw new ConfigError('ROLLGATE_ADMIN_TOKEN must be at least 24 characters long');
  const prometheusUrl = env.ROLLGATE_PROMETHEUS_URL || undefined;
  if (prometheusUrl !== undefined && !isHttpUrlWithoutCredentials(prometheusUrl)) {
    throw new ConfigError('ROLLGATE_PROMETHEUS_URL must be an http:// or https:// URL without credentials (e.g. http://prometheus:9090)');
  }
  const mode = (env.ROLLGATE_MODE || 'production') as ServerMode;
  if (!SERVER_MODES.includes(mode)) throw new ConfigError(`ROLLGATE_MODE=${mode} is not one of ${SERVER_MODES.join(', ')}`);
  const scale = timeScale(env);
  checkTimeScale(overrides.mode ?? mode, overrides.timeScale ?? scale);
  const pgliteSharedBuffers = env.ROLLGATE_PGLITE_SHARED_BUFFERS || DEFAULT_PGLITE_SHARED_BUFFERS;
  const buffers = /^(\d+)(kB|MB|GB)$/.exec(pgliteSharedBuffers);
  const kb = buffers === null ? NaN : Number(buffers[1]) * { kB: 1, MB: 1024, GB: 1024 * 1024 }[buffers[2] as 'kB' | 'MB' | 'GB'];
  if (!(kb >= 128 && kb <= 4 * 1024 * 1024)) {
    throw new ConfigError(`ROLLGATE_PGLITE_SHARED_BUFFERS=${pgliteSharedBuffers} is not a size from 128kB to 4GB in kB, MB or GB (e.g. 32MB)`);
  }
  return {
    port: integer(env, 'ROLLGATE_PORT', 4242, 0, 65_535),
    host: env.ROLLGATE_HOST || '127.0.0.1',
    dataDir: resolve(env.ROLLGATE_DATA_DIR || './.rollgate/data'),
    databaseUrl,
    adminToken,
    logLevel,
    corsOrigins: (env.ROLLGATE_CORS_ORIGINS ?? '*')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    bodyLimit: integer(env, 'ROLLGATE_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
    heartbeatMs: integer(env, 'ROLLGATE_HEARTBEAT_MS', 15_000, 100, 300_000),
    poolSize: integer(env, 'ROLLGATE_DB_POOL_SIZE', 10, 1, 200),
    rolloutTickMs: integer(env, 'ROLLGATE_ROLLOUT_TICK_MS', 10_000, 0, 3_600_000),
    metricsRetentionDays: integer(env, 'ROLLGATE_METRICS_RETENTION_DAYS', 30, 1, 3650),
    prometheusUrl,
    authFailuresPerToken: integer(env, 'ROLLGATE_AUTH_FAILURES_PER_TOKEN', 10, 0, 1_000_000),
    authFailuresPerAddress: integer(env, 'ROLLGATE_AUTH_FAILURES_PER_ADDRESS', 100, 0, 1_000_000),
    authFailureWindowMs: integer(env, 'ROLLGATE_AUTH_FAILURE_WINDOW_MS', 60_000, 1_000, 86_400_000),
    trustProxy: trustProxy(env.ROLLGATE_TRUST_PROXY),
    metricSourceAllow: metricSourceAllow(env.ROLLGATE_METRIC_SOURCE_ALLOW),
    mode,
    timeScale: scale,
    pgliteSharedBuffers,
    ...overrides,
  };
}

/**
 * `loadConfig` over the process environment with some variables replaced,
 * e.g. by command-line options.
 *
 * @example
 * loadConfigWith({ ROLLGATE_PORT: '4343' });
 */
export function loadConfigWith(variables: Record<string, string>): ServerConfig {
  return loadConfig({ ...process.env, ...variables });
}
