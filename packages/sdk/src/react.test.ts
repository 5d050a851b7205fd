/**
 * The React entry in a real browser: Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core) loads a page bundled with esbuild from
 * @rollgate/sdk/react, served by this test on one origin, which talks to the
 * real Rollgate app on another (CORS, the browser token, fetch streaming,
 * localStorage). Flags render, a flag change re-renders, a context change
 * re-renders, and a reload renders from the cache on its first render.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBrowserFlags, startBrowserTestServer, type BrowserTestServer } from './browser-server.test-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** The page: a StrictMode app reading three flags through the hooks. */
const PAGE = `
import { createElement as h, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { flushSync } from 'react-dom';
import { RollgateProvider, useFlag, useVariant, useRollgateClient } from './react.ts';

const { url, token } = window.ROLLGATE;
const renders = (window.renders = []);

function Flags() {
  const checkout = useFlag('checkout', false);
  const banner = useFlag('banner', 'default');
  const limit = useFlag('limit', 0);
  const variant = useVariant('banner');
  const client = useRollgateClient();
  renders.push({ checkout, banner, limit, source: String(client.source) });
  return h('main', null,
    h('p', { id: 'checkout' }, checkout ? 'new checkout' : 'old checkout'),
    h('p', { id: 'banner' }, banner),
    h('p', { id: 'variant' }, String(variant)),
    h('p', { id: 'limit' }, String(limit)),
  );
}

function App() {
  const [context, setContext] = useState({ userId: 'u-fr', country: 'US' });
  return h(RollgateProvider, { options: { url, token, logger: {} }, context },
    h('button', { id: 'switch', onClick: () => setContext({ userId: 'u-2', country: 'DE' }) }, 'switch user'),
    h(Flags),
  );
}

const root = createRoot(document.getElementById('root'));
flushSync(() => root.render(h(StrictMode, null, h(App))));
window.firstRender = renders[0];
`;

let server: BrowserTestServer;
let pages: Server;
let pageUrl: string;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

async function bundlePage(): Promise<string> {
  const result = await build({
    stdin: { contents: PAGE, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts', sourcefile: 'page.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    conditions: ['@rollgate/source'],
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

const text = (selector: string) => page.locator(selector).textContent();
/** Waits until the element `#id` shows `value`. */
const shows = (id: string, value: string) => page.waitForFunction(`document.getElementById(${JSON.stringify(id)})?.textContent === ${JSON.stringify(value)}`, undefined, { timeout: 10_000 });
/** Evaluates an expression in the page (a string: this file is not compiled with the DOM's types). */
const inPage = <T = unknown>(expression: string) => page.evaluate(expression) as Promise<T>;

describe.skipIf(!hasChromium)(hasChromium ? 'React in Chromium' : `React in Chromium (skipped: ${CHROMIUM} is missing; CI installs Debian's chromium)`, () => {
  beforeAll(async () => {
    server = await startBrowserTestServer();
    await seedBrowserFlags(server, ['checkout', 'banner', 'limit']);
    const token = (await server.createToken('browser')).secret;

    const script = await bundlePage();
    // The page's origin is this server's; Rollgate is on another port: another origin.
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>Rollgate React</title></head><body><div id="root"></div>
<script>window.ROLLGATE = ${JSON.stringify({ url: server.url, token })};</script><script type="module" src="/app.js"></script></body></html>`;
    pages = createServer((req, res) => {
      if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://localhost:${(pages.address() as AddressInfo).port}/`;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => pages?.close(r));
    await server?.close();
  });

  it('renders the flags from the server, on another origin', async () => {
    await page.goto(pageUrl);
    await shows('banner', 'Bonjour');
    expect(await text('#checkout')).toBe('new checkout');
    expect(await text('#variant')).toBe('bonjour');
    expect(await text('#limit')).toBe('50');
    // Nothing was cached: the first render had the defaults.
    expect(await inPage('window.firstRender')).toEqual({ checkout: false, banner: 'default', limit: 0, source: 'undefined' });
    // localStorage holds the answer (contexts only as hashes).
    const stored = await inPage<[string, string][]>('Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.[0]).toMatch(/^rollgate:/);
    expect(stored[0]?.[1]).toContain('"bonjour"');
    expect(stored[0]?.[1]).not.toContain('u-fr');
    expect(pageErrors).toEqual([]);
  });

  it('re-renders when a flag changes (the frontend stream, through fetch)', async () => {
    await shows('limit', '50');
    await server.configure('limit', { enabled: true, offVariation: 'small', fallthrough: { variation: 'small' } });
    await shows('limit', '10');
    await server.configure('checkout', { enabled: false, offVariation: 'off', fallthrough: { variation: 'on' } });
    await shows('checkout', 'old checkout');
    // One stream, opened once (StrictMode's second mount did not open another, nor close the client), after a CORS preflight.
    const stream = server.proxy.requests.filter((r) => r.path === '/api/frontend/stream');
    expect(stream.map((r) => [r.method, r.status])).toEqual([
      ['OPTIONS', 204],
      ['GET', 200],
    ]);
    expect(pageErrors).toEqual([]);
  });

  it('renders from the cache on the first render after a reload, then follows the server', async () => {
    await page.reload();
    await page.waitForFunction('window.firstRender !== undefined');
    // The first render, synchronous, before any answer: the cached flags.
    expect(await inPage('window.firstRender')).toEqual({ checkout: false, banner: 'Bonjour', limit: 10, source: 'cache' });
    await server.configure('checkout', { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } });
    await shows('checkout', 'new checkout');
    expect(pageErrors).toEqual([]);
  });

  it('evaluates again when the provider gets another context', async () => {
    await server.configure('checkout', {
      enabled: true,
      offVariation: 'off',
      rules: [{ id: 'north-america', conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], serve: { variation: 'on' } }],
      fallthrough: { variation: 'off' },
    });
    await shows('checkout', 'new checkout');
    await page.click('#switch');
    await shows('banner', 'Hello');
    expect(await text('#checkout')).toBe('old checkout');
    expect(await text('#variant')).toBe('hello');
    const keys = await inPage('JSON.parse(localStorage.getItem(Object.keys(localStorage)[0])).e.length');
    expect(keys).toBe(2);
    expect(pageErrors).toEqual([]);
  });
});
