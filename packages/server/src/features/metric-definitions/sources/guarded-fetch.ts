/**
 * A `fetch` for the JSON client of HTTP JSON metric sources that connects
 * only where an {@link AddressPolicy} allows: a GET over node:http(s) whose
 * socket lookup applies the policy, so the address checked is the address
 * connected to. Bodies are read up to `maxBytes` (one more byte tells the
 * client it was too large); redirects are returned, never followed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkLiteral, type AddressPolicy } from './address-policy.js';

const NO_BODY = new Set([101, 103, 204, 205, 304]);

function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * @example
 * const client = jsonClient({ fetch: guardedFetch(addressPolicy(config.metricSourceAllow)) });
 */
export function guardedFetch(policy: AddressPolicy, maxBytes = 5 * 1024 * 1024): typeof globalThis.fetch {
  const get = (input: URL, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      try {
        checkLiteral(policy, input.hostname);
      } catch (error) {
        reject(error);
        return;
      }
      const request = input.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(input, { method: 'GET', headers, lookup: policy.lookup, agent: false, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const status = res.statusCode ?? 502;
          const body = NO_BODY.has(status) ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status: status < 200 || status > 599 ? 502 : status, headers: headersOf(res) }));
        };
        res.on('data', (chunk: Buffer) => {
          if (size > maxBytes) return;
          size += chunk.length;
          chunks.push(chunk);
          if (size > maxBytes) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', (error) => {
          if (size <= maxBytes) reject(error);
        });
      });
      req.on('error', reject);
      req.end();
    });
  return get as unknown as typeof globalThis.fetch;
}
