/**
 * A loopback HTTP proxy for the SDK's tests: the client keeps one URL while
 * the server behind it is killed and restarted on another port. It records
 * every request (path, status, token prefix). While it has no target, or the
 * target refuses, it drops the client's connection, as a dead server would.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  status: number | undefined;
  token: string;
  at: number;
}

export interface TestProxy {
  url: string;
  /** The server requests go to; undefined drops every connection. */
  target: string | undefined;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

export async function startProxy(target: string | undefined): Promise<TestProxy> {
  const open = new Set<ServerResponse>();
  const proxy: TestProxy = {
    url: '',
    target,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', status: undefined, token: (req.headers.authorization ?? '').slice(7, 30), at: Date.now() };
    proxy.requests.push(record);
    if (proxy.target === undefined) {
      req.socket.destroy();
      return;
    }
    open.add(res);
    res.on('close', () => open.delete(res));
    const upstream = request(new URL(req.url ?? '/', proxy.target), { method: req.method, headers: req.headers, agent: false }, (up) => {
      record.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.headers);
      res.flushHeaders();
      up.pipe(res);
      up.on('close', () => {
        if (!up.complete) res.destroy();
      });
    });
    upstream.on('error', () => req.socket.destroy());
    // The client went away (res closes; req's own 'close' only means its body was read).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
