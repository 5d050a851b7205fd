/**
 * JSON request bodies: an empty body sent with `Content-Type:
 * application/json` reads as no body (the input guard's parser), so actions
 * whose fields are all optional accept it; a route that needs fields still
 * answers 400 VALIDATION_FAILED naming them.
 */
import type { z } from 'zod';

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
