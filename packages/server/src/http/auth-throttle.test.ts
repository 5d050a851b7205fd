import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { createTestApp, type TestApp } from '../testing.test-helpers.js';
import { AuthThrottle } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('blocks an address and prefix past its limit until the window ends, and an address past its own', () => {
    let now = 1_000_000;
    const throttle = new AuthThrottle({ perToken: 2, perAddress: 3, windowMs: 60_000, now: () => now });
    throttle.failed('10.0.0.1', 'rg_server_aaaa-1');
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_aaaa-2')).toBe(0);
    now += 10_000;
    throttle.failed('10.0.0.1', 'rg_server_aaaa-2');
    // Same first 12 characters: blocked for the rest of the window that began with the first failure.
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_aaaa-3')).toBe(50_000);
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_bbbb')).toBe(0);
    expect(throttle.retryAfterMs('10.0.0.2', 'rg_server_aaaa-3')).toBe(0);
    throttle.failed('10.0.0.1', 'rg_server_cccc');
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_dddd')).toBe(50_000);
    now += 50_000;
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_aaaa-3')).toBe(0);
    throttle.failed('10.0.0.1', 'rg_server_aaaa-3');
    expect(throttle.retryAfterMs('10.0.0.1', 'rg_server_aaaa-3')).toBe(0);
  });

  it('keeps at most maxKeys counters, dropping expired and then the oldest ones', () => {
    let now = 0;
    const throttle = new AuthThrottle({ perToken: 1, perAddress: 0, windowMs: 1000, maxKeys: 100, now: () => now });
    for (let i = 0; i < 1000; i++) throttle.failed(`10.0.${i >> 8}.${i & 255}`, 'rg_x');
    expect(throttle.size).toBeLessThanOrEqual(100);
    expect(throttle.retryAfterMs('10.0.3.231', 'rg_x')).toBe(1000);
    now = 5000;
    throttle.failed('10.9.9.9', 'rg_x');
    expect(throttle.size).toBeLessThanOrEqual(100);
  });

  it('is configured by ROLLGATE_AUTH_FAILURES_* and ROLLGATE_TRUST_PROXY', () => {
    const config = loadConfig({ ROLLGATE_AUTH_FAILURES_PER_TOKEN: '5', ROLLGATE_AUTH_FAILURES_PER_ADDRESS: '0', ROLLGATE_AUTH_FAILURE_WINDOW_MS: '30000', ROLLGATE_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' });
    expect(config).toMatchObject({ authFailuresPerToken: 5, authFailuresPerAddress: 0, authFailureWindowMs: 30_000, trustProxy: ['10.0.0.0/8', '127.0.0.1'] });
    expect(loadConfig({})).toMatchObject({ authFailuresPerToken: 10, authFailuresPerAddress: 100, authFailureWindowMs: 60_000, trustProxy: false });
    expect(loadConfig({ ROLLGATE_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ROLLGATE_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(() => loadConfig({ ROLLGATE_AUTH_FAILURE_WINDOW_MS: '10' })).toThrow(ConfigError);
    expect(() => loadConfig({ ROLLGATE_TRUST_PROXY: 'proxy.internal' })).toThrow(ConfigError);
  });
});

describe('failed authentication over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('pglite', { config: { authFailuresPerToken: 3, authFailuresPerAddress: 5, authFailureWindowMs: 60_000, trustProxy: ['127.0.0.1'] } });
  });
  afterAll(() => t.close());

  const send = (address: string, token: string | undefined, url = '/api/projects') =>
    t.app.inject({ method: 'GET', url, remoteAddress: address, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('answers 429 with Retry-After past the limits, per address and prefix and per address, without locking out others', async () => {
    for (let i = 0; i < 3; i++) expect((await send('192.0.2.1', `rg_admin_AAA-guess-${i}`)).statusCode).toBe(401);
    const blocked = await send('192.0.2.1', 'rg_admin_AAA-guess-9');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(blocked.json()).toMatchObject({ code: 'TOO_MANY_AUTH_FAILURES', details: { retryAfterSeconds: Number(blocked.headers['retry-after']) }, requestId: expect.any(String) });
    // The same address with another token prefix (the admin's) still works, as does another address.
    expect((await send('192.0.2.1', t.adminToken)).statusCode).toBe(200);
    expect((await send('192.0.2.2', 'rg_admin_AAA-guess-9')).statusCode).toBe(401);
    // Varying the prefix: the address limit (5 failures) stops every token from it, even a valid one.
    for (const p of ['BBB', 'CCC']) expect((await send('192.0.2.1', `rg_admin_${p}-guess`)).statusCode).toBe(401);
    expect((await send('192.0.2.1', 'rg_admin_DDD-guess')).statusCode).toBe(429);
    expect((await send('192.0.2.1', t.adminToken)).statusCode).toBe(429);
    // Requests without a token are not throttled.
    expect((await send('192.0.2.1', undefined, '/healthz')).statusCode).toBe(200);
    expect((await send('192.0.2.3', t.adminToken)).statusCode).toBe(200);
  });

  it('tells clients behind a trusted proxy apart by X-Forwarded-For', async () => {
    const viaProxy = (client: string, token: string) =>
      t.app.inject({ method: 'GET', url: '/api/projects', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
    for (let i = 0; i < 3; i++) expect((await viaProxy('198.51.100.7', `rg_admin_EEE-${i}`)).statusCode).toBe(401);
    expect((await viaProxy('198.51.100.7', 'rg_admin_EEE-x')).statusCode).toBe(429);
    expect((await viaProxy('198.51.100.8', 'rg_admin_EEE-x')).statusCode).toBe(401);
  });
});
