import { evaluate, type EvaluationResult, type FlagConfig, type JsonValue, type Snapshot } from '@rollgate/core';
import type { Flag, Segment } from '../../api/types.js';

/** An environment's snapshot as the SDKs receive it: every flag's configuration there, and the segments. */
export function environmentSnapshot(flags: readonly Flag[], segments: readonly Segment[], environmentKey: string): Snapshot {
  const configs: FlagConfig[] = [];
  for (const f of flags) {
    const fe = f.environments[environmentKey];
    if (fe === undefined || f.archived) continue;
    configs.push({ key: f.key, type: f.type, variations: f.variations as FlagConfig['variations'], ...fe.config, version: fe.version } as FlagConfig);
  }
  return { environment: environmentKey, flags: configs, segments: segments.map((s) => ({ key: s.key, name: s.name, ...s.definition })) };
}

/** Parses the context a person typed; an error message instead when it is not a JSON object. */
export function parseContext(text: string): { context: Record<string, unknown> } | { error: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'The context must be a JSON object, e.g. {"userId": "user-42", "country": "DE"}' };
    return { context: value as Record<string, unknown> };
  } catch (e) {
    return { error: `Not valid JSON: ${(e as Error).message}` };
  }
}

/** What `context` gets from `flagKey` in the snapshot, and why: the core evaluator the SDKs run. */
export function whatDoesItGet(snapshot: Snapshot, flagKey: string, context: Record<string, unknown>): EvaluationResult<JsonValue> {
  const type = snapshot.flags.find((f) => f.key === flagKey)?.type;
  return evaluate<JsonValue>(snapshot, flagKey, context as Parameters<typeof evaluate>[2], defaultOf(type));
}

/** The default an application passes for a flag of `type` (the SDKs check that it has the flag's type). */
export function defaultOf(type: FlagConfig['type'] | undefined): JsonValue {
  return type === 'boolean' ? false : type === 'string' ? '' : type === 'number' ? 0 : {};
}

/** The reason in words, naming the rule that matched. */
export function explain(result: EvaluationResult<JsonValue>, flag: Pick<FlagConfig, 'rules'> | undefined): string {
  switch (result.reason) {
    case 'DISABLED':
      return 'The flag is off in this environment (kill switch): everyone gets the off variation.';
    case 'TARGETING_MATCH':
      if (result.prerequisite !== undefined) return `Prerequisite ${result.prerequisite} is not met, so the off variation is served.`;
      if (result.ruleId !== undefined) {
        const index = (flag?.rules ?? []).findIndex((r) => r.id === result.ruleId);
        return `Rule ${index + 1} (${result.ruleId}) matched.`;
      }
      return 'Individually targeted.';
    case 'SPLIT':
      return result.ruleId !== undefined ? `Rule ${result.ruleId} matched; its percentage split placed this context.` : 'No rule matched; the default rule’s percentage split placed this context.';
    case 'DEFAULT':
      return 'No rule matched: the default rule served it.';
    case 'STATIC':
      return 'The flag serves one variation to everyone.';
    case 'ERROR':
      return `Error ${result.errorCode ?? ''}: ${result.errorMessage ?? 'the default was returned'}`;
  }
}
