/**
 * @rollgate/sdk/openfeature-web: an OpenFeature web provider
 * (`@openfeature/web-sdk`, an optional peer dependency) backed by the
 * browser client. OpenFeature's web SDK has one static context: the provider
 * evaluates it on the server when it is set (`initialize`, `onContextChange`)
 * and then resolves every flag synchronously from that answer. The client's
 * events become provider events. See docs/sdk.md, "OpenFeature in the browser".
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
} from '@openfeature/web-sdk';
import { BrowserClient, createBrowserClient, RollgateAuthError, type BrowserClientOptions, type BrowserUpdateEvent } from './browser.js';
import { consoleLogger, type Logger } from './internal/logger.js';
import { resolutionMapper, toRollgateContext } from './internal/openfeature-mapping.js';

export interface RollgateWebProviderOptions {
  /** How long `initialize` waits for flags when the cache has none for the context, in ms. Default 10,000. */
  readyTimeoutMs?: number;
  /**
   * Whether `onClose` closes the client. Default: true when the provider
   * created the client (constructed from options), false for a client passed in.
   */
  closeClient?: boolean;
  /** Where the provider logs (default: the options' `logger`, else the console). */
  logger?: Logger;
}

/** Rollgate results as the web SDK's resolution details (shared with the server provider). */
const toResolution = resolutionMapper<ErrorCode>({ reasons: StandardResolutionReasons, errorCodes: ErrorCode });
const STALE_MESSAGE = 'the Rollgate server cannot be reached; serving the last answer';
const noop = () => {};

/**
 * The OpenFeature web provider for Rollgate.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new RollgateWebProvider({ url: 'https://rollgate.example.com', token: 'rg_browser_...' }));
 * await OpenFeature.setContext({ targetingKey: user.id, country: 'FR' });
 * const on = OpenFeature.getClient().getBooleanValue('new-checkout', false);
 */
export class RollgateWebProvider implements Provider {
  readonly metadata = { name: 'rollgate' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The browser client behind the provider. */
  readonly client: BrowserClient;

  private readonly readyTimeoutMs: number;
  private readonly closeClient: boolean;
  private readonly logger: Logger;
  /** initialize() resolved (or the client got flags after it failed): client events are forwarded. */
  private forwarding = false;
  private initFailed = false;
  private inError = false;
  /** Context changes in progress: their updates are the SDK's CONTEXT_CHANGED, not a configuration change. */
  private reconciling = 0;
  private readonly detach: (() => void)[];

  /**
   * From an existing client, or from the client's options (the provider
   * creates the client, starts it in `initialize` with OpenFeature's context,
   * and closes it in `onClose`).
   */
  constructor(clientOrOptions: BrowserClient | BrowserClientOptions, options: RollgateWebProviderOptions = {}) {
    const own = !(clientOrOptions instanceof BrowserClient);
    this.client = clientOrOptions instanceof BrowserClient ? clientOrOptions : createBrowserClient({ ...clientOrOptions, deferStart: true });
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    this.closeClient = options.closeClient ?? own;
    this.logger = options.logger ?? (clientOrOptions instanceof BrowserClient ? undefined : clientOrOptions.logger) ?? consoleLogger;
    this.detach = [
      this.client.on('ready', () => this.afterFailedInit()),
      this.client.on('update', (e) => this.onClientUpdate(e)),
      this.client.on('stale', (s) => this.onClientStale(s)),
      this.client.on('error', (e) => this.onClientError(e)),
    ];
  }

  /**
   * Evaluates OpenFeature's context (the client's own when OpenFeature's is
   * empty). Resolves at once when the cache has an answer for it, else when
   * the server answers. A refused token (401/403) makes the provider FATAL.
   */
  async initialize(context?: EvaluationContext): Promise<void> {
    const wanted = context !== undefined && Object.keys(context).length > 0 ? toRollgateContext(context) : this.client.context;
    try {
      this.client.start();
      const applying = this.client.setContext(wanted);
      if (this.client.isReady) applying.catch(noop);
      else await Promise.race([applying, this.client.ready(this.readyTimeoutMs)]);
    } catch (e) {
      this.initFailed = true;
      if (e instanceof RollgateAuthError) throw new ProviderFatalError(e.message, { cause: e });
      throw e;
    }
    this.forwarding = true;
    // A client that cannot reach the server (serving its cache): say so once the SDK is READY.
    if (this.client.stale) setTimeout(() => this.client.stale && this.events.emit(ProviderEvents.Stale, { message: STALE_MESSAGE }), 0);
  }

  /** OpenFeature's context changed: evaluates the new one (the SDK is RECONCILING until it is done). */
  onContextChange(_oldContext: EvaluationContext, newContext: EvaluationContext): Promise<void> {
    this.reconciling++;
    return this.client
      .setContext(toRollgateContext(newContext))
      .catch((e: unknown) => {
        // The SDK reports the failure (PROVIDER_ERROR); the next answer makes the provider READY again.
        this.inError = true;
        throw e;
      })
      .finally(() => this.reconciling--);
  }

  /** Detaches from the client, and closes it when the provider created it (see `closeClient`). */
  async onClose(): Promise<void> {
    this.forwarding = false;
    for (const off of this.detach) off();
    if (this.closeClient) this.client.close();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return toResolution(this.client.evaluate(flagKey, defaultValue));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return toResolution(this.client.evaluate(flagKey, defaultValue));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return toResolution(this.client.evaluate(flagKey, defaultValue));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return toResolution(this.client.evaluate(flagKey, defaultValue));
  }

  /**
   * OpenFeature's tracking API: the client's `track(eventName, value, context)`
   * with `details.value` as the value (1 without one), which emits the
   * client's `track` event (the browser SDK sends nothing itself).
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails?: TrackingEventDetails): void {
    this.client.track(trackingEventName, typeof trackingEventDetails?.value === 'number' ? trackingEventDetails.value : 1, toRollgateContext(context));
  }

  // -------------------------------------------------------------------------------------------
  // The client's events as provider events
  // -------------------------------------------------------------------------------------------

  /** The client got flags after initialize() had failed (e.g. timed out): the provider is READY now. */
  private afterFailedInit(): boolean {
    if (this.forwarding || !this.initFailed || !this.client.isReady) return false;
    this.forwarding = true;
    this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate client has flags for the context' });
    return true;
  }

  private onClientUpdate(e: BrowserUpdateEvent): void {
    if (!this.forwarding) {
      this.afterFailedInit();
      return;
    }
    if (this.inError && this.client.isReady) {
      this.inError = false;
      this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate client received a new answer' });
    }
    if (this.reconciling > 0) return;
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: e.changedFlags, metadata: { version: e.version } });
  }

  private onClientStale(stale: boolean): void {
    if (!this.forwarding) return;
    if (stale) this.events.emit(ProviderEvents.Stale, { message: STALE_MESSAGE });
    else {
      this.inError = false;
      this.events.emit(ProviderEvents.Ready, { message: 'the Rollgate server is reachable again' });
    }
  }

  private onClientError(error: Error): void {
    // Without this provider the client would log its errors; keep that unless someone else listens.
    if (this.client.listenerCount('error') === 1) this.logger.warn?.(error.message);
    const fatal = error instanceof RollgateAuthError;
    // Before initialize() settles it reports the outcome itself; a context change reports its own failure.
    if (!this.forwarding || (this.reconciling > 0 && !fatal)) return;
    this.inError = true;
    this.events.emit(ProviderEvents.Error, fatal ? { message: error.message, errorCode: ErrorCode.PROVIDER_FATAL } : { message: error.message });
  }
}
