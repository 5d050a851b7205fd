import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { Variation } from '@rollgate/core';

/** Variations of a new boolean flag when none are given. */
export const BOOLEAN_VARIATIONS: Variation[] = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

/** The variation served when a flag is off: `off` if there is one, else the last. */
export function defaultOffVariation(variations: readonly Variation[]): string {
  return variations.find((v) => v.key === 'off')?.key ?? (variations[variations.length - 1] as Variation).key;
}

/** A flag's configuration in a new environment: disabled, serving its off variation. */
export function defaultEnvironmentConfig(variations: readonly Variation[]): FlagEnvironmentConfig {
  const off = defaultOffVariation(variations);
  return { enabled: false, offVariation: off, fallthrough: { variation: off } };
}
