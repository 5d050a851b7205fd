/**
 * The real Rollgate app for the browser SDK's tests: in process, on PGlite,
 * listening on loopback behind a proxy (proxy.test-helpers.ts) so clients keep
 * one URL while the app is stopped and another one is started on the same
 * database. Flags and tokens are made through the management API.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { bootstrap } from '../../server/src/bootstrap.js';
import { defaultConfig, type ServerConfig } from '../../server/src/config.js';
import { openTestDatabase, type TestDatabase } from '../../server/src/testing.test-helpers.js';
import { startProxy, type TestProxy } from './proxy.test-helpers.js';

export interface BrowserTestServer {
  /** The proxy's URL: give it to clients. */
  url: string;
  /** The app's own URL (changes on restart). */
  directUrl: string;
  proxy: TestProxy;
  /** A JSON request to the running app with the admin token. */
  api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Creates an SDK token for default/production; returns its id and secret. */
  createToken(kind: 'server' | 'browser'): Promise<{ id: string; secret: string }>;
  /** Creates a flag (boolean unless `type` and `variations` say otherwise). */
  createFlag(key: string, type?: 'boolean' | 'string' | 'number' | 'json', variations?: { key: string; value: unknown }[]): Promise<void>;
  /** Replaces the flag's production configuration. */
  configure(key: string, config: Record<string, unknown>): Promise<void>;
  /** Closes the app (ending its streams); the proxy then drops every connection, as a dead server would. */
  stop(): Promise<void>;
  /** Starts a new app on the same database; `reconnect` points the proxy at it. */
  start(): Promise<void>;
  reconnect(): void;
  close(): Promise<void>;
}

/** A Storage (localStorage's getItem/setItem) over a Map, for clients in Node. */
export class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
}

export async function startBrowserTestServer(config: Partial<ServerConfig> = {}): Promise<BrowserTestServer> {
  const database: TestDatabase = await openTestDatabase('pglite');
  const adminToken = `rg_admin_test_${randomBytes(16).toString('hex')}`;
  await bootstrap(database.db, adminToken);
  let app: FastifyInstance | undefined;
  let directUrl = '';
  const launch = async () => {
    app = await buildApp({ config: defaultConfig({ heartbeatMs: 250, logLevel: 'warn', ...config }), db: database.db });
    await app.listen({ port: 0, host: '127.0.0.1' });
    directUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  await launch();
  const proxy = await startProxy(directUrl);

  const api: BrowserTestServer['api'] = async (method, path, body) => {
    if (app === undefined) throw new Error('the app is stopped');
    const res = await app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
  };

  // The SDKs, not approvals, are under test here: production's changes apply at once.
  const production = await api('GET', '/api/projects/default/environments/production');
  if (production.body.requiresApproval === true) {
    const off = await api('PATCH', '/api/projects/default/environments/production', { version: production.body.version, requiresApproval: false });
    if (off.status !== 200) throw new Error(`cannot turn approval off for production: ${off.status} ${JSON.stringify(off.body)}`);
  }

  const server: BrowserTestServer = {
    url: proxy.url,
    get directUrl() {
      return directUrl;
    },
    proxy,
    api,
    async createToken(kind) {
      const res = await api('POST', '/api/tokens', { kind, name: `browser sdk test ${kind}`, projectKey: 'default', environmentKey: 'production' });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.token.id, secret: res.body.secret };
    },
    async createFlag(key, type = 'boolean', variations) {
      const res = await api('POST', '/api/projects/default/flags', { key, name: key, type, ...(variations === undefined ? {} : { variations }) });
      if (res.status !== 201) throw new Error(`flag ${key}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async configure(key, config) {
      const path = `/api/projects/default/flags/${key}/environments/production`;
      const current = await api('GET', path);
      if (current.status !== 200) throw new Error(`flag ${key}: ${current.status} ${JSON.stringify(current.body)}`);
      const res = await api('PUT', path, { version: current.body.version, config });
      if (res.status !== 200) throw new Error(`configure ${key}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async stop() {
      proxy.target = undefined;
      const running = app;
      app = undefined;
      await running?.close();
    },
    async start() {
      if (app === undefined) await launch();
    },
    reconnect() {
      proxy.target = directUrl;
    },
    async close() {
      await proxy.close();
      await app?.close();
      await database.drop();
    },
  };
  return server;
}

/** The targeting of `checkout` in {@link seedBrowserFlags}: on for the US and Canada, off elsewhere. */
export const CHECKOUT_CONFIG = {
  enabled: true,
  offVariation: 'off',
  rules: [{ id: 'north-america', conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], serve: { variation: 'on' } }],
  fallthrough: { variation: 'off' },
};

/**
 * The flags the browser tests share, one of each type: `checkout` (boolean,
 * {@link CHECKOUT_CONFIG}), `banner` (string: `Bonjour` for `u-fr`, else
 * `Hello`), `limit` (number, 50) and, unless `only` leaves them out, `theme`
 * (JSON, dark) and `dormant` (a disabled boolean).
 */
export async function seedBrowserFlags(server: BrowserTestServer, only?: readonly string[]): Promise<void> {
  const wanted = (key: string) => only === undefined || only.includes(key);
  await server.createFlag('checkout');
  await server.configure('checkout', CHECKOUT_CONFIG);
  await server.createFlag('banner', 'string', [
    { key: 'hello', value: 'Hello' },
    { key: 'bonjour', value: 'Bonjour' },
  ]);
  await server.configure('banner', { enabled: true, offVariation: 'hello', targets: [{ variation: 'bonjour', values: ['u-fr'] }], fallthrough: { variation: 'hello' } });
  await server.createFlag('limit', 'number', [
    { key: 'small', value: 10 },
    { key: 'large', value: 50 },
  ]);
  await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'large' } });
  if (wanted('theme')) {
    await server.createFlag('theme', 'json', [
      { key: 'light', value: { background: 'white' } },
      { key: 'dark', value: { background: 'black' } },
    ]);
    await server.configure('theme', { enabled: true, offVariation: 'light', fallthrough: { variation: 'dark' } });
  }
  if (wanted('dormant')) await server.createFlag('dormant');
}
