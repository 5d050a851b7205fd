/**
 * The OpenFeature web provider through the real OpenFeature web SDK
 * (`OpenFeature.setProviderAndWait`, `OpenFeature.setContext`,
 * `OpenFeature.getClient()`), against the real Rollgate app: the four value
 * types, reasons and error codes, the context mapping, context changes
 * (onContextChange), provider events, a start from the cache, tracking.
 */
import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type Client, type EventDetails } from '@openfeature/web-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TrackEvent } from './browser.js';
import { MemoryStorage, seedBrowserFlags, startBrowserTestServer, type BrowserTestServer } from './browser-server.test-helpers.js';
import { RollgateWebProvider } from './openfeature-web.js';

const silent = {};
const fast = { reconnectBaseMs: 50, reconnectMaxMs: 200, logger: silent };

let server: BrowserTestServer;
let token: string;
let domains = 0;

async function openFeature(options: { token?: string; storage?: MemoryStorage; context?: Record<string, string> } = {}) {
  const provider = new RollgateWebProvider({ url: server.url, token: options.token ?? token, storage: options.storage ?? new MemoryStorage(), ...fast });
  const domain = `web-${domains++}`;
  if (options.context !== undefined) await OpenFeature.setContext(domain, options.context);
  await OpenFeature.setProviderAndWait(domain, provider);
  return { provider, domain, client: OpenFeature.getClient(domain) };
}

function next(client: Client, event: ProviderEvents, timeoutMs = 10_000): Promise<EventDetails | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    const handler = (details?: EventDetails) => {
      clearTimeout(timer);
      client.removeHandler(event, handler);
      resolve(details);
    };
    client.addHandler(event, handler);
  });
}

beforeAll(async () => {
  // The SDK logs the failures these tests cause on purpose.
  OpenFeature.setLogger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });
  server = await startBrowserTestServer();
  await seedBrowserFlags(server);
  token = (await server.createToken('browser')).secret;
});

afterEach(async () => {
  await OpenFeature.clearProviders();
});

afterAll(async () => {
  await server?.close();
});

describe('RollgateWebProvider through the OpenFeature web SDK', () => {
  it('is a client provider, READY once initialized with OpenFeature context', async () => {
    const { provider, client } = await openFeature({ context: { targetingKey: 'u-1', country: 'US' } });
    expect(provider.metadata).toEqual({ name: 'rollgate' });
    expect(provider.runsOn).toBe('client');
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.metadata.providerMetadata.name).toBe('rollgate');
    // targetingKey became userId; every attribute went to the server.
    expect(provider.client.context).toEqual({ targetingKey: 'u-1', country: 'US', userId: 'u-1' });
    expect(provider.client.source).toBe('server');
  });

  it('resolves the four value types synchronously, with variant, reason and flagMetadata', async () => {
    const { client } = await openFeature({ context: { targetingKey: 'u-fr', country: 'US' } });
    expect(client.getBooleanValue('checkout', false)).toBe(true);
    expect(client.getBooleanDetails('checkout', false)).toEqual({
      flagKey: 'checkout',
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleId: 'north-america' },
    });
    expect(client.getStringDetails('banner', 'x')).toEqual({ flagKey: 'banner', value: 'Bonjour', variant: 'bonjour', reason: 'TARGETING_MATCH', flagMetadata: {} });
    expect(client.getNumberDetails('limit', 0)).toEqual({ flagKey: 'limit', value: 50, variant: 'large', reason: 'STATIC', flagMetadata: {} });
    expect(client.getObjectDetails('theme', {})).toEqual({ flagKey: 'theme', value: { background: 'black' }, variant: 'dark', reason: 'STATIC', flagMetadata: {} });
    expect(client.getBooleanDetails('dormant', true)).toEqual({ flagKey: 'dormant', value: false, variant: 'off', reason: 'DISABLED', flagMetadata: {} });
  });

  it('maps errors: the default, reason ERROR and the error code', async () => {
    const { client } = await openFeature({ context: { targetingKey: 'u-1' } });
    expect(client.getBooleanDetails('banner', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: expect.stringContaining('string flag') });
    expect(client.getNumberDetails('theme', 7)).toMatchObject({ value: 7, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(client.getStringDetails('missing', 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(client.getObjectDetails('missing', { a: 1 })).toMatchObject({ value: { a: 1 }, errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('evaluates again when OpenFeature context changes (RECONCILING, then CONTEXT_CHANGED)', async () => {
    const { provider, client, domain } = await openFeature({ context: { targetingKey: 'u-1', country: 'US' } });
    expect(client.getBooleanValue('checkout', false)).toBe(true);
    const seen: string[] = [];
    for (const e of [ProviderEvents.Reconciling, ProviderEvents.ContextChanged, ProviderEvents.ConfigurationChanged]) client.addHandler(e, () => seen.push(e));
    await OpenFeature.setContext(domain, { targetingKey: 'u-fr', country: 'DE' });
    expect(seen).toEqual([ProviderEvents.Reconciling, ProviderEvents.ContextChanged]);
    expect(client.getBooleanDetails('checkout', true)).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(client.getStringValue('banner', '')).toBe('Bonjour');
    expect(provider.client.context).toMatchObject({ userId: 'u-fr', country: 'DE' });
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    // A context the server refuses: the SDK reports the provider's error.
    const error = next(client, ProviderEvents.Error);
    await OpenFeature.setContext(domain, { targetingKey: 'u-2', nested: { a: 1 } as unknown as string });
    expect((await error)?.message).toMatch(/400/);
    expect(client.providerStatus).toBe(ProviderStatus.ERROR);
    const ready = next(client, ProviderEvents.Ready);
    await OpenFeature.setContext(domain, { targetingKey: 'u-1', country: 'CA' });
    await ready;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.getBooleanValue('checkout', false)).toBe(true);
  });

  it('emits CONFIGURATION_CHANGED, STALE, READY; and starts READY from the cache while the server is down', async () => {
    const storage = new MemoryStorage();
    const { client } = await openFeature({ storage, context: { targetingKey: 'u-1', country: 'US' } });
    const changed = next(client, ProviderEvents.ConfigurationChanged);
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'small' } });
    const details = await changed;
    expect(details?.flagsChanged).toEqual(['limit']);
    expect(details?.metadata?.version).toEqual(expect.any(Number));
    expect(client.getNumberValue('limit', 0)).toBe(10);

    const stale = next(client, ProviderEvents.Stale);
    await server.stop();
    expect((await stale)?.message).toMatch(/cannot be reached/);
    expect(client.providerStatus).toBe(ProviderStatus.STALE);
    expect(client.getNumberValue('limit', 0)).toBe(10);

    // A new page load (a new provider over the same storage) is READY at once from the cache, and STALE.
    const reload = new RollgateWebProvider({ url: server.url, token, storage, ...fast });
    const reloadDomain = `web-${domains++}`;
    await OpenFeature.setContext(reloadDomain, { country: 'US', targetingKey: 'u-1' });
    const reloadClient = OpenFeature.getClient(reloadDomain);
    const reloadStale = next(reloadClient, ProviderEvents.Stale);
    await OpenFeature.setProviderAndWait(reloadDomain, reload);
    expect(reloadClient.providerStatus).toBe(ProviderStatus.READY);
    expect(reload.client.source).toBe('cache');
    expect(reloadClient.getNumberDetails('limit', 0)).toMatchObject({ value: 10, variant: 'small' });
    await reloadStale;

    // Back: READY, and what changed meanwhile arrives.
    await server.start();
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'large' } });
    const ready = next(client, ProviderEvents.Ready, 15_000);
    const caughtUp = next(client, ProviderEvents.ConfigurationChanged, 15_000);
    server.reconnect();
    await ready;
    expect((await caughtUp)?.flagsChanged).toEqual(['limit']);
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.getNumberValue('limit', 0)).toBe(50);
  });

  it('emits ERROR with PROVIDER_FATAL for a revoked token, and is FATAL for a token of the wrong kind', async () => {
    const revoked = await server.createToken('browser');
    const { client, provider: revokedProvider } = await openFeature({ token: revoked.secret, context: { targetingKey: 'u-1', country: 'US' } });
    const error = next(client, ProviderEvents.Error);
    expect((await server.api('DELETE', `/api/tokens/${revoked.id}`)).status).toBe(200);
    expect(await error).toMatchObject({ errorCode: ErrorCode.PROVIDER_FATAL, message: expect.stringContaining('401') });
    // OpenFeature answers defaults from a FATAL provider; the client behind it keeps its last answer.
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(client.getBooleanDetails('checkout', false)).toMatchObject({ value: false, errorCode: ErrorCode.PROVIDER_FATAL });
    expect(revokedProvider.client.isEnabled('checkout')).toBe(true);

    const wrongKind = (await server.createToken('server')).secret;
    const provider = new RollgateWebProvider({ url: server.url, token: wrongKind, storage: new MemoryStorage(), ...fast });
    const domain = `web-${domains++}`;
    await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toThrow(/403/);
    const fatal = OpenFeature.getClient(domain);
    expect(fatal.providerStatus).toBe(ProviderStatus.FATAL);
    expect(fatal.getBooleanDetails('checkout', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_FATAL });
  });

  it("routes OpenFeature's track to the client's track event", async () => {
    const { provider, client } = await openFeature({ context: { targetingKey: 'u-1', plan: 'pro' } });
    const tracked: TrackEvent[] = [];
    provider.client.on('track', (e) => tracked.push(e));
    client.track('checkout-completed');
    client.track('cart-value', { value: 42.5, currency: 'EUR' });
    expect(tracked).toEqual([
      { metric: 'checkout-completed', value: 1, context: { targetingKey: 'u-1', plan: 'pro', userId: 'u-1' } },
      { metric: 'cart-value', value: 42.5, context: { targetingKey: 'u-1', plan: 'pro', userId: 'u-1' } },
    ]);
  });

  it('closes the client it created when OpenFeature closes', async () => {
    const { provider } = await openFeature({ context: { targetingKey: 'u-1' } });
    await OpenFeature.clearProviders();
    await expect(provider.client.setContext({ userId: 'u-2' })).rejects.toThrow(/closed/);
  });
});
