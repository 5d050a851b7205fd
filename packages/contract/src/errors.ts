/**
 * The error-code registry. Every API error body is `{ code, message, details, requestId }`
 * with a code from here; docs/errors.md lists each one with its cause and fix
 * (a test keeps the two in step).
 */
import { z } from 'zod';

/** One registered error: its HTTP status, and what a user should do about it. */
export interface ErrorDefinition {
  readonly status: number;
  readonly title: string;
  readonly fix: string;
}

export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema', fix: 'Read details.issues: each names the field (path) and what is wrong with it.' },
  INVALID_JSON: { status: 400, title: 'The body is not valid JSON', fix: 'Send a JSON body with Content-Type: application/json.' },
  INVALID_CHARACTER: { status: 400, title: 'A string holds a NUL character or a lone UTF-16 surrogate', fix: 'Send well-formed Unicode text without U+0000 (details.where and details.path say where the string is).' },
  JSON_TOO_DEEP: { status: 400, title: 'The JSON body is nested too deeply', fix: 'Send a body nested at most details.maxDepth levels deep.' },
  INVALID_CONFIGURATION: { status: 400, title: 'The flag, segment, rollout plan or metric definition configuration is not valid', fix: 'Read details.issues: each names the path in the configuration and the problem (unknown variation, unsafe regex, weights that do not sum to 100,000, percentages going backwards, unknown metric or segment, an unknown template placeholder, ...).' },
  UNAUTHENTICATED: { status: 401, title: 'No valid token', fix: 'Send Authorization: Bearer <token> with a token that exists and is not revoked.' },
  FORBIDDEN: { status: 403, title: 'The token may not do this', fix: 'Use a token whose role or scope allows the action (details.required says which).' },
  SELF_APPROVAL: { status: 403, title: 'Authors cannot approve their own change', fix: 'Ask another user with the approver or admin role to approve it.' },
  NOT_FOUND: { status: 404, title: 'No such resource', fix: 'Check the keys or ids in the path; list the parent resource to see what exists.' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint', fix: 'Check the method and path against /openapi.json or /docs.' },
  ALREADY_EXISTS: { status: 409, title: 'A resource with that key already exists', fix: 'Pick another key, or update the existing resource.' },
  VERSION_CONFLICT: { status: 409, title: 'The resource changed since you read it', fix: 'Read the resource again (details.currentVersion), reapply your change, and send it with that version.' },
  INVALID_STATE: { status: 409, title: 'The resource is not in a state that allows this', fix: 'details.state says the current state; act on a resource in the state the action needs.' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The body is larger than the limit', fix: 'Send a smaller body (details.limitBytes), or raise ROLLGATE_BODY_LIMIT.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The body is not JSON', fix: 'Send Content-Type: application/json.' },
  TOO_MANY_AUTH_FAILURES: { status: 429, title: 'Too many failed authentications from this client', fix: 'Wait for the Retry-After seconds, then send a valid token; check that the token is not revoked.' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'The database cannot be reached', fix: 'Retry shortly; check the database server and DATABASE_URL. Nothing was changed.' },
  INTERNAL: { status: 500, title: 'An unexpected error', fix: 'This is a bug: report it with the requestId. Nothing was changed.' },
} as const satisfies Record<string, ErrorDefinition>;

/** A registered error code. */
export type ApiErrorCode = keyof typeof ERROR_CODES;

export const errorBodySchema = z
  .object({
    code: z.enum(Object.keys(ERROR_CODES) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string(),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBodySchema>;
