import { ERROR_CODES, type ApiErrorCode } from '@rollgate/contract';
import type { z } from 'zod';

/**
 * An error the API answers with: a registered code, a message that says what
 * to do, and details. Thrown by services and routes; the error handler turns
 * it into `{ code, message, details, requestId }` with the code's status.
 */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }
}

/** Zod issues as `{ path, message }`, with paths written `a.b[0].c`. */
export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join(''),
    message: issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}` : issue.message,
  }));
}

/**
 * Parses `value` with `schema` or throws VALIDATION_FAILED naming each bad field.
 *
 * @example
 * const body = parseInput(createFlagSchema, request.body, 'body');
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'params'): z.infer<T> {
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!result.success) {
    const issues = zodIssues(result.error);
    const first = issues[0];
    throw new ApiError(
      'VALIDATION_FAILED',
      `Invalid ${where}${first ? `: ${first.path ? `${first.path}: ` : ''}${first.message}` : ''}`,
      { where, issues },
    );
  }
  return result.data;
}

export function notFound(what: string, key: string): ApiError {
  return new ApiError('NOT_FOUND', `No ${what} ${JSON.stringify(key)}`, { resource: what, key });
}

export function versionConflict(what: string, currentVersion: number, current?: unknown): ApiError {
  return new ApiError('VERSION_CONFLICT', `The ${what} changed since version you sent; it is now at version ${currentVersion}. Read it again and reapply your change.`, {
    currentVersion,
    ...(current === undefined ? {} : { current }),
  });
}
