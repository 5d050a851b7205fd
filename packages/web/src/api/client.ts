import type { ApiErrorBody } from './types.js';

/** An API answer that is not a success: the registered code, message and details (docs/errors.md). */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }

  /** Validation messages by field path (`rules[0].conditions[1].values`), for showing them at the field. */
  fieldMessages(): Map<string, string> {
    const out = new Map<string, string>();
    const issues = (this.body.details as { issues?: { path?: string; message?: string }[] }).issues ?? [];
    for (const issue of issues) if (issue.message !== undefined) out.set(issue.path ?? '', issue.message);
    return out;
  }
}

let csrfToken: string | undefined;

/** Sets the session's CSRF token that every write sends (GET /api/session returns it). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/**
 * The one HTTP client of the dashboard. Same-origin requests carry the
 * httpOnly session cookie; writes add the CSRF token.
 *
 * @example
 * const overview = await api<Overview>('GET', '/api/dashboard/overview');
 */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) {
    const error = (parsed ?? { code: 'INTERNAL', message: `HTTP ${res.status}`, details: {}, requestId: '' }) as ApiErrorBody;
    throw new ApiRequestError(res.status, error);
  }
  return parsed as T;
}

/** A path segment, escaped. */
export const seg = (s: string): string => encodeURIComponent(s);
