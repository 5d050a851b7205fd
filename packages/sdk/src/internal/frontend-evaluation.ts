/**
 * The frontend API as the browser SDK reads it (POST /api/frontend/evaluate,
 * GET /api/frontend/stream). Written out here because the SDK does not import
 * @rollgate/contract; the server's schemas are `frontendEvaluateResponseSchema`
 * and `frontendVersionEventSchema` there.
 */
import type { EvaluationContext, FlagType, JsonValue, Reason } from '@rollgate/core';

/** One flag's result, evaluated by the server for one context. */
export interface FrontendFlagResult {
  /** `null` when no variation was served (then `variant` is absent). */
  readonly value: JsonValue;
  readonly variant?: string;
  readonly reason: Reason;
  readonly ruleId?: string;
  readonly errorCode?: string;
  /** The flag's type (absent for flags the environment does not have). */
  readonly type?: FlagType;
}

/** The answer of POST /api/frontend/evaluate: the snapshot version and every flag's result. */
export interface FrontendEvaluation {
  readonly version: number;
  readonly flags: Readonly<Record<string, FrontendFlagResult>>;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` has the shape of a frontend evaluation (its flags are checked when read). */
export function isFrontendEvaluation(value: unknown): value is FrontendEvaluation {
  return isRecord(value) && typeof value.version === 'number' && isRecord(value.flags);
}

/**
 * A context as a string that is the same for equal contexts whatever the
 * order of their attributes: the key of the client's cache, and what tells
 * whether a new context differs from the one held.
 */
export function contextKeyOf(context: EvaluationContext): string {
  return JSON.stringify(context, Object.keys(context).sort());
}

/** Whether `value` can be served for a flag of type `type` (the core's rule: `json` takes any object, null included). */
export function typeMatches(type: string, value: unknown): boolean {
  return type === 'json' ? typeof value === 'object' : typeof value === type;
}
