/**
 * The browser client against the real Rollgate app (in process, PGlite,
 * behind a loopback proxy), with Node's fetch: evaluation through the
 * frontend API, the cache, context changes, updates over the frontend
 * stream and by polling, a server that goes away and comes back, refused tokens.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBrowserClient, RollgateAuthError, type BrowserClient, type BrowserClientOptions, type BrowserUpdateEvent, type TrackEvent } from './browser.js';
import { CHECKOUT_CONFIG, MemoryStorage, seedBrowserFlags, startBrowserTestServer, type BrowserTestServer } from './browser-server.test-helpers.js';

const silent = {};
const fast = { reconnectBaseMs: 50, reconnectMaxMs: 200, logger: silent } satisfies Partial<BrowserClientOptions>;

const CHECKOUT = CHECKOUT_CONFIG;

let server: BrowserTestServer;
let token: string;
const clients: BrowserClient[] = [];

function client(options: Partial<BrowserClientOptions> = {}): BrowserClient {
  const c = createBrowserClient({ url: server.url, token, storage: new MemoryStorage(), ...fast, ...options });
  clients.push(c);
  return c;
}

function nextEvent<T>(c: BrowserClient, event: 'update' | 'stale' | 'error', predicate: (v: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = c.on(event, ((v: T) => {
      if (!predicate(v)) return;
      clearTimeout(timer);
      off();
      resolve(v);
    }) as never);
  });
}

const updateOf = (c: BrowserClient, flag: string) => nextEvent<BrowserUpdateEvent>(c, 'update', (e) => e.changedFlags.includes(flag));
const streams = () => server.proxy.requests.filter((r) => r.path === '/api/frontend/stream');

beforeAll(async () => {
  server = await startBrowserTestServer();
  await seedBrowserFlags(server);
  token = (await server.createToken('browser')).secret;
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

describe('the browser client against the real server', () => {
  it('evaluates through the frontend API: synchronous getters, every type, reasons and error codes', async () => {
    const c = client({ context: { userId: 'u-1', country: 'US' } });
    expect(c.isReady).toBe(false);
    expect(c.evaluate('checkout', false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
    await c.ready(10_000);
    expect(c.source).toBe('server');
    expect(c.stale).toBe(false);
    expect(c.isEnabled('checkout')).toBe(true);
    expect(c.evaluate('checkout', false)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'north-america' });
    expect(c.getValue('banner', 'default')).toBe('Hello');
    expect(c.evaluate('banner', 'default')).toEqual({ value: 'Hello', variant: 'hello', reason: 'DEFAULT' });
    expect(c.getValue('limit', 0)).toBe(50);
    expect(c.getValue('theme', {})).toEqual({ background: 'black' });
    expect(c.variant('theme')).toBe('dark');
    expect(c.evaluate('dormant', true)).toEqual({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(c.isEnabled('dormant', true)).toBe(false);
    // Wrong type or missing: the caller's default, with the reason and code, never a throw.
    expect(c.evaluate('banner', false)).toMatchObject({ value: false, variant: undefined, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(c.isEnabled('banner', true)).toBe(true);
    expect(c.getValue('limit', 'ten')).toBe('ten');
    expect(c.getValue('theme', 3)).toBe(3);
    expect(c.evaluate('missing', 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(c.evaluate('constructor', 1)).toMatchObject({ value: 1, errorCode: 'FLAG_NOT_FOUND' });
    expect(c.variant('missing')).toBeUndefined();
    expect(c.allFlags()).toEqual({ checkout: true, banner: 'Hello', limit: 50, theme: { background: 'black' }, dormant: false });
    expect(c.version).toBeGreaterThan(0);
  });

  it('caches the answer, and a second client serves it before any request', async () => {
    const storage = new MemoryStorage();
    const first = client({ context: { userId: 'u-fr', country: 'FR' }, storage });
    await first.ready();
    expect(first.getValue('banner', '')).toBe('Bonjour');
    expect([...storage.items.keys()]).toEqual([expect.stringMatching(/^rollgate:[0-9a-z]+$/)]);
    const stored = [...storage.items.values()][0] as string;
    expect(stored).toContain('"bonjour"');
    // Contexts are stored as hashes: no attribute of the context is written.
    expect(stored).not.toMatch(/u-fr|FR/);
    first.close();

    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const second = client({ context: { country: 'FR', userId: 'u-fr' }, storage, fetch: counting });
    // Synchronously, from the cache: no request has been made yet.
    expect(second.isReady).toBe(true);
    expect(second.source).toBe('cache');
    expect(second.getValue('banner', '')).toBe('Bonjour');
    expect(second.evaluate('checkout', true)).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(second.lastUpdatedAt?.getTime()).toBeLessThanOrEqual(Date.now());
    const ready = second.ready(0);
    expect(requests).toBe(0);
    await ready;
    // Then the server answers (the same flags: no update) and the client serves that.
    await vi.waitFor(() => expect(second.source).toBe('server'));
    expect(requests).toBeGreaterThan(0);

    // A cache for another URL or token is not used.
    const elsewhere = client({ context: { country: 'FR', userId: 'u-fr' }, storage, url: server.directUrl });
    expect(elsewhere.isReady).toBe(false);
    // A storage that throws only disables the cache.
    const broken = {
      getItem(): string | null {
        throw new Error('SecurityError');
      },
      setItem(): void {
        throw new Error('QuotaExceededError');
      },
    };
    const uncached = client({ context: { userId: 'u-1' }, storage: broken });
    await uncached.ready();
    expect(uncached.source).toBe('server');
  });

  it('evaluates again on setContext: the new context cached is served at once, nothing flickers meanwhile', async () => {
    const storage = new MemoryStorage();
    const c = client({ context: { userId: 'u-1', country: 'US' }, storage });
    await c.ready();
    expect(c.isEnabled('checkout')).toBe(true);

    const changed = updateOf(c, 'checkout');
    const applying = c.setContext({ userId: 'u-2', country: 'DE' });
    // Until the server answers for the new context, the previous answer is served.
    expect(c.context).toEqual({ userId: 'u-2', country: 'DE' });
    expect(c.isReady).toBe(false);
    expect(c.isEnabled('checkout')).toBe(true);
    await applying;
    expect((await changed).source).toBe('server');
    expect(c.isReady).toBe(true);
    expect(c.isEnabled('checkout')).toBe(false);
    expect(c.evaluate('checkout', false).reason).toBe('DEFAULT');

    // Back to the first context: its cached answer is served synchronously, then the server's.
    const back = c.setContext({ country: 'US', userId: 'u-1' });
    expect(c.source).toBe('cache');
    expect(c.isEnabled('checkout')).toBe(true);
    await back;
    expect(c.source).toBe('server');

    // Only the flags asked for.
    const some = client({ context: { userId: 'u-1', country: 'CA' }, flags: ['checkout', 'missing'] });
    await some.ready();
    expect(some.allFlags()).toEqual({ checkout: true });
    expect(some.evaluate('banner', '')).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    expect(some.evaluate('missing', false)).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    // A context the server refuses (nested objects are not attributes): rejected and reported.
    const errors: Error[] = [];
    some.on('error', (e) => errors.push(e));
    await expect(some.setContext({ userId: 'u-9', nested: { a: 1 } })).rejects.toThrow(/400.*VALIDATION_FAILED/);
    expect(errors).toHaveLength(1);
    expect(some.isEnabled('checkout')).toBe(true);
  });

  it('follows changes over the frontend stream, with one stream and one evaluation per change', async () => {
    const calls: string[] = [];
    const recording: typeof fetch = (input, init) => {
      calls.push(String(input).replace(server.url, ''));
      return fetch(input, init);
    };
    const c = client({ context: { userId: 'u-1', country: 'US' }, fetch: recording });
    await c.ready();
    expect(calls).toEqual(['/api/frontend/evaluate', '/api/frontend/stream']);

    const update = updateOf(c, 'banner');
    await server.configure('banner', { enabled: true, offVariation: 'hello', fallthrough: { variation: 'bonjour' } });
    const event = await update;
    expect(event).toEqual({ version: c.version, changedFlags: ['banner'], source: 'server' });
    expect(c.getValue('banner', '')).toBe('Bonjour');
    expect(c.evaluate('banner', '')).toEqual({ value: 'Bonjour', variant: 'bonjour', reason: 'STATIC' });

    const off = updateOf(c, 'checkout');
    await server.configure('checkout', { ...CHECKOUT, enabled: false });
    expect((await off).changedFlags).toEqual(['checkout']);
    expect(c.evaluate('checkout', true)).toEqual({ value: false, variant: 'off', reason: 'DISABLED' });
    await server.configure('checkout', CHECKOUT);
    await vi.waitFor(() => expect(c.isEnabled('checkout')).toBe(true));
    // No reconnection; each change cost one evaluation.
    expect(calls.slice(2)).toEqual(['/api/frontend/evaluate', '/api/frontend/evaluate', '/api/frontend/evaluate']);
  });

  it('keeps serving while the server is down (stale), and catches up when it is back', async () => {
    const storage = new MemoryStorage();
    const c = client({ context: { userId: 'u-1', country: 'US' }, storage });
    await c.ready();
    await c.setContext({ userId: 'u-3', country: 'CA' });
    await c.setContext({ userId: 'u-1', country: 'US' });
    await vi.waitFor(() => expect(streams().some((r) => r.status === 200)).toBe(true));

    const stale = nextEvent<boolean>(c, 'stale', (s) => s);
    await server.stop();
    await stale;
    expect(c.stale).toBe(true);
    expect(c.isEnabled('checkout')).toBe(true);
    expect(c.getValue('limit', 0)).toBe(50);

    // A context cached earlier is served from the cache (resolves, stale); an unknown one rejects and the answer held stays.
    await c.setContext({ userId: 'u-3', country: 'CA' });
    expect(c.source).toBe('cache');
    expect(c.isEnabled('checkout')).toBe(true);
    await expect(c.setContext({ userId: 'u-4', country: 'DE' })).rejects.toThrow(/evaluate failed/);
    expect(c.isReady).toBe(false);
    expect(c.isEnabled('checkout')).toBe(true);

    // A change while the client cannot see it, then the server comes back: the client catches up.
    await server.start();
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'small' } });
    const back = nextEvent<boolean>(c, 'stale', (s) => !s, 15_000);
    const caughtUp = updateOf(c, 'limit');
    server.reconnect();
    await back;
    await caughtUp;
    expect(c.source).toBe('server');
    expect(c.context).toEqual({ userId: 'u-4', country: 'DE' });
    expect(c.getValue('limit', 0)).toBe(10);
    expect(c.isEnabled('checkout')).toBe(false);
  });

  it('polls when told not to stream, and when the browser cannot read a stream', async () => {
    const paths: string[] = [];
    const recording: typeof fetch = (input, init) => {
      paths.push(String(input).replace(server.url, ''));
      return fetch(input, init);
    };
    const polled = client({ context: { userId: 'u-1', country: 'US' }, stream: false, pollIntervalMs: 100, fetch: recording });
    await polled.ready();
    const changed = updateOf(polled, 'limit');
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'large' } });
    await changed;
    expect(polled.getValue('limit', 0)).toBe(50);
    expect(new Set(paths)).toEqual(new Set(['/api/frontend/evaluate']));
    expect(paths.length).toBeGreaterThanOrEqual(2);

    // A fetch whose responses have no readable body stream (an old browser): polling, no reconnect loop.
    let streamCalls = 0;
    const noStreams: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/api/frontend/stream')) return res;
      streamCalls++;
      await res.body?.cancel();
      return new Response(null, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const fallback = client({ context: { userId: 'u-1', country: 'US' }, fetch: noStreams, pollIntervalMs: 100 });
    await fallback.ready();
    const again = updateOf(fallback, 'limit');
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'small' } });
    await again;
    expect(fallback.getValue('limit', 0)).toBe(10);
    expect(fallback.stale).toBe(false);
    expect(streamCalls).toBe(1);
  });

  it('stops for good on a refused token, and says why', async () => {
    const revoked = await server.createToken('browser');
    const c = client({ token: revoked.secret, context: { userId: 'u-1' } });
    await c.ready();
    const error = nextEvent<Error>(c, 'error');
    expect((await server.api('DELETE', `/api/tokens/${revoked.id}`)).status).toBe(200);
    // The stream ends with the revocation; the reconnection is refused.
    const e = await error;
    expect(e).toBeInstanceOf(RollgateAuthError);
    expect(e).toMatchObject({ status: 401, message: expect.stringContaining('UNAUTHENTICATED') });
    expect(c.isEnabled('checkout', true)).toBe(false);
    await expect(c.setContext({ userId: 'u-2' })).rejects.toBeInstanceOf(RollgateAuthError);

    const serverToken = (await server.createToken('server')).secret;
    const wrongKind = client({ token: serverToken, context: {} });
    const refused = nextEvent<Error>(wrongKind, 'error');
    await expect(wrongKind.ready(10_000)).rejects.toBeInstanceOf(RollgateAuthError);
    expect(await refused).toMatchObject({ status: 403 });
    expect(wrongKind.evaluate('checkout', false)).toMatchObject({ errorCode: 'PROVIDER_NOT_READY' });
  });

  it('emits track events for the page (nothing is sent to the server)', async () => {
    const c = client({ context: { userId: 'u-1' } });
    const seen: TrackEvent[] = [];
    c.on('track', (e) => seen.push(e));
    const before = server.proxy.requests.length;
    c.track('checkout-completed');
    c.track('cart-value', 42.5, { userId: 'u-1', plan: 'pro' });
    c.track('Not A Key', 1);
    c.track('nan', Number.NaN);
    expect(seen).toEqual([
      { metric: 'checkout-completed', value: 1, context: { userId: 'u-1' } },
      { metric: 'cart-value', value: 42.5, context: { userId: 'u-1', plan: 'pro' } },
    ]);
    expect(server.proxy.requests.slice(before).filter((r) => r.path.includes('metrics'))).toEqual([]);
  });
});
