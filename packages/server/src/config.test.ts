import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig } from './config.js';

const VARIABLES = [
  'ROLLGATE_PORT',
  'ROLLGATE_HOST',
  'ROLLGATE_DATA_DIR',
  'DATABASE_URL',
  'ROLLGATE_ADMIN_TOKEN',
  'ROLLGATE_LOG_LEVEL',
  'ROLLGATE_CORS_ORIGINS',
  'ROLLGATE_BODY_LIMIT',
  'ROLLGATE_HEARTBEAT_MS',
  'ROLLGATE_DB_POOL_SIZE',
  'ROLLGATE_ROLLOUT_TICK_MS',
  'ROLLGATE_PROMETHEUS_URL',
  'ROLLGATE_METRICS_RETENTION_DAYS',
  'ROLLGATE_MODE',
  'ROLLGATE_TIME_SCALE',
  'ROLLGATE_AUTH_FAILURES_PER_TOKEN',
  'ROLLGATE_AUTH_FAILURES_PER_ADDRESS',
  'ROLLGATE_AUTH_FAILURE_WINDOW_MS',
  'ROLLGATE_TRUST_PROXY',
  'ROLLGATE_METRIC_SOURCE_ALLOW',
  'ROLLGATE_PGLITE_SHARED_BUFFERS',
];

/** Expects loadConfig(env) to throw a ConfigError whose message matches each of `patterns`. */
function expectConfigError(env: NodeJS.ProcessEnv, ...patterns: (string | RegExp)[]): void {
  let error: unknown;
  try {
    loadConfig(env);
  } catch (e) {
    error = e;
  }
  expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
  for (const p of patterns) expect((error as Error).message).toMatch(p);
}

describe('loadConfig', () => {
  it('has a default for every variable', () => {
    expect(loadConfig({})).toEqual({
      port: 4242,
      host: '127.0.0.1',
      dataDir: resolve('./.rollgate/data'),
      databaseUrl: undefined,
      adminToken: undefined,
      logLevel: 'info',
      corsOrigins: ['*'],
      bodyLimit: 1024 * 1024,
      heartbeatMs: 15_000,
      poolSize: 10,
      rolloutTickMs: 10_000,
      prometheusUrl: undefined,
      metricsRetentionDays: 30,
      mode: 'production',
      timeScale: 1,
      authFailuresPerToken: 10,
      authFailuresPerAddress: 100,
      authFailureWindowMs: 60_000,
      trustProxy: false,
      metricSourceAllow: [],
      pgliteSharedBuffers: '32MB',
    });
  });

  it('treats empty values as unset', () => {
    const empty = Object.fromEntries(VARIABLES.filter((v) => v !== 'ROLLGATE_CORS_ORIGINS').map((v) => [v, '']));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ROLLGATE_PORT: '8080',
      ROLLGATE_HOST: '0.0.0.0',
      ROLLGATE_DATA_DIR: '/var/lib/rollgate',
      DATABASE_URL: 'postgresql://rollgate:secret@db:5432/rollgate?sslmode=require',
      ROLLGATE_ADMIN_TOKEN: 'rg_admin_0123456789abcdefghijklmnop',
      ROLLGATE_LOG_LEVEL: 'warn',
      ROLLGATE_CORS_ORIGINS: ' https://a.example.com ,https://b.example.com,, ',
      ROLLGATE_BODY_LIMIT: '5242880',
      ROLLGATE_HEARTBEAT_MS: '10000',
      ROLLGATE_DB_POOL_SIZE: '20',
      ROLLGATE_ROLLOUT_TICK_MS: '5000',
      ROLLGATE_PROMETHEUS_URL: 'http://prometheus.internal:9090/prom/',
      ROLLGATE_METRICS_RETENTION_DAYS: '90',
      ROLLGATE_MODE: 'demo',
      ROLLGATE_TIME_SCALE: '60',
      ROLLGATE_AUTH_FAILURES_PER_TOKEN: '5',
      ROLLGATE_AUTH_FAILURES_PER_ADDRESS: '50',
      ROLLGATE_AUTH_FAILURE_WINDOW_MS: '30000',
      ROLLGATE_TRUST_PROXY: '1',
      ROLLGATE_METRIC_SOURCE_ALLOW: 'metrics.internal',
      ROLLGATE_PGLITE_SHARED_BUFFERS: '256MB',
    });
    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/rollgate',
      databaseUrl: 'postgresql://rollgate:secret@db:5432/rollgate?sslmode=require',
      adminToken: 'rg_admin_0123456789abcdefghijklmnop',
      logLevel: 'warn',
      corsOrigins: ['https://a.example.com', 'https://b.example.com'],
      bodyLimit: 5_242_880,
      heartbeatMs: 10_000,
      poolSize: 20,
      rolloutTickMs: 5000,
      prometheusUrl: 'http://prometheus.internal:9090/prom/',
      metricsRetentionDays: 90,
      mode: 'demo',
      timeScale: 60,
      authFailuresPerToken: 5,
      authFailuresPerAddress: 50,
      authFailureWindowMs: 30_000,
      trustProxy: 1,
      metricSourceAllow: ['metrics.internal'],
      pgliteSharedBuffers: '256MB',
    });
  });

  it('resolves a relative data directory against the working directory', () => {
    expect(loadConfig({ ROLLGATE_DATA_DIR: 'data/rg' }).dataDir).toBe(resolve(process.cwd(), 'data/rg'));
  });

  it('accepts the limits of each range', () => {
    expect(loadConfig({ ROLLGATE_PORT: '0' }).port).toBe(0);
    expect(loadConfig({ ROLLGATE_PORT: '65535' }).port).toBe(65_535);
    expect(loadConfig({ ROLLGATE_BODY_LIMIT: '1024' }).bodyLimit).toBe(1024);
    expect(loadConfig({ ROLLGATE_BODY_LIMIT: String(100 * 1024 * 1024) }).bodyLimit).toBe(100 * 1024 * 1024);
    expect(loadConfig({ ROLLGATE_HEARTBEAT_MS: '100' }).heartbeatMs).toBe(100);
    expect(loadConfig({ ROLLGATE_HEARTBEAT_MS: '300000' }).heartbeatMs).toBe(300_000);
    expect(loadConfig({ ROLLGATE_DB_POOL_SIZE: '1' }).poolSize).toBe(1);
    expect(loadConfig({ ROLLGATE_DB_POOL_SIZE: '200' }).poolSize).toBe(200);
    expect(loadConfig({ ROLLGATE_METRICS_RETENTION_DAYS: '1' }).metricsRetentionDays).toBe(1);
    expect(loadConfig({ ROLLGATE_METRICS_RETENTION_DAYS: '3650' }).metricsRetentionDays).toBe(3650);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(loadConfig({ ROLLGATE_LOG_LEVEL: level }).logLevel).toBe(level);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/rollgate' }).databaseUrl).toBe('postgres://localhost/rollgate');
    expect(loadConfig({ ROLLGATE_ADMIN_TOKEN: 'x'.repeat(24) }).adminToken).toBe('x'.repeat(24));
  });

  it('allows only the listed CORS origins when set, none when set empty', () => {
    expect(loadConfig({ ROLLGATE_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(loadConfig({ ROLLGATE_CORS_ORIGINS: 'https://shop.example.com' }).corsOrigins).toEqual(['https://shop.example.com']);
    expect(loadConfig({ ROLLGATE_CORS_ORIGINS: '' }).corsOrigins).toEqual([]);
  });

  it('refuses numbers that are not whole or out of range, naming the variable and the range', () => {
    const cases: [string, string, string][] = [
      ['ROLLGATE_PORT', 'http', '0 to 65535'],
      ['ROLLGATE_PORT', '-1', '0 to 65535'],
      ['ROLLGATE_PORT', '65536', '0 to 65535'],
      ['ROLLGATE_PORT', '80.5', '0 to 65535'],
      ['ROLLGATE_PORT', '0x50', '0 to 65535'],
      ['ROLLGATE_BODY_LIMIT', '1e6', '1024 to 104857600'],
      ['ROLLGATE_BODY_LIMIT', '1023', '1024 to 104857600'],
      ['ROLLGATE_BODY_LIMIT', '1mb', '1024 to 104857600'],
      ['ROLLGATE_HEARTBEAT_MS', '99', '100 to 300000'],
      ['ROLLGATE_HEARTBEAT_MS', '15s', '100 to 300000'],
      ['ROLLGATE_DB_POOL_SIZE', '0', '1 to 200'],
      ['ROLLGATE_DB_POOL_SIZE', '201', '1 to 200'],
      ['ROLLGATE_METRICS_RETENTION_DAYS', '0', '1 to 3650'],
      ['ROLLGATE_METRICS_RETENTION_DAYS', '30d', '1 to 3650'],
    ];
    for (const [name, value, range] of cases) expectConfigError({ [name]: value }, `${name}=${value}`, 'not a whole number', range);
  });

  it('takes the embedded database\'s shared_buffers as a PostgreSQL size from 128kB to 4GB', () => {
    for (const size of ['128kB', '16MB', '1GB', '4GB']) expect(loadConfig({ ROLLGATE_PGLITE_SHARED_BUFFERS: size }).pgliteSharedBuffers).toBe(size);
    for (const size of ['64kB', '5GB', '32', '32mb', '32 MB', '-1MB', "32MB'; drop table users; --"]) {
      expectConfigError({ ROLLGATE_PGLITE_SHARED_BUFFERS: size }, `ROLLGATE_PGLITE_SHARED_BUFFERS=${size}`, '128kB to 4GB');
    }
  });

  it('refuses an unknown log level, listing the levels', () => {
    expectConfigError({ ROLLGATE_LOG_LEVEL: 'verbose' }, 'ROLLGATE_LOG_LEVEL=verbose', 'fatal, error, warn, info, debug, trace, silent');
    expectConfigError({ ROLLGATE_LOG_LEVEL: 'INFO' }, 'ROLLGATE_LOG_LEVEL');
  });

  it('refuses a DATABASE_URL that is not PostgreSQL, without echoing it', () => {
    for (const url of ['mysql://root:hunter2@db/rollgate', 'db.internal:5432', 'postgres:/missing-slash']) {
      expectConfigError({ DATABASE_URL: url }, 'DATABASE_URL must be a postgres:// or postgresql:// URL');
      try {
        loadConfig({ DATABASE_URL: url });
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
  });

  it('refuses a ROLLGATE_PROMETHEUS_URL that is not http(s) or carries credentials, without echoing it', () => {
    for (const url of ['prometheus:9090', 'ftp://prometheus/', 'http://admin:hunter2@prometheus:9090']) {
      expectConfigError({ ROLLGATE_PROMETHEUS_URL: url }, 'ROLLGATE_PROMETHEUS_URL must be an http:// or https:// URL without credentials');
      try {
        loadConfig({ ROLLGATE_PROMETHEUS_URL: url });
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
    expect(loadConfig({ ROLLGATE_PROMETHEUS_URL: 'https://prometheus.example.com' }).prometheusUrl).toBe('https://prometheus.example.com');
  });

  it('refuses a short admin token, without echoing it', () => {
    expectConfigError({ ROLLGATE_ADMIN_TOKEN: 'short-secret' }, 'ROLLGATE_ADMIN_TOKEN must be at least 24 characters');
    try {
      loadConfig({ ROLLGATE_ADMIN_TOKEN: 'short-secret' });
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret');
    }
  });

  it('runs the clock faster only in development or demo mode, and refuses it in production', () => {
    expect(loadConfig({ ROLLGATE_MODE: 'development', ROLLGATE_TIME_SCALE: '2.5' })).toMatchObject({ mode: 'development', timeScale: 2.5 });
    expect(loadConfig({ ROLLGATE_MODE: 'demo', ROLLGATE_TIME_SCALE: '10000' }).timeScale).toBe(10_000);
    expect(loadConfig({ ROLLGATE_TIME_SCALE: '1' })).toMatchObject({ mode: 'production', timeScale: 1 });
    expectConfigError({ ROLLGATE_TIME_SCALE: '60' }, 'ROLLGATE_TIME_SCALE=60', 'production refuses', 'ROLLGATE_MODE=development');
    expectConfigError({ ROLLGATE_MODE: 'production', ROLLGATE_TIME_SCALE: '60' }, 'production refuses');
    expect(() => loadConfig({ ROLLGATE_MODE: 'demo' }, { mode: 'production', timeScale: 60 })).toThrow(/production refuses/);
    for (const value of ['0', '-1', '10001', 'fast', '1e3', '60x']) expectConfigError({ ROLLGATE_MODE: 'demo', ROLLGATE_TIME_SCALE: value }, `ROLLGATE_TIME_SCALE=${value}`, 'at most 10000');
    expectConfigError({ ROLLGATE_MODE: 'staging' }, 'ROLLGATE_MODE=staging', 'production, development, demo');
  });

  it('lets overrides win over the environment', () => {
    expect(loadConfig({ ROLLGATE_PORT: '8080' }, { port: 9090, logLevel: 'silent' })).toMatchObject({ port: 9090, logLevel: 'silent' });
  });

  it('is documented: docs/configuration.md has a section for every variable config.ts reads', () => {
    const source = readFileSync(new URL('./config.ts', import.meta.url), 'utf8');
    const read = new Set([...source.matchAll(/\b(?:env\.|integer\(env, ')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] as string));
    expect([...read].sort()).toEqual([...VARIABLES].sort());
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    for (const name of VARIABLES) expect(doc, name).toMatch(new RegExp(`^## ${name}$`, 'm'));
  });
});

describe('defaultConfig', () => {
  it('is for tests and embedding: in memory, quiet, a free port', () => {
    expect(defaultConfig()).toMatchObject({ port: 0, dataDir: undefined, databaseUrl: undefined, logLevel: 'silent' });
    expect(defaultConfig({ bodyLimit: 2048 }).bodyLimit).toBe(2048);
  });
});
