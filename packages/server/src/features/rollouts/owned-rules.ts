/**
 * The rules a rollout owns in its flag's configuration. A running rollout puts
 * them at the front of the flag's rules in the stage's environment:
 *
 * - `rollout:<id>:segment:<key>`, one per segment of the stage's audience,
 *   serving the rollout's variation to that segment (one rule each, because
 *   a rule's segments must all match and the audience is their union);
 * - `rollout:<id>`, with no conditions, serving
 *   `{ rollout: { percentage, variation } }`: that percentage of everyone
 *   else gets the variation, the others the flag's off variation. Nobody falls
 *   through to the flag's own rules: the rollout owns the flag's audience.
 *
 * While the rollout is active, a manual edit of any `rollout:` rule of the
 * flag is refused (see {@link assertOwnedRulesUnchanged}).
 */
import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { Audience, Experiment } from '@rollgate/core';
import type { Sql } from '../../db/database.js';
import { ApiError } from '../../http/errors.js';
import { activeRolloutsOfFlag } from './rollout-store.js';

type Rule = NonNullable<FlagEnvironmentConfig['rules']>[number];

export const OWNED_PREFIX = 'rollout:';

/** The id of a rollout's percentage rule. */
export const ownedRuleId = (rolloutId: string): string => `${OWNED_PREFIX}${rolloutId}`;

/** Whether `ruleId` is one of the rules of rollout `rolloutId`. */
export function isOwnedBy(ruleId: string, rolloutId: string): boolean {
  const base = ownedRuleId(rolloutId);
  return ruleId === base || ruleId.startsWith(`${base}:`);
}

/** The rollout rules a configuration holds for `rolloutId`. */
export function ownedRules(config: FlagEnvironmentConfig, rolloutId: string): Rule[] {
  return (config.rules ?? []).filter((r) => isOwnedBy(r.id, rolloutId));
}

/**
 * `config` with the rules of `rolloutId` replaced by those serving `audience`
 * (`null`: 0%, no segments), at the front of the rules. With an `experiment`,
 * the percentage rule splits its contexts across the experiment's groups by
 * weight (an independent variant salt, so the split never reshuffles who is in).
 */
export function withOwnedRules(config: FlagEnvironmentConfig, rolloutId: string, variation: string, audience: Audience | null, experiment?: Experiment): FlagEnvironmentConfig {
  const others = (config.rules ?? []).filter((r) => !isOwnedBy(r.id, rolloutId));
  const base = ownedRuleId(rolloutId);
  const owned: Rule[] = [];
  for (const segment of audience?.segments ?? []) {
    owned.push({ id: `${base}:segment:${segment}`, description: `Staged rollout ${rolloutId}: segment ${segment}`, segments: [segment], serve: { variation } });
  }
  owned.push({
    id: base,
    description: `Staged rollout ${rolloutId}: managed by the rollout; act through its API`,
    serve:
      experiment !== undefined && audience !== null
        ? { rollout: { percentage: audience.percentage ?? 0, variants: experiment.groups.map((g) => ({ variation: g.variation, weight: g.weight })) } }
        : { rollout: { percentage: audience?.percentage ?? 0, variation } },
  });
  return { ...config, rules: [...owned, ...others] };
}

/** JSON with object keys sorted: jsonb and zod order keys differently, and order does not matter. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const rolloutRules = (config: FlagEnvironmentConfig): string => canonicalJson((config.rules ?? []).filter((r) => r.id.startsWith(OWNED_PREFIX)));

/**
 * Refuses a manual change of a flag configuration that changes, removes or
 * adds `rollout:` rules while a rollout of the flag is active (409
 * INVALID_STATE naming the rollout). Call it in the writing transaction.
 */
export async function assertOwnedRulesUnchanged(sql: Sql, projectKey: string, flagId: string, before: FlagEnvironmentConfig, after: FlagEnvironmentConfig): Promise<void> {
  if (rolloutRules(before) === rolloutRules(after)) return;
  const [active] = await activeRolloutsOfFlag(sql, flagId);
  if (active === undefined) return;
  throw new ApiError(
    'INVALID_STATE',
    `Rollout ${active.id} owns this flag's "rollout:" rules while it is ${active.status}: leave them as they are and act through /api/projects/${projectKey}/rollouts/${active.id} instead (advance, hold, rollback, abort...)`,
    { state: active.status, rolloutId: active.id },
  );
}
