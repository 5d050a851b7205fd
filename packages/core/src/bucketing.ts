/**
 * Bucketing functions, as the evaluator applies them, for tools and tests
 * that need a context's bucket without a flag (the dashboard's "who is in",
 * cohort attribution, the conformance suite).
 */
import { murmur3, murmur3CharCodes } from './murmur3.js';
import { BUCKETS } from './validate.js';

/**
 * The `rollgate/v1` bucket of `value` under `salt`: `murmur3(utf8(salt + ":" + value)) mod 100000`.
 * A context is in a rollout of p% iff its bucket is below `p * 1000`.
 *
 * @example
 * bucket('new-checkout', 'user-42') < 25_000; // in a 25% rollout of new-checkout?
 */
export function bucket(salt: string, value: string): number {
  return murmur3(`${salt}:${value}`) % BUCKETS;
}

/**
 * Unleash's `normalizedHash`: `murmur3(groupId + ":" + id, seed) % normalizer + 1`,
 * hashing the low byte of each UTF-16 code unit as Unleash's SDKs do.
 *
 * @example
 * unleashNormalizedHash('user-42', 'new-checkout') <= 25; // in Unleash's 25% rollout?
 */
export function unleashNormalizedHash(id: string, groupId: string, normalizer = 100, seed = 0): number {
  return (murmur3CharCodes(`${groupId}:${id}`, seed) % normalizer) + 1;
}
