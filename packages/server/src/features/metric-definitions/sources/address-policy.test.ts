import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config.js';
import { addressPolicy, isPublicAddress } from './address-policy.js';
import { guardedFetch } from './guarded-fetch.js';
import { jsonClient } from './json-client.js';

describe('the address policy of HTTP JSON metric sources', () => {
  it('allows public unicast addresses only, unless listed', () => {
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111']) expect(isPublicAddress(a), a).toBe(true);
    for (const a of ['127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    const policy = addressPolicy(['10.20.0.0/16', '192.168.1.7', 'Metrics.Internal', 'fd00::/8']);
    expect(policy.allows('x.example', '10.20.3.4')).toBe(true);
    expect(policy.allows('x.example', '10.21.3.4')).toBe(false);
    expect(policy.allows('x.example', '192.168.1.7')).toBe(true);
    expect(policy.allows('metrics.internal.', '127.0.0.1')).toBe(true);
    expect(policy.allows('x.example', 'fd12::1')).toBe(true);
    expect(policy.allows('x.example', '::ffff:10.20.0.9')).toBe(true);
  });

  it('is configured by ROLLGATE_METRIC_SOURCE_ALLOW', () => {
    expect(loadConfig({}).metricSourceAllow).toEqual([]);
    expect(loadConfig({ ROLLGATE_METRIC_SOURCE_ALLOW: 'metrics.internal, 10.0.0.0/8,::1' }).metricSourceAllow).toEqual(['metrics.internal', '10.0.0.0/8', '::1']);
    for (const bad of ['10.0.0.0/40', 'http://metrics', '999.1.1.1', 'a b']) expect(() => loadConfig({ ROLLGATE_METRIC_SOURCE_ALLOW: bad }), bad).toThrow(ConfigError);
  });
});

describe('the guarded JSON client', () => {
  let stats: Server;
  let silent: TcpServer;
  const sockets: Socket[] = [];
  let port = 0;
  let silentPort = 0;
  let closedPort = 0;

  const listen = async (server: Server | TcpServer): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  beforeAll(async () => {
    stats = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: 42, pad: 'x'.repeat(2000) }));
    });
    port = await listen(stats);
    // Accepts connections and never answers: a port that is open but speaks no HTTP.
    silent = createTcpServer((socket) => sockets.push(socket));
    silentPort = await listen(silent);
    const closed = createServer();
    closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    stats.closeAllConnections();
    await new Promise<void>((resolve) => stats.close(() => resolve()));
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('refuses loopback, private and link-local addresses by default, by IP literal or by a name resolving there, without connecting', async () => {
    let connections = 0;
    stats.on('connection', () => connections++);
    const client = jsonClient({ fetch: guardedFetch(addressPolicy()) });
    for (const url of [`http://127.0.0.1:${port}/v`, `http://localhost:${port}/v`, `http://[::ffff:127.0.0.1]:${port}/v`, 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/v', 'http://10.0.0.1:9/v']) {
      await expect(client.get(new URL(url), {}, 500), url).rejects.toThrow('is not reachable for metric sources: it is a loopback, private or link-local address');
    }
    expect(connections).toBe(0);
  });

  it('reaches an allowed address, by range or by host name, and caps what it reads', async () => {
    const byRange = jsonClient({ fetch: guardedFetch(addressPolicy(['127.0.0.0/8'])) });
    expect(await byRange.get(new URL(`http://127.0.0.1:${port}/v`), {}, 2000)).toMatchObject({ status: 200, body: { value: 42 } });
    const byName = jsonClient({ fetch: guardedFetch(addressPolicy(['localhost'])) });
    expect((await byName.get(new URL(`http://localhost:${port}/v`), {}, 2000)).body).toMatchObject({ value: 42 });
    const small = jsonClient({ fetch: guardedFetch(addressPolicy(['127.0.0.1']), 100), maxBytes: 100 });
    await expect(small.get(new URL(`http://127.0.0.1:${port}/v`), {}, 2000)).rejects.toThrow('more than the 100 bytes read');
  });

  it('gives one text for a closed port, a port that never answers and a host that does not exist', async () => {
    const client = jsonClient({ fetch: guardedFetch(addressPolicy(['127.0.0.1', 'rollgate-test.invalid'])), failuresBeforePause: 100 });
    const messageOf = async (url: string) => (await client.get(new URL(url), {}, 300).then(() => 'answered', (e: Error) => e.message)).replace(url, '<url>');
    const messages = new Set([await messageOf(`http://127.0.0.1:${closedPort}/v`), await messageOf(`http://127.0.0.1:${silentPort}/v`), await messageOf('http://rollgate-test.invalid/v')]);
    expect([...messages]).toEqual(['no answer from <url>: the connection failed or no answer came within 300 ms']);
  });
});
