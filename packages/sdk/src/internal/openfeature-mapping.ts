/**
 * What the two OpenFeature providers (server and web) share: a Rollgate
 * result as OpenFeature resolution details, and an OpenFeature context as a
 * Rollgate context. Pure and without run-time imports: each provider passes
 * its own SDK's `StandardResolutionReasons` and `ErrorCode` (both SDKs
 * re-export @openfeature/core's), so neither provider loads the other's SDK.
 */
import type { EvaluationContext as RollgateContext } from '@rollgate/core';

/** A Rollgate evaluation result: the server client's or the browser client's. */
export interface ResultLike<T> {
  readonly value: T;
  readonly variant: string | undefined;
  readonly reason: string;
  readonly ruleId?: string;
  readonly prerequisite?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** The part of an OpenFeature SDK's vocabulary the mapping uses: its `StandardResolutionReasons` and its `ErrorCode` enum. */
export interface OpenFeatureVocabulary<E extends string> {
  reasons: { readonly STATIC: string; readonly TARGETING_MATCH: string; readonly SPLIT: string; readonly DISABLED: string; readonly DEFAULT: string; readonly ERROR: string; readonly UNKNOWN: string };
  errorCodes: { readonly FLAG_NOT_FOUND: E; readonly TYPE_MISMATCH: E; readonly PARSE_ERROR: E; readonly GENERAL: E; readonly PROVIDER_NOT_READY: E };
}

/** OpenFeature's ResolutionDetails, structurally (assignable to either SDK's). */
export interface Resolution<T, E extends string> {
  value: T;
  reason: string;
  variant?: string;
  errorCode?: E;
  errorMessage?: string;
  flagMetadata?: Record<string, string>;
}

/**
 * The mapping for one SDK: reasons STATIC, TARGETING_MATCH, SPLIT, DISABLED,
 * DEFAULT, ERROR to OpenFeature's of the same name (anything else: UNKNOWN);
 * error codes (FLAG_NOT_FOUND, TYPE_MISMATCH, PARSE_ERROR, GENERAL,
 * PROVIDER_NOT_READY) to the `ErrorCode` of the same name (a code OpenFeature
 * does not have: GENERAL), with the message;
 * `ruleId` and `prerequisite` as flagMetadata.
 *
 * @example
 * const toResolution = resolutionMapper<ErrorCode>({ reasons: StandardResolutionReasons, errorCodes: ErrorCode });
 * const details = toResolution(client.evaluate('new-checkout', ctx, false));
 */
export function resolutionMapper<E extends string>(vocabulary: OpenFeatureVocabulary<E>): <T>(r: ResultLike<T>) => Resolution<T, E> {
  const { reasons, errorCodes } = vocabulary;
  const reasonOf = new Map<string, string>(Object.entries({ STATIC: reasons.STATIC, TARGETING_MATCH: reasons.TARGETING_MATCH, SPLIT: reasons.SPLIT, DISABLED: reasons.DISABLED, DEFAULT: reasons.DEFAULT, ERROR: reasons.ERROR }));
  const codeOf = new Map<string, E>(Object.entries(errorCodes) as [string, E][]);
  return <T>(r: ResultLike<T>): Resolution<T, E> => {
    const details: Resolution<T, E> = { value: r.value, reason: reasonOf.get(r.reason) ?? reasons.UNKNOWN };
    if (r.variant !== undefined) details.variant = r.variant;
    if (r.errorCode !== undefined) {
      details.errorCode = codeOf.get(r.errorCode) ?? errorCodes.GENERAL;
      if (r.errorMessage !== undefined) details.errorMessage = r.errorMessage;
    }
    if (r.ruleId !== undefined || r.prerequisite !== undefined) {
      const metadata: Record<string, string> = {};
      if (r.ruleId !== undefined) metadata.ruleId = r.ruleId;
      if (r.prerequisite !== undefined) metadata.prerequisite = r.prerequisite;
      details.flagMetadata = metadata;
    }
    return details;
  };
}

/**
 * OpenFeature's context as a Rollgate context: `targetingKey` becomes `userId`
 * unless the context has a `userId` already; every other attribute (and
 * `targetingKey` itself) is passed as it is. The SDKs hand providers a frozen
 * context, so a copy is made only when `userId` has to be added.
 */
export function toRollgateContext(context: { readonly targetingKey?: string; readonly [attribute: string]: unknown } | undefined): RollgateContext {
  if (context === undefined) return {};
  const key = context.targetingKey;
  if (typeof key !== 'string' || key === '' || context.userId !== undefined) return context;
  return { ...context, userId: key };
}
