/**
 * Throttling of failed authentication: a bearer token that resolves to no
 * principal (unknown, revoked, a disabled user) counts as a failure of the
 * client address, and of the client address with the token's prefix (its
 * first 12 characters, as stored and shown). Past a limit within a window,
 * every request carrying a token from that address (or that address and
 * prefix) is answered 429 with Retry-After until the window ends, before the
 * token is looked up, so guessing gains no answers. The pair limit throttles
 * one misconfigured client (a revoked token in a loop) without locking out
 * the other clients behind the same address; the address limit stops one
 * client that varies its guesses.
 *
 * The counters live in this process: replicas share nothing, so N replicas
 * allow N times the limit, which is still a few guesses a second.
 */

/** The limits; a limit of 0 turns that one off. */
export interface AuthThrottleOptions {
  /** Failures allowed per client address and token prefix per window. */
  perToken: number;
  /** Failures allowed per client address per window. */
  perAddress: number;
  windowMs: number;
  /** Most counters kept; expired ones are dropped first, then the oldest. */
  maxKeys?: number;
  now?: () => number;
}

/** The length of the token prefix counted on its own, as stored with every token. */
export const TOKEN_PREFIX_LENGTH = 12;

interface Window {
  failures: number;
  resetAt: number;
}

export class AuthThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly options: AuthThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  private keys(address: string, secret: string): { key: string; limit: number }[] {
    return [
      { key: `a\u0000${address}`, limit: this.options.perAddress },
      { key: `t\u0000${address}\u0000${secret.slice(0, TOKEN_PREFIX_LENGTH)}`, limit: this.options.perToken },
    ].filter((k) => k.limit > 0);
  }

  /** Milliseconds until a client at `address` sending `secret` may try again; 0 when it may now. */
  retryAfterMs(address: string, secret: string): number {
    const now = this.now();
    let wait = 0;
    for (const { key, limit } of this.keys(address, secret)) {
      const w = this.windows.get(key);
      if (w !== undefined && w.resetAt > now && w.failures >= limit) wait = Math.max(wait, w.resetAt - now);
    }
    return wait;
  }

  /** Counts one failed authentication of `secret` from `address`. */
  failed(address: string, secret: string): void {
    const now = this.now();
    for (const { key } of this.keys(address, secret)) {
      let w = this.windows.get(key);
      if (w === undefined || w.resetAt <= now) {
        if (w !== undefined) this.windows.delete(key);
        this.makeRoom(now);
        w = { failures: 0, resetAt: now + this.options.windowMs };
        this.windows.set(key, w);
      }
      w.failures++;
    }
  }

  /** Counters held (for tests and /metrics). */
  get size(): number {
    return this.windows.size;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.maxKeys) return;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
    // Still full: forget the oldest windows (insertion order), which end first.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
