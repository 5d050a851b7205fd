import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readHttpJson, type HttpSourceConfig } from './http-json-source.js';
import { jsonClient, SourceError } from './json-client.js';
import type { ReadRequest } from './reading.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const REQ: ReadRequest = {
  metric: 'checkout-errors',
  kind: 'ratio',
  projectKey: 'shop',
  flagKey: 'new-checkout',
  environmentKey: 'production',
  stageStartedAt: T0,
  now: T0 + 90 * 60_000,
};

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A stats service: answers per path, and records what it was asked. */
class StatsServer {
  server: Server | undefined;
  base = '';
  requests: { url: string; headers: IncomingHttpHeaders }[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      switch (url.pathname) {
        case '/errors': {
          // Per cohort: 3.5% of 1200 in the treatment, 1.25% of 800 in the control.
          const cohort = url.searchParams.get('cohort');
          if (cohort !== 'treatment' && cohort !== 'control') return json(400, { error: 'cohort?' });
          return json(200, { data: { items: [{ value: cohort === 'treatment' ? 3.5 : 1.25, count: cohort === 'treatment' ? 1200 : 800 }] } });
        }
        case '/both':
          return json(200, { treatment: { p95: 420, n: 5000 }, control: { p95: 380, n: 4800 } });
        case '/secured':
          return req.headers.authorization === 'Bearer t0ken' ? json(200, { value: 42 }) : json(401, { error: 'unauthorized' });
        case '/slow':
          setTimeout(() => json(200, { value: 1 }), 2000).unref();
          return;
        case '/fail':
          return json(500, { value: 3 });
        case '/html':
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>oops</html>');
        case '/redirect':
          res.writeHead(302, { location: '/errors?cohort=treatment' });
          return res.end();
        case '/values':
          return json(200, { text: '3.2', nothing: null, nan: 'NaN', list: [1], zero: 0, negative: -5 });
        default:
          return json(404, {});
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('the HTTP JSON source', () => {
  const stats = new StatsServer();
  const client = jsonClient();
  const source = (changes: Partial<HttpSourceConfig>): HttpSourceConfig => ({ type: 'http', url: `${stats.base}/values`, valuePath: 'zero', ...changes });
  let closedPort = 0;
  beforeAll(async () => {
    await stats.start();
    closedPort = await freePort();
  });
  afterAll(() => stats.stop());
  beforeEach(() => {
    stats.requests = [];
  });

  it('reads each cohort at its URL, with the value and samples at their paths and the placeholders filled', async () => {
    const reading = await readHttpJson(
      source({
        url: `${stats.base}/errors?cohort={{cohort}}&flag={{flag}}&env={{environment}}&project={{project}}&window={{window}}&from={{from}}&to={{to}}`,
        valuePath: 'data.items[0].value',
        samplesPath: '$.data.items[0]["count"]',
      }),
      REQ,
      client,
    );
    expect(reading.problems).toEqual([]);
    expect(reading.observation).toEqual({ treatment: { value: 3.5, samples: 1200 }, control: { value: 1.25, samples: 800 } });
    const asked = stats.requests.map((r) => new URL(r.url, 'http://x').searchParams).sort((a, b) => String(a.get('cohort')).localeCompare(String(b.get('cohort'))));
    expect(asked.map((p) => Object.fromEntries(p))).toEqual([
      { cohort: 'control', flag: 'new-checkout', env: 'production', project: 'shop', window: '90m', from: '2025-03-01T10:00:00.000Z', to: '2025-03-01T11:30:00.000Z' },
      { cohort: 'treatment', flag: 'new-checkout', env: 'production', project: 'shop', window: '90m', from: '2025-03-01T10:00:00.000Z', to: '2025-03-01T11:30:00.000Z' },
    ]);
  });

  it('fetches a URL both cohorts share once, with {{cohort}} in the paths', async () => {
    const reading = await readHttpJson(source({ url: `${stats.base}/both`, valuePath: '{{cohort}}.p95', samplesPath: "['{{cohort}}'].n" }), REQ, client);
    expect(reading).toEqual({ observation: { treatment: { value: 420, samples: 5000 }, control: { value: 380, samples: 4800 } }, problems: [] });
    expect(stats.requests).toHaveLength(1);
  });

  it('gives a value without {{cohort}} to the treatment only, with unknown samples (1)', async () => {
    const reading = await readHttpJson(source({ url: `${stats.base}/both`, valuePath: 'treatment.p95' }), REQ, client);
    expect(reading).toEqual({ observation: { treatment: { value: 420, samples: 1 } }, problems: [] });
  });

  it('sends the headers', async () => {
    expect((await readHttpJson(source({ url: `${stats.base}/secured`, valuePath: 'value', headers: { Authorization: 'Bearer t0ken', 'X-Team': 'checkout' } }), REQ, client)).observation).toEqual({
      treatment: { value: 42, samples: 1 },
    });
    expect(stats.requests[0]?.headers).toMatchObject({ authorization: 'Bearer t0ken', 'x-team': 'checkout', accept: 'application/json' });
    // Without them: 401, no data.
    const refused = await readHttpJson(source({ url: `${stats.base}/secured`, valuePath: 'value' }), REQ, client);
    expect(refused.observation).toBeUndefined();
    expect(refused.problems).toEqual([{ cohort: 'treatment', message: `${stats.base}/secured answered 401` }]);
  });

  it('has no data (never zero, never a pass) on a timeout, an error status, a body that is not JSON, or a redirect', async () => {
    const cases: [string, Partial<HttpSourceConfig>, string | RegExp][] = [
      ['timeout', { url: `${stats.base}/slow`, valuePath: 'value', timeoutMs: 200 }, `no answer from ${stats.base}/slow: the connection failed or no answer came within 200 ms`],
      ['500', { url: `${stats.base}/fail`, valuePath: 'value' }, `${stats.base}/fail answered 500`],
      ['not JSON', { url: `${stats.base}/html`, valuePath: 'value' }, `${stats.base}/html answered 200 with a body that is not JSON`],
      ['redirect', { url: `${stats.base}/redirect?secret=abc`, valuePath: 'value' }, /answered 302, a redirect \(not followed/],
      ['unreachable', { url: `http://127.0.0.1:${closedPort}/values`, valuePath: 'value' }, `no answer from http://127.0.0.1:${closedPort}/values: the connection failed or no answer came within 5000 ms`],
    ];
    for (const [what, changes, message] of cases) {
      const started = performance.now();
      const reading = await readHttpJson(source(changes), REQ, client);
      expect(reading.observation, what).toBeUndefined();
      expect(reading.problems, what).toHaveLength(1);
      expect(reading.problems[0]?.message, what).toMatch(message);
      // The query string (which may hold secrets) is never in a message.
      expect(reading.problems[0]?.message, what).not.toContain('secret=');
      if (what === 'timeout') expect(performance.now() - started).toBeLessThan(1900);
    }
  });

  it('has no data when the value is not a finite JSON number, or the samples configured cannot be read', async () => {
    const cases: [Partial<HttpSourceConfig>, string][] = [
      [{ valuePath: 'text' }, 'the value at text is a string, not a finite number'],
      [{ valuePath: 'nothing' }, 'the value at nothing is null, not a finite number'],
      [{ valuePath: 'nan' }, 'the value at nan is a string, not a finite number'],
      [{ valuePath: 'list' }, 'the value at list is an array, not a finite number'],
      [{ valuePath: 'missing.deeper' }, 'the value at missing.deeper is missing, not a finite number'],
      [{ valuePath: 'zero', samplesPath: 'text' }, 'the samples at text is a string, not a finite number'],
      [{ valuePath: 'zero', samplesPath: 'negative' }, 'the samples at negative are -5, a negative count'],
    ];
    for (const [changes, message] of cases) {
      const reading = await readHttpJson(source(changes), REQ, client);
      expect(reading, JSON.stringify(changes)).toEqual({ observation: undefined, problems: [{ cohort: 'treatment', message }] });
    }
    // Zero is a value like any other.
    expect((await readHttpJson(source({ valuePath: 'zero' }), REQ, client)).observation).toEqual({ treatment: { value: 0, samples: 1 } });
  });

  it('keeps the cohort that could be read when the other could not', async () => {
    const reading = await readHttpJson(source({ url: `${stats.base}/both`, valuePath: '{{cohort}}.p95', samplesPath: '{{cohort}}.missing' }), REQ, client);
    expect(reading.observation).toBeUndefined();
    expect(reading.problems.map((p) => p.cohort).sort()).toEqual(['control', 'treatment']);
    const half = await readHttpJson(source({ url: `${stats.base}/errors?cohort={{cohort}}`, valuePath: 'data.items[0].value', samplesPath: 'data.items[0].count' }), { ...REQ }, client);
    expect(half.observation?.treatment).toEqual({ value: 3.5, samples: 1200 });
  });
});

describe('the JSON client', () => {
  it('stops asking an origin that failed to answer three times in a row, for a while', async () => {
    let calls = 0;
    let now = 1_000_000;
    const failing = (async () => {
      calls++;
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as unknown as typeof fetch;
    const client = jsonClient({ fetch: failing, now: () => now, failuresBeforePause: 3, pauseMs: 15_000 });
    const url = new URL('http://prometheus.internal:9090/api/v1/query?query=up');
    for (let i = 0; i < 3; i++) await expect(client.get(url, {}, 1000)).rejects.toThrow('no answer from http://prometheus.internal:9090/api/v1/query: the connection failed');
    expect(calls).toBe(3);
    await expect(client.get(url, {}, 1000)).rejects.toThrow(SourceError);
    await expect(client.get(url, {}, 1000)).rejects.toThrow('did not answer 3 times in a row; not asked again for 15 s');
    expect(calls).toBe(3);
    now += 15_001;
    await expect(client.get(url, {}, 1000)).rejects.toThrow('no answer from');
    expect(calls).toBe(4);
  });
});
