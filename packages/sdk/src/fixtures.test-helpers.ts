import type { FlagConfig, Snapshot } from '@rollgate/core';

/** A boolean flag (variations on/off, off when disabled), serving `off` unless `extra` says otherwise. */
export function booleanFlag(key: string, extra: Partial<FlagConfig> = {}): FlagConfig {
  return {
    key,
    type: 'boolean',
    variations: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    enabled: true,
    offVariation: 'off',
    fallthrough: { variation: 'off' },
    ...extra,
  };
}

/** A small snapshot: a boolean flag with a rule, and a string flag. */
export const SNAPSHOT: Snapshot = {
  environment: 'production',
  version: 7,
  flags: [
    {
      key: 'new-checkout',
      type: 'boolean',
      variations: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      enabled: true,
      offVariation: 'off',
      rules: [{ id: 'north-america', conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], serve: { variation: 'on' } }],
      fallthrough: { variation: 'off' },
    },
    {
      key: 'banner',
      type: 'string',
      variations: [
        { key: 'a', value: 'Hello' },
        { key: 'b', value: 'Bonjour' },
      ],
      enabled: true,
      offVariation: 'a',
      fallthrough: { variation: 'b' },
    },
  ],
  segments: [],
};
