/**
 * The stream protocol against a scripted loopback server: change events
 * applied in order, an `environment` change refetching the snapshot, and
 * Last-Event-ID on reconnect.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlagConfig, Snapshot } from '@rollgate/core';
import { booleanFlag } from './fixtures.test-helpers.js';
import { createClient, type RollgateClient, type UpdateEvent } from './index.js';

const flag = (key: string, on: boolean): FlagConfig => booleanFlag(key, { fallthrough: { variation: on ? 'on' : 'off' } });

let server: Server | undefined;
let client: RollgateClient | undefined;
afterEach(async () => {
  client?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

interface Script {
  snapshot: Snapshot;
  streams: { lastEventId: string | undefined; res: ServerResponse }[];
  snapshotGets: number;
}

async function scripted(snapshot: Snapshot): Promise<{ url: string; script: Script }> {
  const script: Script = { snapshot, streams: [], snapshotGets: 0 };
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/api/client/snapshot') {
      script.snapshotGets++;
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${script.snapshot.version}"` });
      res.end(JSON.stringify(script.snapshot));
      return;
    }
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    script.streams.push({ lastEventId, res });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (lastEventId === undefined) res.write(`event: snapshot\nid: ${script.snapshot.version}\ndata: ${JSON.stringify(script.snapshot)}\n\n`);
    else res.flushHeaders();
  });
  await new Promise<void>((r) => (server as Server).listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${((server as Server).address() as AddressInfo).port}`, script };
}

function updates(c: RollgateClient, n: number): Promise<UpdateEvent[]> {
  const seen: UpdateEvent[] = [];
  return new Promise((resolve) => {
    c.on('update', (e) => {
      seen.push(e);
      if (seen.length === n) resolve(seen);
    });
  });
}

describe('the stream protocol', () => {
  it('applies change events in order, refetches on an environment change, resumes with Last-Event-ID', async () => {
    const { url, script } = await scripted({ environment: 'production', version: 1, flags: [flag('a', false), flag('b', true)], segments: [] });
    client = createClient({ url, token: 't', logger: {}, reconnectBaseMs: 20, reconnectMaxMs: 50 });
    await client.ready(5_000);
    expect(client.isEnabled('a', {})).toBe(false);
    const stream = script.streams[0]?.res as ServerResponse;

    const two = updates(client, 2);
    stream.write(`event: change\nid: 2\ndata: ${JSON.stringify({ version: 2, changes: [{ type: 'flag', key: 'a', removed: false, flag: flag('a', true) }] })}\n\n`);
    stream.write(`event: change\nid: 3\ndata: ${JSON.stringify({ version: 3, changes: [{ type: 'flag', key: 'b', removed: true }] })}\n\n`);
    // An old event is ignored.
    stream.write(`event: change\nid: 2\ndata: ${JSON.stringify({ version: 2, changes: [{ type: 'flag', key: 'a', removed: false, flag: flag('a', false) }] })}\n\n`);
    expect((await two).map((e) => [e.version, e.changedFlags])).toEqual([
      [2, ['a']],
      [3, ['b']],
    ]);
    expect(client.isEnabled('a', {})).toBe(true);
    expect(client.evaluate('b', {}, false).errorCode).toBe('FLAG_NOT_FOUND');
    expect(script.snapshotGets).toBe(0);

    script.snapshot = { environment: 'production', version: 5, flags: [flag('a', true), flag('c', true)], segments: [] };
    const refetched = updates(client, 1);
    stream.write(`event: change\nid: 5\ndata: ${JSON.stringify({ version: 5, changes: [{ type: 'environment', key: 'production', removed: false }] })}\n\n`);
    expect((await refetched)[0]).toEqual({ version: 5, changedFlags: ['c'] });
    expect(script.snapshotGets).toBe(1);
    expect(client.isEnabled('c', {})).toBe(true);

    const stale = new Promise((r) => client?.once('stale', r));
    stream.destroy();
    await stale;
    await new Promise<void>((resolve) => {
      const check = () => (script.streams.length >= 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(script.streams[1]?.lastEventId).toBe('5');
    await new Promise((r) => setTimeout(r, 50));
    expect(client.stale).toBe(false);
  });
});
