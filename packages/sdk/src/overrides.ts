/**
 * Local overrides, for development and tests only: force a flag's value, or
 * set its fallthrough rollout percentage, on top of whatever snapshot the
 * client holds. They are applied to a copy of the snapshot before it is
 * compiled, so evaluation stays the core's and costs nothing extra.
 *
 * - A forced flag becomes `enabled`, with no prerequisites, targets or rules,
 *   serving one variation: the core answers it with reason `STATIC`.
 * - A rollout override replaces the fallthrough with a rollout of that
 *   percentage (the kill switch, targets and rules stay as configured).
 */
import { valueMatchesType, type FlagConfig, type FlagType, type JsonValue, type Variation } from '@rollgate/core';

/** `overrides` option of the client. Nothing here is read unless it is given. */
export interface OverrideOptions {
  /**
   * Read `ROLLGATE_FLAG_<KEY>=on|off|<variation key>|<JSON value>` and
   * `ROLLGATE_ROLLOUT_<KEY>=<percentage>` from the client's `env` option
   * (default `process.env`). `<KEY>` is the flag key upper-cased, with every
   * character other than A-Z and 0-9 replaced by `_` (`new-checkout` -> `NEW_CHECKOUT`).
   */
  fromEnv?: boolean;
  /** Forced flags by exact key: `'on'`, `'off'`, a variation key, or a value of the flag's type. */
  flags?: Record<string, JsonValue>;
  /** Fallthrough rollout percentages (0..100) by exact flag key. */
  rollouts?: Record<string, number>;
}

export const FLAG_ENV_PREFIX = 'ROLLGATE_FLAG_';
export const ROLLOUT_ENV_PREFIX = 'ROLLGATE_ROLLOUT_';
/** Key of the variation added when a forced value is none of the flag's variations. */
export const OVERRIDE_VARIATION = 'override';

/** The environment variable suffix of a flag key: upper case, non-alphanumerics as `_`. */
export function envKeyOf(flagKey: string): string {
  return flagKey.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

interface Forced {
  value: JsonValue;
  /** The value came from an environment variable: a string that may hold JSON. */
  text: boolean;
  source: string;
}

interface RolloutOverride {
  percentage: number;
  source: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function typeOfValue(value: JsonValue): FlagType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  return 'json';
}

const BOOLEAN_VARIATIONS: readonly Variation[] = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

/** The parsed overrides; `apply` turns a snapshot into the overridden one. */
export class Overrides {
  private readonly forced = new Map<string, Forced>();
  private readonly rollouts = new Map<string, RolloutOverride>();
  private readonly forcedByEnvKey = new Map<string, Forced>();
  private readonly rolloutsByEnvKey = new Map<string, RolloutOverride>();
  /** Flag keys absent from the snapshot that an environment override was found for (see `claim`). */
  private readonly claimed = new Set<string>();
  /** Problems found while parsing (bad percentages); `apply` adds its own. */
  readonly problems: string[] = [];

  /** Undefined when overrides are not enabled, or none are set. */
  static from(options: OverrideOptions | undefined, env: Readonly<Record<string, string | undefined>>): Overrides | undefined {
    if (options === undefined) return undefined;
    const o = new Overrides();
    for (const [key, value] of Object.entries(options.flags ?? {})) o.forced.set(key, { value, text: false, source: `overrides.flags[${JSON.stringify(key)}]` });
    for (const [key, value] of Object.entries(options.rollouts ?? {})) o.addRollout(o.rollouts, key, value, `overrides.rollouts[${JSON.stringify(key)}]`);
    if (options.fromEnv === true) {
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) continue;
        if (name.startsWith(FLAG_ENV_PREFIX) && name.length > FLAG_ENV_PREFIX.length) {
          o.forcedByEnvKey.set(name.slice(FLAG_ENV_PREFIX.length), { value, text: true, source: name });
        } else if (name.startsWith(ROLLOUT_ENV_PREFIX) && name.length > ROLLOUT_ENV_PREFIX.length) {
          o.addRollout(o.rolloutsByEnvKey, name.slice(ROLLOUT_ENV_PREFIX.length), value.trim() === '' ? NaN : Number(value), name);
        }
      }
    }
    return o.forced.size + o.rollouts.size + o.forcedByEnvKey.size + o.rolloutsByEnvKey.size === 0 && o.problems.length === 0 ? undefined : o;
  }

  private addRollout(into: Map<string, RolloutOverride>, key: string, percentage: unknown, source: string): void {
    if (typeof percentage !== 'number' || !Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
      this.problems.push(`${source}: a rollout percentage must be a number from 0 to 100, got ${JSON.stringify(percentage) ?? String(percentage)}; ignored`);
      return;
    }
    into.set(key, { percentage, source });
  }

  /**
   * Called when a flag is not in the (overridden) snapshot: true when an
   * environment override names it, which `apply` will then add as a flag of its own.
   */
  claim(flagKey: string): boolean {
    if (this.claimed.has(flagKey)) return false;
    const envKey = envKeyOf(flagKey);
    if (!this.forcedByEnvKey.has(envKey) && !this.rolloutsByEnvKey.has(envKey)) return false;
    this.claimed.add(flagKey);
    return true;
  }

  /**
   * The snapshot with the overrides applied (a new object; the input is not
   * changed), and any problems (an override that does not fit its flag is
   * skipped). Something that is not a snapshot is returned as it is.
   */
  apply(snapshot: unknown): { snapshot: unknown; problems: string[] } {
    const problems: string[] = [];
    if (!isRecord(snapshot) || !Array.isArray(snapshot.flags)) return { snapshot, problems };
    const present = new Set<string>();
    const flags: unknown[] = (snapshot.flags as unknown[]).map((f) => {
      if (!isRecord(f) || typeof f.key !== 'string') return f;
      present.add(f.key);
      return this.overrideFlag(f as unknown as FlagConfig, problems);
    });
    const synthesize = (key: string) => {
      if (present.has(key)) return;
      present.add(key);
      const forced = this.forcedFor(key);
      if (forced !== undefined) {
        const r = resolveForced(key, forced, undefined);
        if (typeof r === 'string') problems.push(r);
        else flags.push(r);
        return;
      }
      const rollout = this.rolloutFor(key);
      if (rollout !== undefined) {
        flags.push({
          key,
          type: 'boolean',
          variations: BOOLEAN_VARIATIONS,
          enabled: true,
          offVariation: 'off',
          fallthrough: { rollout: { percentage: rollout.percentage, variation: 'on' } },
        } satisfies FlagConfig);
      }
    };
    for (const key of this.forced.keys()) synthesize(key);
    for (const key of this.rollouts.keys()) synthesize(key);
    for (const key of this.claimed) synthesize(key);
    return { snapshot: { ...snapshot, flags }, problems };
  }

  private forcedFor(key: string): Forced | undefined {
    return this.forced.get(key) ?? this.forcedByEnvKey.get(envKeyOf(key));
  }

  private rolloutFor(key: string): RolloutOverride | undefined {
    return this.rollouts.get(key) ?? this.rolloutsByEnvKey.get(envKeyOf(key));
  }

  private overrideFlag(flag: FlagConfig, problems: string[]): FlagConfig {
    const forced = this.forcedFor(flag.key);
    if (forced !== undefined) {
      const r = resolveForced(flag.key, forced, flag);
      if (typeof r !== 'string') return r;
      problems.push(r);
    }
    const rollout = this.rolloutFor(flag.key);
    if (rollout === undefined) return flag;
    return withRollout(flag, rollout.percentage);
  }
}

/** The forced form of a flag (or a new flag), or a problem. */
function resolveForced(key: string, forced: Forced, flag: FlagConfig | undefined): FlagConfig | string {
  const variations: readonly Variation[] = Array.isArray(flag?.variations) ? flag.variations : [];
  let value: JsonValue = forced.value;
  if (typeof value === 'string') {
    const text = value;
    const byKey = variations.find((v) => v.key === text);
    if (byKey !== undefined && flag !== undefined) return forcedFlag(flag, variations, byKey.key);
    const lower = text.trim().toLowerCase();
    if (lower === 'on') value = true;
    else if (lower === 'off') value = false;
    else if (forced.text && flag?.type !== 'string') {
      try {
        value = JSON.parse(text) as JsonValue;
      } catch {
        value = text;
      }
    }
  }
  if (flag === undefined) {
    return { key, type: typeOfValue(value), variations: [{ key: OVERRIDE_VARIATION, value }], enabled: true, offVariation: OVERRIDE_VARIATION, fallthrough: { variation: OVERRIDE_VARIATION } };
  }
  const match = variations.find((v) => jsonEqual(v.value, value));
  if (match !== undefined) return forcedFlag(flag, variations, match.key);
  if (!valueMatchesType(flag.type, value)) {
    return `${forced.source}: ${JSON.stringify(value)} is neither a variation key nor a ${flag.type} value of flag ${JSON.stringify(key)}; override ignored`;
  }
  const extra = variations.some((v) => v.key === OVERRIDE_VARIATION) ? `${OVERRIDE_VARIATION}-${variations.length}` : OVERRIDE_VARIATION;
  return forcedFlag(flag, [...variations, { key: extra, value }], extra);
}

function forcedFlag(flag: FlagConfig, variations: readonly Variation[], variation: string): FlagConfig {
  const out: FlagConfig = { key: flag.key, type: flag.type, variations, enabled: true, offVariation: flag.offVariation, fallthrough: { variation } };
  if (flag.version !== undefined) out.version = flag.version;
  return out;
}

function withRollout(flag: FlagConfig, percentage: number): FlagConfig {
  const fallthrough = flag.fallthrough as FlagConfig['fallthrough'] | undefined;
  if (fallthrough?.rollout !== undefined) return { ...flag, fallthrough: { rollout: { ...fallthrough.rollout, percentage } } };
  const variations: readonly Variation[] = Array.isArray(flag.variations) ? flag.variations : [];
  const served =
    flag.type === 'boolean' ? (variations.find((v) => v.value === true)?.key ?? fallthrough?.variation) : fallthrough?.variation;
  if (served === undefined) return flag;
  return { ...flag, fallthrough: { rollout: { percentage, variation: served } } };
}
