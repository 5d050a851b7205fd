/**
 * The Rollgate server SDK client: holds one environment's snapshot, compiled,
 * and keeps it current from the server (Server-Sent Events, else polling).
 * Every evaluation is the core's `evaluate` on that compiled snapshot.
 */
import { RE2JS } from 're2js';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import {
  compileSnapshot,
  evaluate as coreEvaluate,
  type CompiledSnapshot,
  type ErrorCode,
  type EvaluateOptions,
  type EvaluationContext,
  type EvaluationResult,
  type FlagConfig,
  type JsonValue,
  type Segment,
  type Snapshot,
} from '@rollgate/core';
import { backoffDelay, createAgents, get, postJson, startGet, type Agents } from './http.js';
import { cohortOf, MetricsQueue, ownedRulesOf, type Batch, type FlushResult, type MetricsOptions, type OwnedRules, type OwnedServe, type TrackOptions } from './metrics.js';
import type { ConnectionOptions } from './internal/connection-options.js';
import type { Logger } from './internal/logger.js';
import { Overrides, type OverrideOptions } from './overrides.js';

export type { Logger } from './internal/logger.js';
import { SseParser, type SseEvent } from './sse-parser.js';

export interface ClientOptions extends ConnectionOptions {
  /** The Rollgate server's base URL, e.g. `https://rollgate.internal:4242`. Not needed when `offline`. */
  url?: string;
  /** A server SDK token (`rg_server_...`), scoped to one project and environment. */
  token?: string;
  /** A snapshot to start from: the object, or the path of a JSON file (read once with node:fs). */
  bootstrap?: Snapshot | string | unknown;
  /** Never touch the network: serve `bootstrap` (an empty snapshot without one). */
  offline?: boolean;
  /** Development and tests only: local overrides (see docs/sdk.md). Off unless given. */
  overrides?: OverrideOptions;
  /**
   * The environment variables `overrides.fromEnv` reads. Defaults to
   * `process.env`; this is the only place the SDK reads the process environment.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Random source for rollouts whose stickiness lists `random` (e.g. `Math.random`).
   * Without one such contexts are not in the rollout, as with the core.
   */
  random?: () => number;
  /** Rollout metrics: exposures of flags in a rollout, and `track`'s observations (see docs/sdk.md). */
  metrics?: MetricsOptions;
  logger?: Logger;
}

/** Error codes of an SDK evaluation: the core's, and PROVIDER_NOT_READY before a snapshot is loaded. */
export type SdkErrorCode = ErrorCode | 'PROVIDER_NOT_READY';

/** The core's result, whose errorCode may also be PROVIDER_NOT_READY. */
export type SdkEvaluationResult<T = JsonValue> = Omit<EvaluationResult<T>, 'errorCode'> & { readonly errorCode?: SdkErrorCode };

export interface UpdateEvent {
  version: number | string | undefined;
  /** Keys of the flags whose configuration (or whose segments) changed, added or removed. */
  changedFlags: string[];
}

export interface ClientEvents {
  ready: [];
  update: [UpdateEvent];
  error: [Error];
  /** true when the client loses the server (it keeps serving its last snapshot), false when it is back. */
  stale: [boolean];
  /** A metrics batch the server answered (2xx): its counts. */
  flush: [FlushResult];
}

/** A 401/403: the token is revoked, unknown or of the wrong kind. The client has stopped. */
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

interface Held {
  raw: unknown;
  flags: Map<string, FlagConfig>;
  segments: Map<string, Segment>;
  environment: string | undefined;
  version: number | string | undefined;
  /** The snapshot came from the server (not a bootstrap): its version is a stream position. */
  fromServer: boolean;
}

const DEFAULTS = {
  pollIntervalMs: 30_000,
  requestTimeoutMs: 10_000,
  streamIdleTimeoutMs: 60_000,
  reconnectBaseMs: 1_000,
  reconnectMaxMs: 30_000,
  streamFailuresBeforePolling: 3,
  readyTimeoutMs: 10_000,
  metricsFlushIntervalMs: 10_000,
  metricsMaxQueue: 100_000,
  metricsFlushAt: 50_000,
};

const METRIC_KEY = /^[a-z0-9][a-z0-9._-]{0,99}$/;

const NOT_READY_MESSAGE = 'the Rollgate client has no snapshot yet (await client.ready())';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSnapshotShape(value: unknown): value is Snapshot {
  return isRecord(value) && Array.isArray(value.flags);
}

function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Flags that reference one of `segments` in a rule. */
function flagsUsingSegments(flags: Iterable<FlagConfig>, segments: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (segments.size === 0) return out;
  for (const f of flags) if (Array.isArray(f.rules) && f.rules.some((r) => Array.isArray(r.segments) && (r.segments as readonly string[]).some((s) => segments.has(s)))) out.push(f.key);
  return out;
}

export class RollgateClient extends EventEmitter<ClientEvents> {
  private compiled: CompiledSnapshot | undefined;
  private held: Held | undefined;
  private readonly evalOptions: EvaluateOptions;
  private readonly overrides: Overrides | undefined;
  private readonly reportedProblems = new Set<string>();
  private readonly logger: Logger;
  private readonly options: ClientOptions;
  private readonly baseUrl: URL | undefined;
  private readonly agents: Agents | undefined;
  private readonly settings: typeof DEFAULTS;

  private readyFlag = false;
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private closed = false;
  private fatal: RollgateAuthError | undefined;
  private lastError: Error | undefined;
  private isStale = false;
  private updatedAt: Date | undefined;
  private etag: string | undefined;

  private streamReq: ClientRequest | undefined;
  private streamRes: IncomingMessage | undefined;
  private streamUp = false;
  private streamFailures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private fetchInFlight: Promise<void> | undefined;
  private readonly inFlight = new Set<ClientRequest>();

  private readonly metricsQueue: MetricsQueue | undefined;
  /** Flags with rollout-owned rules in the compiled snapshot (empty unless metrics are on). */
  private owned: OwnedRules = new Map();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushChain: Promise<FlushResult[]> = Promise.resolve([]);
  private flushSoon = false;
  /** Metric keys `track` has seen valid (checked once each). */
  private readonly metricKeys = new Set<string>();
  private lastFlushFailed = false;
  private closing: Promise<void> | undefined;

  constructor(options: ClientOptions, env: Readonly<Record<string, string | undefined>>) {
    super();
    this.options = options;
    this.logger = options.logger ?? { warn: (m, d) => console.warn(`[rollgate] ${m}`, d ?? ''), error: (m, d) => console.error(`[rollgate] ${m}`, d ?? '') };
    this.settings = {
      pollIntervalMs: options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs,
      reconnectBaseMs: options.reconnectBaseMs ?? DEFAULTS.reconnectBaseMs,
      reconnectMaxMs: options.reconnectMaxMs ?? DEFAULTS.reconnectMaxMs,
      streamFailuresBeforePolling: options.streamFailuresBeforePolling ?? DEFAULTS.streamFailuresBeforePolling,
      readyTimeoutMs: DEFAULTS.readyTimeoutMs,
      metricsFlushIntervalMs: options.metrics?.flushIntervalMs ?? DEFAULTS.metricsFlushIntervalMs,
      metricsMaxQueue: options.metrics?.maxQueue ?? DEFAULTS.metricsMaxQueue,
      metricsFlushAt: Math.max(1, options.metrics?.flushAt ?? DEFAULTS.metricsFlushAt),
    };
    if (options.offline !== true && options.metrics?.enabled !== false) this.metricsQueue = new MetricsQueue(this.settings.metricsMaxQueue);
    this.evalOptions = Object.freeze(options.random === undefined ? {} : { random: options.random });
    this.overrides = Overrides.from(options.overrides, env);
    for (const p of this.overrides?.problems ?? []) this.report(p);

    if (options.bootstrap !== undefined) this.loadBootstrap(options.bootstrap);
    if (options.offline === true) {
      if (this.held === undefined) this.replace({ flags: [], segments: [] }, false);
      return;
    }
    if (typeof options.url !== 'string' || options.url === '') throw new TypeError('createClient: `url` is required unless `offline: true`');
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('createClient: `token` (a server SDK token) is required unless `offline: true`');
    this.baseUrl = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    if (this.baseUrl.protocol !== 'http:' && this.baseUrl.protocol !== 'https:') throw new TypeError(`createClient: url must be http(s), got ${options.url}`);
    this.agents = createAgents();
    if (this.metricsQueue !== undefined) {
      this.flushTimer = setInterval(() => void this.flush(), this.settings.metricsFlushIntervalMs);
      this.flushTimer.unref();
    }
    // Start after the caller had a chance to attach listeners.
    queueMicrotask(() => {
      if (this.closed) return;
      if (options.stream === false) this.startPolling(0);
      else this.connectStream();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation (synchronous, never throws)
  // -------------------------------------------------------------------------------------------

  /** Whether a boolean flag is on for `context`; `defaultValue` when it cannot be evaluated. */
  isEnabled(flagKey: string, context?: EvaluationContext | null, defaultValue = false): boolean {
    const compiled = this.compiled;
    if (compiled === undefined) return defaultValue;
    let r = coreEvaluate(compiled, flagKey, context, defaultValue, this.evalOptions);
    if (r.errorCode === 'FLAG_NOT_FOUND' && this.overrides !== undefined) r = this.retryWithClaim(flagKey, context, defaultValue, r);
    if (this.metricsQueue !== undefined) {
      const owned = this.owned.get(flagKey);
      if (owned !== undefined) this.expose(flagKey, owned, r, context);
    }
    const v = r.value;
    return typeof v === 'boolean' ? v : defaultValue;
  }

  /** The flag's value for `context`, or `defaultValue` (whose type must match the flag's). */
  getValue<T extends JsonValue>(flagKey: string, context: EvaluationContext | null | undefined, defaultValue: T): T {
    return this.evaluate(flagKey, context, defaultValue).value;
  }

  /** The key of the variation served, or undefined when the flag cannot be evaluated. */
  variant(flagKey: string, context?: EvaluationContext | null): string | undefined {
    return this.evaluate<JsonValue | undefined>(flagKey, context, undefined).variant;
  }

  /** The full result: value, variant, reason, ruleId, prerequisite, errorCode, errorMessage. */
  evaluate<T = JsonValue>(flagKey: string, context: EvaluationContext | null | undefined, defaultValue: T): SdkEvaluationResult<T> {
    const compiled = this.compiled;
    if (compiled === undefined) {
      return { value: defaultValue, variant: undefined, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: NOT_READY_MESSAGE };
    }
    try {
      let r = coreEvaluate(compiled, flagKey, context, defaultValue, this.evalOptions);
      if (r.errorCode === 'FLAG_NOT_FOUND' && this.overrides !== undefined) r = this.retryWithClaim(flagKey, context, defaultValue, r);
      if (this.metricsQueue !== undefined) {
        const owned = this.owned.get(flagKey);
        if (owned !== undefined) this.expose(flagKey, owned, r, context);
      }
      return r;
    } catch (e) {
      return { value: defaultValue, variant: undefined, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: errorOf(e).message };
    }
  }

  /** An environment override for a flag the snapshot does not have: add it, then evaluate again. */
  private retryWithClaim<T>(flagKey: string, context: EvaluationContext | null | undefined, defaultValue: T, first: EvaluationResult<T>): EvaluationResult<T> {
    if (this.overrides?.claim(flagKey) !== true || this.held === undefined) return first;
    this.recompile();
    return coreEvaluate(this.compiled, flagKey, context, defaultValue, this.evalOptions);
  }

  // -------------------------------------------------------------------------------------------
  // Rollout metrics
  // -------------------------------------------------------------------------------------------

  /** Exposures not counted because memory was full (`metrics.maxQueue` series held); reported to the server. */
  get droppedExposures(): number {
    return this.metricsQueue?.droppedExposures ?? 0;
  }

  /** `track` observations not counted because memory was full; reported to the server. */
  get droppedMetrics(): number {
    return this.metricsQueue?.droppedMetrics ?? 0;
  }

  /** Counts an exposure of a flag that has rollout-owned rules. */
  private expose(flagKey: string, owned: ReadonlyMap<string, OwnedServe>, r: EvaluationResult<unknown>, context: EvaluationContext | null | undefined): void {
    const queue = this.metricsQueue;
    if (queue === undefined || r.variant === undefined || r.errorCode !== undefined || this.closed) return;
    queue.exposure(flagKey, r.variant, cohortOf(owned, r.ruleId, r.variant), queue.contextKeyOf(context), Date.now());
    this.checkQueue(queue);
  }

  /**
   * Records one observation of `metric` (e.g. `error-rate` with 1 or 0) for
   * `context`, in the context's cohort of each flag it belongs to: the flags
   * named in `options.flags`, or by default every flag in a rollout (so name
   * the flag when the event is about one feature: an unrelated flag's
   * cohorts would otherwise count it too). Flags without a rollout are
   * skipped; does nothing when metrics are off. Observations are summed per
   * minute, flag, metric, cohort and variant, so repeated calls cost no memory.
   *
   * @example
   * client.track('error-rate', failed ? 1 : 0, { userId }, { flags: 'new-checkout' });
   */
  track(metric: string, value: number, context?: EvaluationContext | null, options?: TrackOptions): void {
    const queue = this.metricsQueue;
    const compiled = this.compiled;
    if (queue === undefined || compiled === undefined || this.closed || this.owned.size === 0) return;
    if (!this.metricKeys.has(metric)) {
      if (!METRIC_KEY.test(metric)) {
        this.report(`track: "${metric}" is not a metric key (lowercase letters, digits, ".", "_" and "-"); not recorded`);
        return;
      }
      if (this.metricKeys.size < 1_000) this.metricKeys.add(metric);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.report(`track: the value of "${metric}" must be a finite number; not recorded`);
      return;
    }
    const now = Date.now();
    const named = options?.flags;
    const flags: Iterable<string> = named === undefined ? this.owned.keys() : typeof named === 'string' ? [named] : named;
    for (const flag of flags) {
      const owned = this.owned.get(flag);
      if (owned === undefined) continue;
      let r: EvaluationResult<JsonValue | undefined>;
      try {
        r = coreEvaluate<JsonValue | undefined>(compiled, flag, context, undefined, this.evalOptions);
      } catch {
        continue;
      }
      if (r.errorCode !== undefined) continue;
      const cohort = cohortOf(owned, r.ruleId, r.variant);
      queue.metric(metric, flag, cohort, cohort === 'treatment' ? r.variant : undefined, context, value, now);
    }
    this.checkQueue(queue);
  }

  /** Enough series waiting (`metrics.flushAt`): send them soon (not while the server is failing: the timer retries then). */
  private checkQueue(queue: MetricsQueue): void {
    if (queue.pendingItems < this.settings.metricsFlushAt || this.flushSoon || this.lastFlushFailed || this.closed) return;
    this.flushSoon = true;
    setImmediate(() => {
      this.flushSoon = false;
      void this.flush();
    });
  }

  /**
   * Sends what the queue holds now, in batches of at most 1,000 items. A batch
   * that failed on the network (or with a 5xx) is kept and sent again, with
   * the same batchId, by the next flush; one refused with a 4xx is dropped
   * (and reported on 'error'). Resolves with each batch's outcome.
   */
  flush(): Promise<FlushResult[]> {
    const run = () => this.sendBatches();
    this.flushChain = this.flushChain.then(run, run);
    return this.flushChain;
  }

  private async sendBatches(): Promise<FlushResult[]> {
    const queue = this.metricsQueue;
    if (queue === undefined || this.fatal !== undefined || this.baseUrl === undefined || this.agents === undefined) return [];
    const results: FlushResult[] = [];
    let failed = false;
    for (const batch of queue.batches()) {
      const result = failed ? { batchId: batch.batchId, items: batch.items.length, retained: true } : await this.sendBatch(queue, batch);
      if (result.retained === true) failed = true;
      results.push(result);
    }
    this.lastFlushFailed = failed;
    return results;
  }

  private async sendBatch(queue: MetricsQueue, batch: Batch): Promise<FlushResult> {
    const base = { batchId: batch.batchId, items: batch.items.length };
    let status: number;
    let body: string;
    try {
      const res = await postJson(new URL('api/client/metrics', this.baseUrl), { ...this.headers(), accept: 'application/json' }, JSON.stringify(batch), this.agents as Agents, this.settings.requestTimeoutMs);
      status = res.status;
      body = res.body;
    } catch (e) {
      const error = errorOf(e);
      this.logger.debug?.(`metrics batch ${batch.batchId} not delivered (${error.message}); retrying it with the next flush`);
      return { ...base, error, retained: true };
    }
    if (status >= 200 && status < 300) {
      queue.settle(batch);
      let answer: { accepted?: unknown; rejected?: unknown; duplicate?: unknown } = {};
      try {
        answer = JSON.parse(body) as typeof answer;
      } catch {
        // not JSON: delivered all the same
      }
      const result: FlushResult = {
        ...base,
        accepted: typeof answer.accepted === 'number' ? answer.accepted : 0,
        rejected: Array.isArray(answer.rejected) ? (answer.rejected as FlushResult['rejected'] & object) : [],
        duplicate: answer.duplicate === true,
      };
      if ((result.rejected as unknown[]).length > 0) this.logger.warn?.(`the server rejected ${(result.rejected as unknown[]).length} metrics items of batch ${batch.batchId}`, { rejected: result.rejected?.slice(0, 5) });
      this.emit('flush', result);
      return result;
    }
    const error = new Error(`POST /api/client/metrics answered ${status}: ${body.slice(0, 200)}`);
    if (status >= 400 && status < 500) {
      queue.settle(batch);
      this.fail(error);
      return { ...base, error };
    }
    this.logger.debug?.(`metrics batch ${batch.batchId}: ${error.message}; retrying it with the next flush`);
    return { ...base, error, retained: true };
  }

  // -------------------------------------------------------------------------------------------
  // State
  // -------------------------------------------------------------------------------------------

  /** Whether a snapshot is loaded. */
  get isReady(): boolean {
    return this.readyFlag;
  }

  /** True while the server cannot be reached (the last snapshot is being served). */
  get stale(): boolean {
    return this.isStale;
  }

  /** When the server last confirmed the snapshot is current (or when a snapshot was last loaded). */
  get lastUpdatedAt(): Date | undefined {
    return this.updatedAt;
  }

  /** The version of the snapshot held. */
  get version(): number | string | undefined {
    return this.held?.version;
  }

  /** The snapshot held, as received (without overrides). */
  get snapshot(): unknown {
    return this.held?.raw;
  }

  /**
   * Resolves once a snapshot is loaded. Rejects after `timeoutMs` (default 10 s)
   * or on a fatal error (401/403); after a timeout the client goes on trying.
   */
  ready(timeoutMs: number = this.settings.readyTimeoutMs): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new Error('the Rollgate client is closed'));
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const why = this.lastError === undefined ? '' : ` (last error: ${this.lastError.message})`;
        waiter.reject(new RollgateTimeoutError(`the Rollgate client has no snapshot after ${timeoutMs} ms from ${this.options.url ?? 'its bootstrap'}${why}; it keeps trying in the background`));
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  /**
   * Stops every request, stream and timer, after sending the metrics queued
   * (the promise settles then). Evaluations keep answering from the last snapshot.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.stopNetwork();
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    for (const w of [...this.readyWaiters]) w.reject(new Error('the Rollgate client was closed before it was ready'));
    const last = this.metricsQueue === undefined ? Promise.resolve([]) : this.flush();
    this.closing = last.then(
      (results) => {
        const lost = results.filter((r) => r.retained === true).reduce((n, r) => n + r.items, 0);
        if (lost > 0) this.logger.warn?.(`closing: ${lost} metrics items could not be delivered and are dropped`);
      },
      () => {},
    ).finally(() => {
      this.agents?.http.destroy();
      this.agents?.https.destroy();
    });
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots
  // -------------------------------------------------------------------------------------------

  private loadBootstrap(bootstrap: unknown): void {
    let value = bootstrap;
    if (typeof bootstrap === 'string') {
      try {
        value = JSON.parse(readFileSync(bootstrap, 'utf8')) as unknown;
      } catch (e) {
        this.fail(new Error(`cannot read the bootstrap file ${bootstrap}: ${errorOf(e).message}`));
        return;
      }
    }
    this.replace(value, false);
  }

  /** Holds a whole snapshot; returns the keys of the flags that changed. */
  private replace(raw: unknown, fromServer: boolean): void {
    const before = this.held;
    const flags = new Map<string, FlagConfig>();
    const segments = new Map<string, Segment>();
    if (isSnapshotShape(raw)) {
      for (const f of raw.flags) if (isRecord(f) && typeof f.key === 'string') flags.set(f.key, f);
      for (const s of Array.isArray(raw.segments) ? raw.segments : []) if (isRecord(s) && typeof s.key === 'string') segments.set(s.key, s as unknown as Segment);
    }
    const version = isRecord(raw) && (typeof raw.version === 'number' || typeof raw.version === 'string') ? raw.version : undefined;
    const environment = isRecord(raw) && typeof raw.environment === 'string' ? raw.environment : undefined;
    this.held = { raw, flags, segments, version, environment, fromServer };
    this.recompile();
    let changedFlags: string[];
    if (before === undefined) changedFlags = [...flags.keys()];
    else {
      const changed = new Set<string>();
      const seg = new Set<string>();
      for (const [k, f] of flags) if (JSON.stringify(before.flags.get(k)) !== JSON.stringify(f)) changed.add(k);
      for (const k of before.flags.keys()) if (!flags.has(k)) changed.add(k);
      for (const [k, s] of segments) if (JSON.stringify(before.segments.get(k)) !== JSON.stringify(s)) seg.add(k);
      for (const k of before.segments.keys()) if (!segments.has(k)) seg.add(k);
      for (const k of flagsUsingSegments(flags.values(), seg)) changed.add(k);
      changedFlags = [...changed];
    }
    this.loaded(before === undefined || changedFlags.length > 0 || before.version !== version, changedFlags);
  }

  /** Applies a `change` event to the held snapshot; false when a full snapshot is needed instead. */
  private applyChanges(data: unknown): boolean {
    const held = this.held;
    if (held === undefined || !held.fromServer || !isRecord(data) || !Array.isArray(data.changes) || typeof data.version !== 'number') return false;
    if (typeof held.version === 'number' && data.version <= held.version) return true; // already have it
    const flags = new Map(held.flags);
    const segments = new Map(held.segments);
    const changed = new Set<string>();
    const seg = new Set<string>();
    for (const c of data.changes as unknown[]) {
      if (!isRecord(c) || typeof c.key !== 'string') return false;
      if (c.type === 'flag') {
        if (c.removed === true) flags.delete(c.key);
        else if (isRecord(c.flag)) flags.set(c.key, c.flag as unknown as FlagConfig);
        else return false;
        changed.add(c.key);
      } else if (c.type === 'segment') {
        if (c.removed === true) segments.delete(c.key);
        else if (isRecord(c.segment)) segments.set(c.key, c.segment as unknown as Segment);
        else return false;
        seg.add(c.key);
      } else {
        return false; // 'environment', or anything this SDK does not know: refetch
      }
    }
    for (const k of flagsUsingSegments(flags.values(), seg)) changed.add(k);
    const raw: Snapshot & { environment?: string } = { flags: [...flags.values()], segments: [...segments.values()], version: data.version };
    if (held.environment !== undefined) raw.environment = held.environment;
    this.held = { raw, flags, segments, version: data.version, environment: held.environment, fromServer: true };
    this.recompile();
    this.loaded(true, [...changed]);
    return true;
  }

  private recompile(): void {
    const held = this.held;
    if (held === undefined) return;
    let effective = held.raw;
    if (this.overrides !== undefined) {
      const applied = this.overrides.apply(held.raw);
      effective = applied.snapshot;
      for (const p of applied.problems) this.report(p);
    }
    this.compiled = compileSnapshot(effective, { regex: RE2JS });
    if (this.metricsQueue !== undefined) this.owned = ownedRulesOf(effective);
  }

  private loaded(changed: boolean, changedFlags: string[]): void {
    this.updatedAt = new Date();
    if (!this.readyFlag) {
      this.readyFlag = true;
      for (const w of [...this.readyWaiters]) w.resolve();
      this.emit('ready');
    }
    if (changed) this.emit('update', { version: this.held?.version, changedFlags });
  }

  /** Whether a whole snapshot of this version should replace the one held. */
  private accepts(version: unknown): boolean {
    const held = this.held;
    if (held === undefined || !held.fromServer || typeof version !== 'number' || typeof held.version !== 'number') return true;
    return version >= held.version;
  }

  // -------------------------------------------------------------------------------------------
  // Events, errors, staleness
  // -------------------------------------------------------------------------------------------

  private report(problem: string): void {
    if (this.reportedProblems.has(problem)) return;
    this.reportedProblems.add(problem);
    this.logger.warn?.(problem);
  }

  /** Emits 'error' when someone listens (an unheard 'error' would throw), else logs it. */
  private fail(error: Error): void {
    this.lastError = error;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger.warn?.(error.message);
  }

  private setStale(stale: boolean): void {
    if (stale) this.lastError ??= new Error('the server cannot be reached');
    if (stale === this.isStale) return;
    this.isStale = stale;
    this.emit('stale', stale);
  }

  /** The server answered: the snapshot held is current. */
  private confirmed(): void {
    this.updatedAt = new Date();
    this.lastError = undefined;
    this.setStale(false);
  }

  private authFailure(status: number, body: string): void {
    let code = '';
    try {
      const parsed = JSON.parse(body) as { code?: unknown };
      if (typeof parsed.code === 'string') code = ` (${parsed.code})`;
    } catch {
      // not JSON
    }
    const message =
      status === 401
        ? `Rollgate refused the SDK token with 401${code}: it is unknown or has been revoked. The client has stopped contacting the server and keeps serving its last snapshot; create a new server token.`
        : `Rollgate refused the SDK token with 403${code}: it is not a server SDK token for /api/client (wrong kind, e.g. a browser or admin token). The client has stopped contacting the server; use a server token.`;
    this.fatal = new RollgateAuthError(message, status);
    this.logger.error?.(message);
    this.stopNetwork();
    for (const w of [...this.readyWaiters]) w.reject(this.fatal);
    this.fail(this.fatal);
  }

  private stopNetwork(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.pollTimer);
    this.reconnectTimer = this.idleTimer = this.pollTimer = undefined;
    if (this.fatal !== undefined) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.polling = false;
    const req = this.streamReq;
    this.streamReq = undefined;
    this.streamRes = undefined;
    this.streamUp = false;
    req?.destroy();
    for (const r of this.inFlight) r.destroy();
    this.inFlight.clear();
  }

  private get stopped(): boolean {
    return this.closed || this.fatal !== undefined;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.token as string}`, 'user-agent': 'rollgate-node-sdk/0.1.0' };
  }

  // -------------------------------------------------------------------------------------------
  // Streaming
  // -------------------------------------------------------------------------------------------

  private connectStream(): void {
    if (this.stopped || this.baseUrl === undefined || this.agents === undefined) return;
    const url = new URL('api/client/stream', this.baseUrl);
    const headers: Record<string, string> = { ...this.headers(), accept: 'text/event-stream', 'cache-control': 'no-cache' };
    const held = this.held;
    if (held?.fromServer === true && held.version !== undefined) headers['last-event-id'] = String(held.version);
    let settled = false;
    const failed = (error: Error) => {
      if (settled || this.streamReq !== req) return;
      settled = true;
      this.streamDown(error);
    };
    const req = startGet(url, headers, false, (res) => {
      if (this.streamReq !== req) {
        res.destroy();
        return;
      }
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c.length + body.length > 4096 ? '' : c));
        res.on('end', () => {
          if (this.streamReq !== req) return;
          settled = true;
          if (status === 401 || status === 403) this.authFailure(status, body);
          else this.streamDown(new Error(`the stream answered ${status}: ${body.slice(0, 200)}`));
        });
        res.on('error', (e) => failed(e));
        return;
      }
      this.streamRes = res;
      this.streamUp = true;
      this.streamFailures = 0;
      this.stopPolling();
      this.confirmed();
      this.touchIdle(req);
      const decoder = new StringDecoder('utf8');
      const parser = new SseParser({
        event: (e) => this.onStreamEvent(e),
        comment: () => this.confirmed(),
      });
      res.on('data', (chunk: Buffer) => {
        if (this.streamReq !== req) return;
        this.touchIdle(req);
        parser.push(decoder.write(chunk));
      });
      res.on('end', () => failed(new Error('the server ended the stream')));
      res.on('close', () => failed(new Error('the stream was closed')));
      res.on('error', (e) => failed(e));
    });
    req.on('error', (e) => failed(e));
    this.streamReq = req;
    this.touchIdle(req, this.settings.requestTimeoutMs);
  }

  /** (Re)arms the timer that drops a silent stream. */
  private touchIdle(req: ClientRequest, ms = this.settings.streamIdleTimeoutMs): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.streamReq === req) req.destroy(new Error(`the stream was silent for ${ms} ms`));
    }, ms);
    this.idleTimer.unref();
  }

  private onStreamEvent(e: SseEvent): void {
    this.confirmed();
    if (e.event === 'snapshot') {
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        this.fail(new Error('the stream sent a snapshot that is not JSON; fetching the snapshot'));
        void this.fetchSnapshot();
        return;
      }
      if (!isSnapshotShape(data)) {
        this.fail(new Error('the stream sent something that is not a snapshot; fetching the snapshot'));
        void this.fetchSnapshot();
        return;
      }
      if (this.accepts(data.version)) this.replace(data, true);
      return;
    }
    if (e.event === 'change') {
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        data = undefined;
      }
      if (!this.applyChanges(data)) void this.fetchSnapshot();
    }
  }

  private streamDown(error: Error): void {
    if (this.stopped) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const req = this.streamReq;
    this.streamReq = undefined;
    this.streamRes = undefined;
    req?.destroy();
    this.streamUp = false;
    this.streamFailures++;
    this.lastError = error;
    this.logger.debug?.(`stream down: ${error.message}`, { failures: this.streamFailures });
    this.setStale(true);
    this.lastError = error;
    if (this.streamFailures >= this.settings.streamFailuresBeforePolling && !this.polling) {
      this.logger.warn?.(`the stream failed ${this.streamFailures} times in a row (${error.message}); polling the snapshot until it is back`);
      this.startPolling(0);
    }
    const delay = backoffDelay(this.streamFailures - 1, this.settings.reconnectBaseMs, this.settings.reconnectMaxMs);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectStream();
    }, delay);
    this.reconnectTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // Polling and full fetches
  // -------------------------------------------------------------------------------------------

  private startPolling(firstDelayMs: number): void {
    if (this.stopped || this.polling) return;
    this.polling = true;
    this.schedulePoll(firstDelayMs);
  }

  private stopPolling(): void {
    this.polling = false;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (!this.polling || this.stopped) return;
      void this.fetchSnapshot().finally(() => {
        if (this.polling && !this.stopped) this.schedulePoll(this.settings.pollIntervalMs);
      });
    }, delayMs);
    this.pollTimer.unref();
  }

  /** GET /api/client/snapshot with If-None-Match; one at a time. */
  private fetchSnapshot(): Promise<void> {
    if (this.fetchInFlight !== undefined) return this.fetchInFlight;
    const run = async () => {
      if (this.stopped || this.baseUrl === undefined || this.agents === undefined) return;
      const headers: Record<string, string> = { ...this.headers(), accept: 'application/json' };
      if (this.etag !== undefined && this.held?.fromServer === true) headers['if-none-match'] = this.etag;
      try {
        const res = await get(new URL('api/client/snapshot', this.baseUrl), headers, this.agents, this.settings.requestTimeoutMs, (req) => {
          this.inFlight.add(req);
          return () => this.inFlight.delete(req);
        });
        if (this.stopped) return;
        if (res.status === 304) {
          this.confirmed();
          return;
        }
        if (res.status === 401 || res.status === 403) {
          this.authFailure(res.status, res.body);
          return;
        }
        if (res.status !== 200) throw new Error(`GET /api/client/snapshot answered ${res.status}: ${res.body.slice(0, 200)}`);
        const data = JSON.parse(res.body) as unknown;
        if (!isSnapshotShape(data)) throw new Error('GET /api/client/snapshot did not answer a snapshot');
        const etag = res.headers.etag;
        this.confirmed();
        if (this.accepts(data.version)) {
          this.etag = typeof etag === 'string' ? etag : undefined;
          this.replace(data, true);
        }
      } catch (e) {
        if (this.stopped) return;
        const error = errorOf(e);
        this.lastError = error;
        if (!this.streamUp) this.setStale(true);
        this.lastError = error;
        this.logger.debug?.(`snapshot request failed: ${error.message}`);
        if (!this.readyFlag || this.polling) this.fail(error);
      }
    };
    this.fetchInFlight = run().finally(() => {
      this.fetchInFlight = undefined;
    });
    return this.fetchInFlight;
  }
}

/**
 * Creates a client. It starts connecting at once (unless `offline`); await
 * `client.ready()` before the first evaluations that matter.
 */
export function createClient(options: ClientOptions): RollgateClient {
  // The one place the SDK reads the process environment: the default of `env`,
  // used only by `overrides.fromEnv`.
  const env = options.env ?? process.env;
  return new RollgateClient(options, env);
}
