/**
 * JSON request bodies. An empty body sent with `Content-Type:
 * application/json` (what many HTTP clients send for a POST without data)
 * reads as no body, so actions whose fields are all optional accept it; a
 * route that needs fields still answers 400 VALIDATION_FAILED naming them.
 * Anything else goes through Fastify's own JSON parser (prototype-poisoning
 * protection included).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

/** Replaces the JSON parser with one that reads an empty body as no body. */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parse(request, text, done);
  });
}

/**
 * The body a route's schema reads: no body at all counts as `{}` when the
 * schema accepts that (every field optional), so `POST .../resume` needs no `{}`.
 *
 * @example
 * bodyOrEmpty(rolloutCommentSchema, undefined); // {}
 */
export function bodyOrEmpty(schema: z.ZodType, body: unknown): unknown {
  if (body !== undefined || schema.safeParse(undefined).success) return body;
  return schema.safeParse({}).success ? {} : body;
}
