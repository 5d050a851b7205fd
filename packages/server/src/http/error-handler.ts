import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ApiErrorCode, type ErrorBody } from '@rollgate/contract';
import { isConnectionError } from '../db/database.js';
import { ApiError } from './errors.js';

function send(reply: FastifyReply, request: FastifyRequest, code: ApiErrorCode, message: string, details: Record<string, unknown> = {}): FastifyReply {
  const body: ErrorBody = { code, message, details, requestId: request.id };
  return reply.code(ERROR_CODES[code].status).type('application/json').send(body);
}

/** Maps every error to `{code, message, details, requestId}`; only bugs become 500. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) return send(reply, request, error.code, error.message, error.details);
    const fe = error as FastifyError & { code?: string };
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, request, 'PAYLOAD_TOO_LARGE', `The body is larger than ${bodyLimit} bytes`, { limitBytes: bodyLimit });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, request, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${String(request.headers['content-type'])} is not supported: send application/json`);
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(reply, request, 'INVALID_JSON', 'The body is empty but Content-Type is application/json: send a JSON body');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return send(reply, request, 'INVALID_JSON', `The body is not valid JSON: ${fe.message}`);
      default:
        break;
    }
    if (error instanceof SyntaxError && fe.statusCode === 400) return send(reply, request, 'INVALID_JSON', `The body is not valid JSON: ${error.message}`);
    if ((error as { code?: string }).code === '23505') {
      return send(reply, request, 'ALREADY_EXISTS', 'A resource with that key already exists', { constraint: (error as { constraint?: string }).constraint });
    }
    if (isConnectionError(error)) {
      request.log.error({ err: error }, 'database unavailable');
      return send(reply, request, 'DATABASE_UNAVAILABLE', 'The database cannot be reached; nothing was changed. Retry shortly.');
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return send(reply, request, 'VALIDATION_FAILED', fe.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(reply, request, 'INTERNAL', 'An unexpected error happened; nothing was changed. Report it with the requestId.');
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 'ROUTE_NOT_FOUND', `No endpoint ${request.method} ${request.url.split('?')[0]}: see /docs for the API`, { method: request.method }),
  );
}
