/**
 * @rollgate/sdk/openfeature: an OpenFeature server provider
 * (`@openfeature/server-sdk`, an optional peer dependency) backed by a
 * RollgateClient. Evaluations are the client's `evaluate` (local, synchronous)
 * mapped to OpenFeature's resolution details; the client's events become
 * provider events. See docs/sdk.md, "OpenFeature".
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderFatalError,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { createClient, RollgateAuthError, RollgateClient, type ClientOptions, type Logger, type UpdateEvent } from './client.js';
import { resolutionMapper, toRollgateContext } from './internal/openfeature-mapping.js';

export { toRollgateContext };

export interface RollgateProviderOptions {
  /** How long `initialize` waits for the client's first snapshot, in ms. Default 10,000 (the client's `ready()` default). */
  readyTimeoutMs?: number;
  /**
   * Whether `onClose` (OpenFeature.close(), or the provider being replaced)
   * closes the client. Default: true when the provider created the client
   * (constructed from ClientOptions), false for a client passed in.
   */
  closeClient?: boolean;
  /** Where the provider logs (the client's `logger` when built from ClientOptions, else console.warn / console.error). */
  logger?: Logger;
}

/** Rollgate results as this SDK's resolution details (shared with the web provider). */
const toResolution = resolutionMapper<ErrorCode>({ reasons: StandardResolutionReasons, errorCodes: ErrorCode });

function isClient(value: unknown): value is RollgateClient {
  return value instanceof RollgateClient;
}

/** The OpenFeature server provider for Rollgate. */
export class RollgateProvider implements Provider {
  readonly metadata = { name: 'rollgate' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The Rollgate client behind the provider. */
  readonly client: RollgateClient;

  private readonly readyTimeoutMs: number | undefined;
  private readonly closeClient: boolean;
  private readonly logger: Logger;
  /** initialize() resolved (or the client became ready after it failed): client events are forwarded. */
  private forwarding = false;
  private initFailed = false;
  private inError = false;
  private readonly listeners: { ready: () => void; update: (e: UpdateEvent) => void; stale: (s: boolean) => void; error: (e: Error) => void };

  /**
   * From an existing client (`new RollgateProvider(client)`), or from the
   * client's options (`new RollgateProvider({ url, token })`), in which case
   * the provider creates the client and closes it in `onClose`.
   */
  constructor(clientOrOptions: RollgateClient | ClientOptions, options: RollgateProviderOptions = {}) {
    const own = !isClient(clientOrOptions);
    this.client = isClient(clientOrOptions) ? clientOrOptions : createClient(clientOrOptions);
    this.readyTimeoutMs = options.readyTimeoutMs;
    this.closeClient = options.closeClient ?? own;
    this.logger = options.logger ??
      (isClient(clientOrOptions) ? undefined : clientOrOptions.logger) ?? {
        warn: (m, d) => console.warn(`[rollgate] ${m}`, d ?? ''),
        error: (m, d) => console.error(`[rollgate] ${m}`, d ?? ''),
      };
    this.listeners = {
      ready: () => this.onClientReady(),
      update: (e) => this.onClientUpdate(e),
      stale: (s) => this.onClientStale(s),
      error: (e) => this.onClientError(e),
    };
    this.client.on('ready', this.listeners.ready);
    this.client.on('update', this.listeners.update);
    this.client.on('stale', this.listeners.stale);
    this.client.on('error', this.listeners.error);
  }

  /** Waits for the client's first snapshot. A refused token (401/403) makes the provider FATAL. */
  async initialize(): Promise<void> {
    try {
      await this.client.ready(this.readyTimeoutMs);
    } catch (e) {
      this.initFailed = true;
      if (e instanceof RollgateAuthError) throw new ProviderFatalError(e.message, { cause: e });
      throw e;
    }
    this.forwarding = true;
    // A client that lost the server while the SDK was initializing: say so once the SDK is READY.
    if (this.client.stale) setImmediate(() => this.client.stale && this.events.emit(ProviderEvents.Stale, { message: 'the Rollgate server cannot be reached; serving the last snapshot' }));
  }

  /** Detaches from the client, and closes it when the provider created it (see `closeClient`). */
  onClose(): Promise<void> {
    this.forwarding = false;
    this.client.off('ready', this.listeners.ready);
    this.client.off('update', this.listeners.update);
    this.client.off('stale', this.listeners.stale);
    this.client.off('error', this.listeners.error);
    return this.closeClient ? this.client.close() : Promise.resolve();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  /**
   * OpenFeature's tracking API: the client's `track(eventName, value, context)`,
   * with `details.value` as the value (1 without one). The event name is the
   * metric key (e.g. `error-rate`); see docs/sdk.md "Rollout metrics".
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails?: TrackingEventDetails): void {
    const value = typeof trackingEventDetails?.value === 'number' ? trackingEventDetails.value : 1;
    this.client.track(trackingEventName, value, toRollgateContext(context));
  }

  /** The client's result as OpenFeature resolution details. */
  private resolve<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return toResolution(this.client.evaluate(flagKey, toRollgateContext(context), defaultValue));
  }

  // -------------------------------------------------------------------------------------------
  // The client's events as provider events
  // -------------------------------------------------------------------------------------------

  /** The client became ready after initialize() had failed (e.g. timed out): the provider is READY now. */
  private onClientReady(): void {
    if (!this.initFailed || this.forwarding) return;
    this.forwarding = true;
    this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate client loaded its first snapshot' });
  }

  private onClientUpdate(e: UpdateEvent): void {
    if (!this.forwarding) return;
    this.recovered();
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: e.changedFlags, metadata: e.version === undefined ? {} : { version: e.version } });
  }

  private onClientStale(stale: boolean): void {
    if (!this.forwarding) return;
    if (stale) this.events.emit(ProviderEvents.Stale, { message: 'the Rollgate server cannot be reached; serving the last snapshot' });
    else {
      this.inError = false;
      this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate server is reachable again' });
    }
  }

  private onClientError(error: Error): void {
    // Without this provider the client would log its errors; keep that unless someone else listens.
    if (this.client.listenerCount('error') === 1) this.logger.warn?.(error.message);
    const fatal = error instanceof RollgateAuthError;
    // Before initialize() settles, it reports the outcome itself (a fatal error rejects ready()).
    if (!this.forwarding) return;
    this.inError = true;
    this.events.emit(ProviderEvents.Error, fatal ? { message: error.message, errorCode: ErrorCode.PROVIDER_FATAL } : { message: error.message });
  }

  /** A new snapshot after an error: the provider is READY again. */
  private recovered(): void {
    if (!this.inError) return;
    this.inError = false;
    this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate client received a new snapshot' });
  }
}
