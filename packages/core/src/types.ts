/**
 * Domain types of flag evaluation. These are the shapes of one environment's
 * snapshot as the server stores and serves it and as every evaluator reads it.
 * API schemas (packages/contract) map to and from these; nothing here knows HTTP.
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The four flag types. A flag's variations all hold values of its type. */
export type FlagType = 'boolean' | 'string' | 'number' | 'json';

/** One value a flag can serve, named by a key that is unique within the flag. */
export interface Variation {
  key: string;
  value: JsonValue;
  name?: string;
  description?: string;
}

/** Attribute values a context may hold. Arrays match when any element matches. */
export type ContextValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[];

/**
 * The subject of an evaluation: a user, a session, a device, a request.
 * `userId` and `sessionId` are the default stickiness attributes.
 */
export interface EvaluationContext {
  [attribute: string]: ContextValue | unknown;
}

/** Every operator a condition can use. */
export type Operator =
  | 'in'
  | 'notIn'
  | 'equals'
  | 'startsWith'
  | 'endsWith'
  | 'contains'
  | 'matches'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'numEq'
  | 'before'
  | 'after'
  | 'semverEq'
  | 'semverLt'
  | 'semverLte'
  | 'semverGt'
  | 'semverGte'
  | 'cidr'
  | 'exists';

/**
 * One test of one context attribute.
 *
 * A missing attribute (undefined or null) fails every operator but `exists`,
 * whether or not the condition is negated: "not in [US]" does not match a
 * context that has no country.
 */
export interface Condition {
  attribute: string;
  operator: Operator;
  /** Compared values; the condition holds when the attribute matches any of them. Ignored by `exists`. */
  values: readonly (string | number | boolean)[];
  /** Inverts the result (for a present attribute; see above). */
  negate?: boolean;
  /** String operators compare case-insensitively. */
  caseInsensitive?: boolean;
  /**
   * Whose rules the condition follows. `rollgate` (default) is described above.
   * `unleash` is the semantics of an Unleash constraint, for flags imported from
   * Unleash (docs/evaluation.md, "Unleash constraints"): the attribute is taken
   * as it is (no array elements, strings only for string operators, numbers by
   * JavaScript's `Number()`), and a missing attribute matches `notIn`, and any
   * negated condition, as it does in Unleash.
   */
  dialect?: 'rollgate' | 'unleash';
}

/** A weighted share of a rollout. Weights are in thousandths of a percent (1,000 = 1%). */
export interface WeightedVariation {
  variation: string;
  weight: number;
}

/**
 * How contexts are assigned to buckets.
 * - `rollgate/v1`: murmur3 x86 32-bit over the UTF-8 bytes of `salt:value`, mod 100,000.
 * - `unleash/v1`: Unleash's `normalizedHash` (percentages in whole points, variants with seed 86028157).
 * Algorithms are versioned and never changed in place.
 */
export type BucketingAlgorithm = 'rollgate/v1' | 'unleash/v1';

/**
 * A percentage rollout: the first `percentage` of buckets are in the rollout and
 * get `variation` (or one of `variants`); the others get `otherwise`.
 */
export interface Rollout {
  /** 0..100, with up to three decimals (0.001% resolution). `unleash/v1` uses whole points. */
  percentage: number;
  /** Served to contexts in the rollout. Exactly one of `variation` and `variants`. */
  variation?: string;
  /** Split of the contexts in the rollout. `rollgate/v1`: weights sum to 100,000. */
  variants?: readonly WeightedVariation[];
  /** Served to contexts outside the rollout; defaults to the flag's `offVariation`. */
  otherwise?: string;
  /**
   * Attributes tried in order; the first present one is the stickiness value.
   * Default `['userId', 'sessionId']`. The name `random` means a random draw.
   * With no value found, the context is not in the rollout (unless `random` is listed).
   */
  stickiness?: readonly string[];
  /** Hash salt for the in/out decision; defaults to the flag key (Unleash: the groupId). */
  salt?: string;
  /** Hash salt for the variant choice; defaults to `salt + ":variants"` (Unleash: the flag key). */
  variantSalt?: string;
  bucketing?: BucketingAlgorithm;
  /**
   * Attributes tried in order for the variant choice; default `stickiness`.
   * Unleash picks variants with its own fallback list (`userId`, `sessionId`,
   * `remoteAddress`, then random), which can differ from the rollout's.
   */
  variantStickiness?: readonly string[];
  /**
   * In a rule: contexts outside the rollout (or without a stickiness value) go
   * on to the next rule, then the fallthrough, instead of getting `otherwise`.
   * This is how Unleash ORs the strategies of one feature. Not allowed in the fallthrough.
   */
  continueOutside?: boolean;
}

/** What a rule or the fallthrough serves: one variation, or a rollout. */
export type Serve = { variation: string; rollout?: undefined } | { rollout: Rollout; variation?: undefined };

/** A targeting rule: all conditions and all referenced segments must match. */
export interface Rule {
  id: string;
  description?: string;
  conditions?: readonly Condition[];
  /** Segment keys; the context must be in every one. */
  segments?: readonly string[];
  serve: Serve;
}

/** Individual targeting: these exact attribute values get this variation. */
export interface Target {
  variation: string;
  values: readonly string[];
  /** Attribute compared; default `userId`. */
  attribute?: string;
}

/** The flag must evaluate to one of `variations` for this flag to go on. */
export interface Prerequisite {
  flag: string;
  variations: readonly string[];
  /**
   * Inverts the prerequisite: met when the flag is disabled or serves none of
   * `variations` (still not met when the flag is missing or in error). Unleash's
   * "parent must be disabled" dependency.
   */
  negate?: boolean;
}

/** One flag as configured in one environment. */
export interface FlagConfig {
  key: string;
  type: FlagType;
  variations: readonly Variation[];
  /** The kill switch: when false the flag serves `offVariation` to everyone. */
  enabled: boolean;
  offVariation: string;
  prerequisites?: readonly Prerequisite[];
  targets?: readonly Target[];
  rules?: readonly Rule[];
  fallthrough: Serve;
  /** Default salt of this flag's rollouts; defaults to the key. */
  salt?: string;
  version?: number;
}

/** A named audience ("internal team", "pilot users"). */
export interface Segment {
  key: string;
  name?: string;
  /** Values of `attribute` that are always in. */
  included?: readonly string[];
  /** Values of `attribute` that are always out; wins over everything else. */
  excluded?: readonly string[];
  /** Attribute compared with `included` and `excluded`; default `userId`. */
  attribute?: string;
  /** A context is in the segment when any rule's conditions all hold. */
  rules?: readonly { conditions: readonly Condition[] }[];
}

/** Everything an evaluator needs for one environment. */
export interface Snapshot {
  environment?: string;
  version?: number | string;
  flags: readonly FlagConfig[];
  segments?: readonly Segment[];
}

/** OpenFeature's resolution reasons. */
export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

/** OpenFeature's error codes that evaluation can return. */
export type ErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'PARSE_ERROR' | 'GENERAL';

/** The answer of one evaluation. Results for configured outcomes are shared, frozen objects. */
export interface EvaluationResult<T = JsonValue> {
  readonly value: T;
  /** The served variation's key; undefined when the caller's default was returned. */
  readonly variant: string | undefined;
  readonly reason: Reason;
  /** The id of the rule that decided (absent for individual targets and the fallthrough). */
  readonly ruleId?: string;
  /** The prerequisite flag that was not met, when that decided. */
  readonly prerequisite?: string;
  readonly errorCode?: ErrorCode;
  readonly errorMessage?: string;
}
