/**
 * The one storage interface. PGlite (embedded) and PostgreSQL (`pg` pool) both
 * implement it and run the same SQL.
 */

/** Something that runs SQL: the database, or one transaction. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of one or more statements, without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** Connection pool figures, for /metrics. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while holding a session-level advisory lock, on one connection.
   * Replicas starting together serialise on it (migrations, bootstrap).
   */
  withAdvisoryLock<T>(key: number, fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` only if the session-level advisory lock `key` is free: the lock
   * is held on one connection while `fn` runs, and released after. When another
   * session holds it, resolves to `{ acquired: false }` at once (leader election).
   */
  tryAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<{ acquired: true; result: T } | { acquired: false }>;
  /** Subscribes to NOTIFY on `channel`; resolves to an unsubscribe function. Reconnects by itself. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  stats(): PoolStats;
  /** The embedded database's WASM heap in bytes (PGlite only; it grows and never shrinks). */
  embeddedMemoryBytes?(): number;
  close(): Promise<void>;
}

/** Advisory lock keys (one namespace for the whole application). */
export const LOCKS = {
  migrations: 7_240_001,
  bootstrap: 7_240_002,
  /** Held by the replica whose rollout controller decides this tick. */
  rolloutController: 7_240_003,
} as const;

/** The NOTIFY channel for snapshot changes; payload `{"environmentId":..., "snapshotVersion":...}`. */
export const CHANGES_CHANNEL = 'rollgate_changes';
/** The NOTIFY channel for token and user changes that must drop cached token lookups on every replica. */
export const TOKENS_CHANNEL = 'rollgate_tokens';

/** Errors that mean the database cannot be reached (as opposed to a bad query). */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P0)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code))) {
    return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|PGlite is closed/i.test(message);
}
