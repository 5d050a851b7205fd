/**
 * The SDK's HTTP: one GET over node:http / node:https with a timeout, and the
 * retry delay (exponential backoff with full jitter).
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

export interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function createAgents(): Agents {
  return { http: new HttpAgent({ keepAlive: true, maxSockets: 4 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 4 }) };
}

/** Starts a GET; `onResponse` receives the response head. The caller owns the request (abort it with destroy()). */
export function startGet(url: URL, headers: OutgoingHttpHeaders, agent: HttpAgent | HttpsAgent | false, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, { method: 'GET', headers, agent }, onResponse);
  req.end();
  return req;
}

export interface GetResult {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A GET whose whole body is read; rejects on a network error or after `timeoutMs` without an answer. */
export function get(url: URL, headers: OutgoingHttpHeaders, agents: Agents, timeoutMs: number, track?: (req: ClientRequest) => () => void): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const agent = url.protocol === 'https:' ? agents.https : agents.http;
    let untrack = () => {};
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      untrack();
    };
    const req = startGet(url, headers, agent, (res) => {
      res.setEncoding('utf8');
      let body = '';
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        done();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', (error) => {
        done();
        reject(error);
      });
    });
    req.on('error', (error) => {
      done();
      reject(error);
    });
    if (track !== undefined) untrack = track(req);
  });
}

export { backoffDelay } from './internal/backoff.js';

/** A POST of a JSON body whose whole answer is read; rejects on a network error or after `timeoutMs` without an answer. */
export function postJson(url: URL, headers: OutgoingHttpHeaders, body: string, agents: Agents, timeoutMs: number): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const agent = url.protocol === 'https:' ? agents.https : agents.http;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = Buffer.from(body, 'utf8');
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length }, agent }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}
