/**
 * @rollgate/sdk/browser: the browser SDK. The server evaluates the flags for
 * one context (POST /api/frontend/evaluate with a browser token), so no
 * targeting rule reaches the browser; the client holds that answer, serves it
 * synchronously, caches it in localStorage so the next page load starts from
 * it at once, evaluates again when the context changes, and follows changes
 * (GET /api/frontend/stream, else polling). See docs/sdk.md, "Browser SDK".
 *
 * This entry stays small: no node: modules, not the core evaluator, not the
 * server client (a test checks the bundle).
 */
import type { ErrorCode, EvaluationContext, JsonValue, Reason } from '@rollgate/core';
import { AnswerCache, defaultStorage, type CachedAnswer, type StorageLike } from './internal/answer-cache.js';
import { backoffDelay } from './internal/backoff.js';
import { Emitter } from './internal/emitter.js';
import { contextKeyOf, isFrontendEvaluation, isRecord, typeMatches, type FrontendEvaluation, type FrontendFlagResult } from './internal/frontend-evaluation.js';
import type { ConnectionOptions } from './internal/connection-options.js';
import { consoleLogger, type Logger } from './internal/logger.js';
import { SseParser } from './sse-parser.js';

export type { EvaluationContext, JsonValue, Reason } from '@rollgate/core';
export type { FrontendEvaluation, FrontendFlagResult } from './internal/frontend-evaluation.js';
export type { StorageLike } from './internal/answer-cache.js';
export type { Logger } from './internal/logger.js';

export interface BrowserClientOptions extends ConnectionOptions {
  /** The Rollgate server's base URL, e.g. `https://rollgate.example.com`. */
  url: string;
  /** A browser token (`rg_browser_...`), scoped to one project and environment. It is public: it can only evaluate. */
  token: string;
  /** The context to evaluate for (change it later with `setContext`). Default `{}`. */
  context?: EvaluationContext;
  /** Only these flags (default: all the environment's flags). */
  flags?: readonly string[];
  /** Where the last answers are cached: default `localStorage`; `false` for no cache. */
  storage?: StorageLike | false;
  /** An answer of POST /api/frontend/evaluate for `context` to start from (e.g. rendered by your server) when the cache has none. */
  bootstrap?: FrontendEvaluation;
  /** The fetch function (default the global `fetch`). */
  fetch?: typeof fetch;
  /** Do not contact the server until `start()` is called (the React provider uses this). Default false. */
  deferStart?: boolean;
  /** Default: console.warn / console.error. Pass `{}` to silence it. */
  logger?: Logger;
}

/** Error codes of a browser evaluation: the core's, and PROVIDER_NOT_READY while the client has no answer. */
export type BrowserErrorCode = ErrorCode | 'PROVIDER_NOT_READY';

/** The result of `evaluate`: like the server SDK's, without `prerequisite` (the server does not send it). */
export interface BrowserEvaluation<T = JsonValue> {
  readonly value: T;
  /** The served variation's key; undefined when the caller's default was returned. */
  readonly variant: string | undefined;
  readonly reason: Reason;
  readonly ruleId?: string;
  readonly errorCode?: BrowserErrorCode;
  readonly errorMessage?: string;
}

/** Where the flags served for the current context come from. */
export type FlagSource = 'server' | 'cache' | 'bootstrap';

export interface BrowserUpdateEvent {
  version: number;
  /** Keys of the flags whose result changed (added and removed ones included). */
  changedFlags: string[];
  source: FlagSource;
}

/** What `track` emits: OpenFeature's tracking API ends here too. The browser SDK sends it nowhere itself. */
export interface TrackEvent {
  metric: string;
  value: number;
  context: EvaluationContext;
}

export interface BrowserClientEvents {
  /** The client has flags for its context for the first time (from the cache, the bootstrap or the server). */
  ready: [];
  /** The flags served changed: a new answer, or a context change. */
  update: [BrowserUpdateEvent];
  /** A refused token (RollgateAuthError, the client stops), a failed or refused evaluation. */
  error: [Error];
  /** true when the server cannot be reached (the client keeps serving what it holds), false when it is back. */
  stale: [boolean];
  track: [TrackEvent];
}

/** A 401/403: the token is revoked, unknown or not a browser token. The client has stopped. */
export class RollgateAuthError extends Error {
  override name = 'RollgateAuthError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** ready() timed out. The client goes on trying in the background. */
export class RollgateTimeoutError extends Error {
  override name = 'RollgateTimeoutError';
}

interface Held extends CachedAnswer {
  /** The context (contextKeyOf) the answer is for. */
  key: string;
  source: FlagSource;
}

const METRIC_KEY = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const errorOf = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
const noop = () => {};

function result<T>(value: T, reason: Reason, errorCode?: BrowserErrorCode, errorMessage?: string): BrowserEvaluation<T> {
  return errorCode === undefined ? { value, variant: undefined, reason } : { value, variant: undefined, reason, errorCode, errorMessage };
}

/**
 * The browser client. Create it with `createBrowserClient`.
 *
 * @example
 * const rollgate = createBrowserClient({ url: 'https://rollgate.example.com', token: 'rg_browser_...', context: { userId: user.id } });
 * if (rollgate.isEnabled('new-checkout')) showNewCheckout();
 * rollgate.on('update', () => rerender());
 */
export class BrowserClient extends Emitter<BrowserClientEvents> {
  private ctx: EvaluationContext;
  private ctxKey: string;
  private held: Held | undefined;
  private readonly cache: AnswerCache | undefined;
  private readonly send: typeof fetch;
  private readonly base: string;
  private readonly token: string;
  private readonly logger: Logger;
  private readonly settings: Required<
    Pick<BrowserClientOptions, 'pollIntervalMs' | 'requestTimeoutMs' | 'streamIdleTimeoutMs' | 'reconnectBaseMs' | 'reconnectMaxMs' | 'streamFailuresBeforePolling'>
  >;
  private readonly only: readonly string[] | undefined;
  private readonly streaming: boolean;

  private started = false;
  private closed = false;
  private fatal: RollgateAuthError | undefined;
  private readyEmitted = false;
  private readonly readyWaiters = new Set<() => void>();
  private isStale = false;
  /** The newest version the stream announced. */
  private announced = -1;
  private lagging = 0;
  private inflight: { key: string; promise: Promise<void> } | undefined;
  private readonly requests = new Set<AbortController>();

  private stream: AbortController | undefined;
  private streamUp = false;
  private streamFailures = 0;
  private streamUnsupported = false;
  private polling = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private lagTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: BrowserClientOptions) {
    super();
    if (typeof options.url !== 'string' || options.url === '') throw new TypeError('createBrowserClient: `url` is required');
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('createBrowserClient: `token` (a browser token) is required');
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') throw new TypeError('createBrowserClient: no fetch function; pass `fetch`');
    // Called unbound: window.fetch refuses to run as a method of another object.
    this.send = (input, init) => fetchFn(input, init);
    this.base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.token = options.token;
    this.logger = options.logger ?? consoleLogger;
    this.settings = {
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 60_000,
      reconnectBaseMs: options.reconnectBaseMs ?? 1_000,
      reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
      streamFailuresBeforePolling: options.streamFailuresBeforePolling ?? 3,
    };
    this.only = options.flags;
    this.streaming = options.stream !== false;
    this.ctx = { ...options.context };
    this.ctxKey = contextKeyOf(this.ctx);
    const storage = options.storage === false ? undefined : (options.storage ?? defaultStorage());
    if (storage !== undefined) this.cache = new AnswerCache(storage, this.base, this.token);
    // The cache first (what the server said last), else the bootstrap: flags are there before any request.
    const cached = this.cache?.read(this.ctxKey);
    if (cached !== undefined) this.hold(this.ctxKey, cached, 'cache');
    else if (isFrontendEvaluation(options.bootstrap)) this.hold(this.ctxKey, { ...options.bootstrap, at: Date.now() }, 'bootstrap');
    if (options.deferStart !== true) queueMicrotask(() => this.start());
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation (synchronous, never throws)
  // -------------------------------------------------------------------------------------------

  /** Whether a boolean flag is on; `defaultValue` when it cannot be evaluated. */
  isEnabled(flagKey: string, defaultValue = false): boolean {
    const value: unknown = this.evaluate(flagKey, defaultValue).value;
    return typeof value === 'boolean' ? value : defaultValue;
  }

  /** The flag's value, or `defaultValue` (whose type must be the flag's). */
  getValue<T extends JsonValue>(flagKey: string, defaultValue: T): T {
    return this.evaluate(flagKey, defaultValue).value;
  }

  /** The key of the variation served, or undefined. */
  variant(flagKey: string): string | undefined {
    return this.evaluate<JsonValue | undefined>(flagKey, undefined).variant;
  }

  /** The full result: value, variant, reason, ruleId, errorCode, errorMessage. */
  evaluate<T = JsonValue>(flagKey: string, defaultValue: T): BrowserEvaluation<T> {
    const held = this.held;
    if (held === undefined) return result(defaultValue, 'ERROR', 'PROVIDER_NOT_READY', 'the Rollgate client has no answer from the server yet (await client.ready())');
    const flags = held.flags as Record<string, unknown>;
    const r = hasOwn(flags, flagKey) ? flags[flagKey] : undefined;
    if (!isRecord(r) || typeof r.reason !== 'string') return result(defaultValue, 'ERROR', 'FLAG_NOT_FOUND', `no flag ${JSON.stringify(flagKey)} in the answer for this token's environment`);
    const f = r as unknown as FrontendFlagResult;
    if (f.errorCode !== undefined) return result(defaultValue, 'ERROR', f.errorCode as BrowserErrorCode, `the server could not evaluate ${JSON.stringify(flagKey)}: ${f.errorCode}`);
    const type = f.type ?? (typeof f.value === 'object' ? 'json' : typeof f.value);
    if (defaultValue !== undefined && !typeMatches(type, defaultValue)) {
      return result(defaultValue, 'ERROR', 'TYPE_MISMATCH', `flag ${JSON.stringify(flagKey)} is a ${type} flag; the default given is a ${typeof defaultValue}`);
    }
    // No variation served (e.g. disabled without an off variation): the caller's default, with the server's reason.
    if (f.variant === undefined) return result(defaultValue, f.reason);
    const out: { -readonly [K in keyof BrowserEvaluation<T>]: BrowserEvaluation<T>[K] } = { value: f.value as T, variant: f.variant, reason: f.reason };
    if (f.ruleId !== undefined) out.ruleId = f.ruleId;
    return out;
  }

  /** Every flag of the answer held, by key, with its value (flags the server could not evaluate are left out). */
  allFlags(): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    for (const [key, f] of Object.entries(this.held?.flags ?? {})) if (f.errorCode === undefined && f.variant !== undefined) out[key] = f.value;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Context, tracking, state
  // -------------------------------------------------------------------------------------------

  /** The context the client evaluates for. */
  get context(): EvaluationContext {
    return this.ctx;
  }

  /**
   * Evaluates for a new context. The cached answer for it, if any, is served
   * at once; until the server answers, the client goes on serving what it
   * held (no flicker). Resolves once the server has answered for the context,
   * or, when it cannot be reached, once the cache has (the client is then
   * `stale`); rejects when neither (the client keeps trying in the background).
   */
  setContext(context: EvaluationContext): Promise<void> {
    this.ctx = { ...context };
    this.ctxKey = contextKeyOf(this.ctx);
    if (this.held?.key !== this.ctxKey) {
      const cached = this.cache?.read(this.ctxKey);
      if (cached !== undefined) this.hold(this.ctxKey, cached, 'cache');
    }
    if (this.stopped) return Promise.reject(this.fatal ?? new Error('the Rollgate client is closed'));
    return this.started ? this.refresh() : Promise.resolve();
  }

  /**
   * Emits a `track` event (`{ metric, value, context }`) for your own
   * pipeline: the browser SDK sends nothing to Rollgate (rollout metrics are
   * reported by server SDKs and the metrics API). OpenFeature's `track` ends here.
   */
  track(metric: string, value = 1, context: EvaluationContext = this.ctx): void {
    if (!METRIC_KEY.test(metric) || !Number.isFinite(value)) {
      this.logger.warn?.(`track: "${metric}" must be a metric key (lowercase letters, digits, ".", "_", "-") and its value a finite number; not recorded`);
      return;
    }
    this.emit('track', { metric, value, context });
  }

  /**
   * Subscribes to changes of the flags served (for React's useSyncExternalStore);
   * returns the unsubscribe function. A stable function: pass it as it is.
   */
  readonly subscribe = (listener: () => void): (() => void) => this.on('update', listener);

  /** Whether the client has flags for its current context (from the server, the cache or the bootstrap). */
  get isReady(): boolean {
    return this.held !== undefined && this.held.key === this.ctxKey;
  }

  /** Where the flags for the current context come from; undefined while it has none. */
  get source(): FlagSource | undefined {
    return this.isReady ? this.held?.source : undefined;
  }

  /** True while the server cannot be reached (the client serves what it holds). */
  get stale(): boolean {
    return this.isStale;
  }

  /** The snapshot version the flags held were evaluated at. */
  get version(): number | undefined {
    return this.held?.version;
  }

  /** When the server gave the answer held (a cached answer keeps its time). */
  get lastUpdatedAt(): Date | undefined {
    return this.held === undefined ? undefined : new Date(this.held.at);
  }

  /**
   * Resolves once the client has flags for its current context (at once
   * from the cache). Rejects after `timeoutMs` (the client goes on trying),
   * on a refused token, or when closed.
   */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.isReady) return Promise.resolve();
    if (this.stopped) return Promise.reject(this.fatal ?? new Error('the Rollgate client is closed'));
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        if (this.isReady) resolve();
        else reject(this.fatal ?? new Error('the Rollgate client was closed before it was ready'));
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(done);
        reject(new RollgateTimeoutError(`the Rollgate client has no flags after ${timeoutMs} ms from ${this.base}; it keeps trying in the background`));
      }, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Starts contacting the server (done on creation unless `deferStart`). Idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.refresh().catch(noop);
    if (this.streaming) this.connect();
    else this.startPolling(this.settings.pollIntervalMs);
  }

  /** Stops the stream, timers and requests. Evaluations go on answering from what the client holds. */
  close(): void {
    this.closed = true;
    this.stopNetwork();
    for (const w of [...this.readyWaiters]) w();
  }

  // -------------------------------------------------------------------------------------------
  // Answers
  // -------------------------------------------------------------------------------------------

  private get stopped(): boolean {
    return this.closed || this.fatal !== undefined;
  }

  private hold(key: string, answer: CachedAnswer, source: FlagSource): void {
    const before = this.held?.flags ?? {};
    const flags = answer.flags;
    this.held = { key, source, version: answer.version, flags, at: answer.at };
    const changedFlags: string[] = [];
    for (const k of Object.keys(flags)) if (!hasOwn(before, k) || JSON.stringify(before[k]) !== JSON.stringify(flags[k])) changedFlags.push(k);
    for (const k of Object.keys(before)) if (!hasOwn(flags, k)) changedFlags.push(k);
    if (this.isReady) {
      for (const w of [...this.readyWaiters]) w();
      if (!this.readyEmitted) {
        this.readyEmitted = true;
        queueMicrotask(() => this.emit('ready'));
      }
    }
    if (changedFlags.length > 0) this.emit('update', { version: answer.version, changedFlags, source });
  }

  /** Evaluates the current context on the server; one request at a time per context. */
  private refresh(): Promise<void> {
    const key = this.ctxKey;
    if (this.inflight?.key === key) return this.inflight.promise;
    const body = JSON.stringify(this.only === undefined ? { context: this.ctx } : { context: this.ctx, flags: this.only });
    const promise = this.evaluateRemote(key, body).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = undefined;
    });
    this.inflight = { key, promise };
    return promise;
  }

  private async evaluateRemote(key: string, body: string): Promise<void> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.request('api/frontend/evaluate', { method: 'POST', headers: { ...this.headers(), 'content-type': 'application/json' }, body }));
    } catch (e) {
      if (this.stopped) return;
      const error = new Error(`POST /api/frontend/evaluate failed: ${errorOf(e).message}`);
      if (!this.streamUp) this.setStale(true);
      return this.failedFor(key, error, false);
    }
    if (this.stopped) return;
    if (status === 401 || status === 403) {
      this.authFailure(status, text);
      throw this.fatal;
    }
    if (status !== 200) {
      if (status >= 500 && !this.streamUp) this.setStale(true);
      return this.failedFor(key, new Error(`POST /api/frontend/evaluate answered ${status}: ${text.slice(0, 300)}`), true);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    if (!isFrontendEvaluation(answer)) return this.failedFor(key, new Error('POST /api/frontend/evaluate did not answer an evaluation'), true);
    this.setStale(false);
    this.lagging = answer.version < this.announced ? this.lagging + 1 : 0;
    // Evaluated during a change: the server holds a newer version already; ask again.
    if (this.lagging > 0) this.refreshLater(this.lagging === 1 ? 0 : Math.min(this.settings.reconnectMaxMs, this.settings.reconnectBaseMs * 2 ** Math.min(this.lagging - 2, 20)));
    // The context changed meanwhile: the request for the new one decides.
    if (key !== this.ctxKey) return;
    const held = this.held;
    if (held !== undefined && held.key === key && held.source === 'server' && answer.version < held.version) return;
    const cached: CachedAnswer = { version: answer.version, flags: answer.flags, at: Date.now() };
    this.hold(key, cached, 'server');
    this.cache?.write(key, cached);
  }

  /** A failed evaluation: reported; the promise rejects only if nothing is served for that context. */
  private failedFor(key: string, error: Error, always: boolean): void {
    const served = this.held?.key === key;
    if (always || !served) this.fail(error);
    else this.logger.debug?.(error.message);
    if (!served && key === this.ctxKey) throw error;
  }

  private refreshLater(delayMs: number): void {
    clearTimeout(this.lagTimer);
    this.lagTimer = setTimeout(() => {
      if (!this.stopped) this.refresh().catch(noop);
    }, delayMs);
  }

  // -------------------------------------------------------------------------------------------
  // Network
  // -------------------------------------------------------------------------------------------

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** One request whose whole body is read, aborted after requestTimeoutMs or on close. */
  private async request(path: string, init: RequestInit): Promise<{ status: number; text: string }> {
    const ctrl = new AbortController();
    this.requests.add(ctrl);
    const timer = setTimeout(() => ctrl.abort(new Error(`no answer from ${this.base} within ${this.settings.requestTimeoutMs} ms`)), this.settings.requestTimeoutMs);
    try {
      const res = await this.send(this.base + path, { ...init, signal: ctrl.signal });
      return { status: res.status, text: await res.text() };
    } finally {
      clearTimeout(timer);
      this.requests.delete(ctrl);
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const ctrl = new AbortController();
    this.stream = ctrl;
    this.armIdle(ctrl, this.settings.requestTimeoutMs);
    this.readStream(ctrl).catch((e: unknown) => {
      if (this.stream === ctrl) this.streamDown(errorOf(e));
    });
  }

  private async readStream(ctrl: AbortController): Promise<void> {
    const res = await this.send(`${this.base}api/frontend/stream`, { headers: { ...this.headers(), accept: 'text/event-stream' }, signal: ctrl.signal });
    if (this.stream !== ctrl) return;
    if (res.status === 401 || res.status === 403) {
      this.authFailure(res.status, await res.text());
      return;
    }
    if (res.status !== 200) throw new Error(`GET /api/frontend/stream answered ${res.status}`);
    const body = res.body;
    const reader = body !== null && typeof body.getReader === 'function' ? body.getReader() : undefined;
    if (reader === undefined) {
      this.streamUnsupported = true;
      throw new Error('this browser cannot read a streamed response; polling instead');
    }
    this.streamUp = true;
    this.streamFailures = 0;
    this.stopPolling();
    this.setStale(false);
    const decoder = new TextDecoder();
    const parser = new SseParser({ event: (e) => this.onVersion(e.data) });
    for (;;) {
      this.armIdle(ctrl, this.settings.streamIdleTimeoutMs);
      const chunk = await reader.read();
      if (chunk.done || this.stream !== ctrl) break;
      parser.push(decoder.decode(chunk.value, { stream: true }));
    }
    throw new Error('the server ended the stream');
  }

  /** A `version` event: the environment is at this version; evaluate again if what is held is older. */
  private onVersion(data: string): void {
    let version: unknown;
    try {
      version = (JSON.parse(data) as { version?: unknown }).version;
    } catch {
      return;
    }
    if (typeof version !== 'number') return;
    this.announced = Math.max(this.announced, version);
    const held = this.held;
    if (held === undefined || held.key !== this.ctxKey || held.source !== 'server' || version > held.version) this.refresh().catch(noop);
  }

  /** (Re)arms the timer that drops a silent stream. */
  private armIdle(ctrl: AbortController, ms: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.stream === ctrl) ctrl.abort(new Error(`the stream was silent for ${ms} ms`));
    }, ms);
  }

  private streamDown(error: Error): void {
    if (this.stopped) return;
    clearTimeout(this.idleTimer);
    this.stream?.abort();
    this.stream = undefined;
    this.streamUp = false;
    this.streamFailures++;
    this.logger.debug?.(`stream down: ${error.message}`, { failures: this.streamFailures });
    // While polling, the polls say whether the server is reachable.
    if (!this.polling) this.setStale(true);
    if (this.streamUnsupported || this.streamFailures >= this.settings.streamFailuresBeforePolling) this.startPolling(0);
    if (this.streamUnsupported) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), backoffDelay(this.streamFailures - 1, this.settings.reconnectBaseMs, this.settings.reconnectMaxMs));
  }

  private startPolling(firstDelayMs: number): void {
    if (this.polling || this.stopped) return;
    this.polling = true;
    this.schedulePoll(firstDelayMs);
  }

  private stopPolling(): void {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      if (!this.polling || this.stopped) return;
      this.refresh()
        .catch(noop)
        .finally(() => {
          if (this.polling && !this.stopped) this.schedulePoll(this.settings.pollIntervalMs);
        });
    }, delayMs);
  }

  private stopNetwork(): void {
    for (const t of [this.reconnectTimer, this.idleTimer, this.pollTimer, this.lagTimer]) clearTimeout(t);
    this.polling = false;
    this.streamUp = false;
    const stream = this.stream;
    this.stream = undefined;
    stream?.abort();
    for (const r of this.requests) r.abort();
    this.requests.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Errors and staleness
  // -------------------------------------------------------------------------------------------

  /** Emits 'error' when someone listens, else logs it. */
  private fail(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger.warn?.(error.message);
  }

  private setStale(stale: boolean): void {
    if (stale === this.isStale) return;
    this.isStale = stale;
    this.emit('stale', stale);
  }

  private authFailure(status: number, body: string): void {
    if (this.fatal !== undefined) return;
    let code = '';
    try {
      const parsed = JSON.parse(body) as { code?: unknown };
      if (typeof parsed.code === 'string') code = ` (${parsed.code})`;
    } catch {
      // not JSON
    }
    const message =
      status === 401
        ? `Rollgate refused the browser token with 401${code}: it is unknown or has been revoked. The client has stopped contacting the server and keeps serving what it holds.`
        : `Rollgate refused the token with 403${code}: it is not a browser token (a server or admin token). The client has stopped contacting the server; use a browser token.`;
    this.fatal = new RollgateAuthError(message, status);
    this.logger.error?.(message);
    this.stopNetwork();
    for (const w of [...this.readyWaiters]) w();
    this.fail(this.fatal);
  }
}

/**
 * Creates a browser client. Flags cached for the context are served at once;
 * the client then asks the server and follows changes.
 *
 * @example
 * const rollgate = createBrowserClient({ url: 'https://rollgate.example.com', token: 'rg_browser_...', context: { userId: 'u-42' } });
 * await rollgate.ready(); // at once when the cache has an answer for this context
 * const banner = rollgate.getValue('banner-text', 'Welcome');
 */
export function createBrowserClient(options: BrowserClientOptions): BrowserClient {
  return new BrowserClient(options);
}
