/**
 * @rollgate/sdk: the Node server SDK. `createClient` keeps one environment's
 * snapshot current (Server-Sent Events, or polling) and evaluates flags locally
 * with the core evaluator. See docs/sdk.md.
 */
export {
  createClient,
  RollgateClient,
  RollgateAuthError,
  RollgateTimeoutError,
  type ClientOptions,
  type ClientEvents,
  type Logger,
  type SdkErrorCode,
  type SdkEvaluationResult,
  type UpdateEvent,
} from './client.js';
export { envKeyOf, type OverrideOptions } from './overrides.js';
export type { Cohort, FlushResult, MetricsOptions, TrackOptions } from './metrics.js';
export { compileSnapshot, evaluate } from '@rollgate/core';
export type { EvaluationContext, EvaluationResult, JsonValue, Snapshot, FlagConfig, Segment } from '@rollgate/core';
