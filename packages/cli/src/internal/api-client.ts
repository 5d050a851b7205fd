/**
 * A thin HTTP client of the Rollgate API. Every failure becomes a CliError
 * whose message says what to do and whose exit code says what kind it is.
 */
import { CliError, EXIT, type ExitCode } from './errors.js';

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
  requestId?: string;
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ApiErrorBody).code === 'string' && typeof (value as ApiErrorBody).message === 'string';
}

function exitCodeOf(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.failed;
}

/** The issues of a validation error, one line each ("path: message"). */
function issueLines(details: unknown): string[] {
  const issues = (details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.slice(0, 20).map((i: { path?: unknown; message?: unknown }) => {
    const path = Array.isArray(i.path) ? i.path.join('.') : typeof i.path === 'string' ? i.path : '';
    return `  ${path === '' ? '(body)' : path}: ${String(i.message)}`;
  });
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get<T = unknown>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request<T>('GET', qs === '' ? path : `${path}?${qs}`);
  }

  post<T = unknown>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  patch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Every item of a paged list (`{items, nextCursor?}` answers). */
  async all<T = unknown>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const res = await this.get<{ items: T[]; nextCursor?: string | null }>(path, { ...query, limit: query.limit ?? 100, ...(cursor === undefined ? {} : { cursor }) });
      items.push(...res.items);
      if (res.nextCursor === undefined || res.nextCursor === null || res.nextCursor === '') return items;
      cursor = res.nextCursor;
    }
    return items;
  }

  async request<T>(method: string, path: string, body?: unknown, token = this.token): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the Rollgate server at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (e as Error).message}). Start it with "rollgate start", or point the command at it with --url or ROLLGATE_URL.`,
        EXIT.unreachable,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = text;
      }
    }
    if (res.ok) return parsed as T;
    if (isErrorBody(parsed)) {
      let hint = '';
      if (res.status === 401) hint = token === undefined ? ' Log in first: rollgate login --url <server> --token <admin token>, or pass --token / set ROLLGATE_TOKEN.' : ' The token is unknown or revoked: run rollgate login with a valid admin token.';
      else if (res.status === 403) hint = ' Use a token whose role allows this.';
      const lines = [`${parsed.message} [${parsed.code}]${hint}`, ...issueLines(parsed.details)];
      throw new CliError(lines.join('\n'), exitCodeOf(res.status), parsed);
    }
    throw new CliError(`${method} ${path} answered ${res.status} ${res.statusText}`, exitCodeOf(res.status), parsed);
  }
}
