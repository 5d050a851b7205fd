/**
 * What request logs must not hold: credentials sent in a URL. Clients
 * sometimes send a token as `?access_token=` (EventSource cannot set
 * headers), and the URL is logged with every request; Rollgate never reads
 * a token from the URL, but the log would keep it.
 */
import type { FastifyRequest } from 'fastify';

const REDACTED = '[redacted]';

/** Query parameters whose value is a credential, whatever it looks like. */
const SECRET_PARAM = /token|secret|password|passwd|api[-_]?key|auth|credential|signature|session/i;

/** A Rollgate token anywhere in the URL: `rg_<kind>_` and its secret. */
const TOKEN = /\b(rg_[a-z]+_)[A-Za-z0-9_-]+/g;

/**
 * `url` (a request target: path and query) with credentials replaced.
 *
 * @example
 * redactUrl('/api/client/stream?access_token=rg_server_abc&x=1'); // '/api/client/stream?access_token=[redacted]&x=1'
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(TOKEN, `$1${REDACTED}`);
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // not decodable: judged as sent
      }
      if (eq >= 0 && SECRET_PARAM.test(name)) return `${rawName}=${REDACTED}`;
      return pair.replace(TOKEN, `$1${REDACTED}`);
    })
    .join('&');
  return `${path}?${query}`;
}

/** The request as logged: Fastify's default fields, with the URL redacted. */
export function logRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
