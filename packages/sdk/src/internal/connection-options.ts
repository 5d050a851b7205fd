/** How a client follows the server: the options the Node and browser clients share (types only). */
export interface ConnectionOptions {
  /** Follow changes over the server's stream (default true); false polls instead. */
  stream?: boolean;
  /** Polling interval when polling (stream off, failing or unsupported), in ms. Default 30,000. */
  pollIntervalMs?: number;
  /** Timeout of a request, and of the stream's response head, in ms. Default 10,000. */
  requestTimeoutMs?: number;
  /** A stream silent for this long (no event, no heartbeat) is reconnected. Default 60,000 (the server's heartbeat is 15 s). */
  streamIdleTimeoutMs?: number;
  /** First reconnect delay ceiling, in ms (exponential backoff with full jitter). Default 1,000. */
  reconnectBaseMs?: number;
  /** Largest reconnect delay, in ms. Default 30,000. */
  reconnectMaxMs?: number;
  /** Consecutive stream failures after which the client also polls until the stream is back. Default 3. */
  streamFailuresBeforePolling?: number;
}
