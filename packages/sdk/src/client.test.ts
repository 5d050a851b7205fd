import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SNAPSHOT } from './fixtures.test-helpers.js';
import { createClient, RollgateTimeoutError } from './index.js';

const silent = {};
const dir = mkdtempSync(join(tmpdir(), 'rollgate-sdk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('offline client with a bootstrap', () => {
  it('evaluates a bootstrap object', async () => {
    const client = createClient({ offline: true, bootstrap: SNAPSHOT, logger: silent });
    await client.ready(100);
    expect(client.isReady).toBe(true);
    expect(client.isEnabled('new-checkout', { userId: 'u1', country: 'US' })).toBe(true);
    expect(client.isEnabled('new-checkout', { userId: 'u1', country: 'FR' })).toBe(false);
    expect(client.evaluate('new-checkout', { country: 'CA' }, false)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'north-america' });
    expect(client.getValue('banner', {}, 'x')).toBe('Bonjour');
    expect(client.variant('banner', {})).toBe('b');
    expect(client.version).toBe(7);
    expect(client.stale).toBe(false);
    expect(client.lastUpdatedAt).toBeInstanceOf(Date);
    client.close();
  });

  it('reads a bootstrap file', async () => {
    const path = join(dir, 'snapshot.json');
    writeFileSync(path, JSON.stringify(SNAPSHOT));
    const client = createClient({ offline: true, bootstrap: path, logger: silent });
    await client.ready(100);
    expect(client.getValue('banner', { userId: 'x' }, 'x')).toBe('Bonjour');
    client.close();
  });

  it('reports an unreadable bootstrap file and stays not ready', async () => {
    const errors: Error[] = [];
    const warnings: string[] = [];
    const client = createClient({ offline: true, bootstrap: join(dir, 'missing.json'), logger: { warn: (m) => warnings.push(m) } });
    client.on('error', (e) => errors.push(e));
    // Offline without a readable bootstrap: an empty snapshot.
    expect(client.evaluate('banner', {}, 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(warnings.join('\n')).toContain('cannot read the bootstrap file');
    client.close();
  });

  it('never throws and answers the default for errors', () => {
    const client = createClient({ offline: true, bootstrap: SNAPSHOT, logger: silent });
    expect(client.isEnabled('nope', {}, true)).toBe(true);
    expect(client.isEnabled('banner', {})).toBe(false);
    expect(client.evaluate('banner', {}, 3)).toMatchObject({ value: 3, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(client.isEnabled('new-checkout', null)).toBe(false);
    expect(client.isEnabled('new-checkout', 'garbage' as never)).toBe(false);
    client.close();
  });

  it('offline without a bootstrap serves an empty snapshot and opens no socket', async () => {
    const client = createClient({ offline: true, url: 'http://127.0.0.1:9', token: 'x' });
    await client.ready(50);
    expect(client.evaluate('x', {}, 1)).toMatchObject({ value: 1, errorCode: 'FLAG_NOT_FOUND' });
    client.close();
  });
});

describe('before a snapshot is loaded', () => {
  it('answers defaults with PROVIDER_NOT_READY, and ready() rejects after its timeout', async () => {
    // Port 9 (discard) on loopback: nothing listens; connections are refused.
    const client = createClient({ url: 'http://127.0.0.1:9', token: 'rg_server_x', logger: silent, reconnectBaseMs: 50, reconnectMaxMs: 100 });
    expect(client.evaluate('new-checkout', {}, false)).toEqual({
      value: false,
      variant: undefined,
      reason: 'ERROR',
      errorCode: 'PROVIDER_NOT_READY',
      errorMessage: expect.any(String),
    });
    expect(client.isEnabled('new-checkout', {}, true)).toBe(true);
    expect(client.getValue('banner', {}, 'd')).toBe('d');
    expect(client.variant('banner', {})).toBeUndefined();
    const error = await client.ready(300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollgateTimeoutError);
    expect(String(error)).toMatch(/no snapshot after 300 ms.*keeps trying/);
    expect(client.stale).toBe(true);
    client.close();
  });

  it('requires url and token unless offline', () => {
    expect(() => createClient({ token: 'x' })).toThrow(/url/);
    expect(() => createClient({ url: 'http://127.0.0.1:9' })).toThrow(/token/);
  });
});
