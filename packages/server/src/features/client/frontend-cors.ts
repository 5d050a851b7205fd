import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../http/errors.js';

/** Routes under this prefix are called from browsers, on other origins. */
export const FRONTEND_PREFIX = '/api/frontend/';

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type';
const EXPOSE_HEADERS = 'X-Request-Id, ETag';
const MAX_AGE_SECONDS = '600';

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

function isSameOrigin(request: FastifyRequest, origin: string): boolean {
  return normalizeOrigin(origin) === `${request.protocol}://${request.host}`.toLowerCase();
}

/**
 * CORS for the frontend API only (browser tokens): requests from an allowed
 * origin get Access-Control-Allow-Origin, preflights (OPTIONS) are answered
 * with the methods and headers the API takes (Authorization, Content-Type).
 * A request from an origin that is not allowed is refused with 403, so a
 * misconfiguration shows up as an error that names the origin instead of an
 * opaque browser failure. `['*']` (the default) allows every origin.
 *
 * @example
 * registerFrontendCors(app, ['https://shop.example.com']);
 */
export function registerFrontendCors(app: FastifyInstance, corsOrigins: readonly string[]): void {
  const anyOrigin = corsOrigins.includes('*');
  const allowed = new Set(corsOrigins.map(normalizeOrigin));
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith(FRONTEND_PREFIX)) return;
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (!anyOrigin) reply.header('vary', 'Origin');
    if (!anyOrigin && !allowed.has(normalizeOrigin(origin))) {
      if (isSameOrigin(request, origin)) return;
      throw new ApiError('FORBIDDEN', `The origin ${origin} may not call the frontend API; add it to ROLLGATE_CORS_ORIGINS`, { origin });
    }
    reply.header('access-control-allow-origin', anyOrigin ? '*' : origin);
    reply.header('access-control-expose-headers', EXPOSE_HEADERS);
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', ALLOW_METHODS);
      reply.header('access-control-allow-headers', ALLOW_HEADERS);
      reply.header('access-control-max-age', MAX_AGE_SECONDS);
    }
  });
  // Preflights carry no token: answered here, with the headers set above.
  app.route({
    method: 'OPTIONS',
    url: `${FRONTEND_PREFIX}*`,
    handler: async (_request, reply) => reply.code(204).send(),
  });
}
