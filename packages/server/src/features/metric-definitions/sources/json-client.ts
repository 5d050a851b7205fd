/**
 * GET of JSON documents for the external metric sources: a timeout per
 * request, no redirects (headers may carry credentials), a size limit, and a
 * short pause for an origin that keeps failing to answer, so that a dead or
 * hanging Prometheus costs one timeout, not one per rollout and metric.
 *
 * Messages name the origin and path only: a URL's query may hold anything.
 */
import { ADDRESS_REFUSED } from './address-policy.js';

/** Why a source has no data; the message is shown to people and logged. */
export class SourceError extends Error {}

/** A JSON document and the status it came with. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

export interface JsonClient {
  /**
   * GETs `url`; throws SourceError when no JSON answer comes within
   * `timeoutMs`. A JSON answer is returned whatever its status (Prometheus
   * explains errors in JSON).
   */
  get(url: URL, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<JsonResponse>;
}

export interface JsonClientOptions {
  fetch?: typeof globalThis.fetch;
  /** Wall-clock time in ms (the pause of failing origins). */
  now?: () => number;
  /** Failed connections or timeouts in a row after which an origin is paused. Default 3. */
  failuresBeforePause?: number;
  /** How long a failing origin is paused. Default 15 s. */
  pauseMs?: number;
  /** Largest body read. Default 5 MiB. */
  maxBytes?: number;
}

/** Where a URL points, without its query (which may hold secrets). */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * The one text of every failure to get an answer (refused, reset, timed out,
 * no such host, not HTTP): telling them apart would let whoever writes a
 * source's URL scan ports and hosts the server can reach.
 */
export function noAnswer(where: string, timeoutMs: number): string {
  return `no answer from ${where}: the connection failed or no answer came within ${timeoutMs} ms`;
}

/**
 * A JSON client over `fetch`.
 *
 * @example
 * const { status, body } = await jsonClient().get(new URL('http://prometheus:9090/api/v1/query?query=up'), {}, 5000);
 */
export function jsonClient(options: JsonClientOptions = {}): JsonClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const failuresBeforePause = options.failuresBeforePause ?? 3;
  const pauseMs = options.pauseMs ?? 15_000;
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const origins = new Map<string, { failures: number; pausedUntil: number }>();

  const failed = (origin: string): void => {
    const health = origins.get(origin) ?? { failures: 0, pausedUntil: 0 };
    health.failures++;
    if (health.failures >= failuresBeforePause) health.pausedUntil = now() + pauseMs;
    origins.set(origin, health);
  };

  return {
    async get(url, headers, timeoutMs) {
      const where = describeUrl(url);
      const health = origins.get(url.origin);
      if (health !== undefined && health.pausedUntil > now()) {
        throw new SourceError(`${url.origin} did not answer ${health.failures} times in a row; not asked again for ${Math.ceil((health.pausedUntil - now()) / 1000)} s`);
      }
      let response: Response;
      let text: string;
      try {
        response = await doFetch(url, { headers: { accept: 'application/json', ...headers }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        const length = Number(response.headers.get('content-length') ?? '0');
        if (length > maxBytes) {
          await response.body?.cancel();
          throw new SourceError(`${where} answered ${length} bytes, more than the ${maxBytes} read`);
        }
        text = await response.text();
      } catch (error) {
        if (error instanceof SourceError) throw error;
        if ((error as { code?: unknown }).code === ADDRESS_REFUSED) {
          throw new SourceError(`${where} is not reachable for metric sources: it is a loopback, private or link-local address (ROLLGATE_METRIC_SOURCE_ALLOW lists those allowed)`);
        }
        failed(url.origin);
        throw new SourceError(noAnswer(where, timeoutMs));
      }
      origins.delete(url.origin);
      if (response.status >= 300 && response.status < 400) throw new SourceError(`${where} answered ${response.status}, a redirect (not followed: point the source at the final URL)`);
      if (text.length > maxBytes) throw new SourceError(`${where} answered more than the ${maxBytes} bytes read`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new SourceError(response.ok ? `${where} answered ${response.status} with a body that is not JSON` : `${where} answered ${response.status}`);
      }
      return { status: response.status, body };
    },
  };
}
