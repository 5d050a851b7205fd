import { describe, expect, it } from 'vitest';
import { createClient, envKeyOf } from './index.js';
import { booleanFlag, SNAPSHOT } from './fixtures.test-helpers.js';

const silent = {};

describe('local overrides (development only)', () => {
  it('maps flag keys to environment variable names', () => {
    expect(envKeyOf('new-checkout')).toBe('NEW_CHECKOUT');
    expect(envKeyOf('billing.v2 beta')).toBe('BILLING_V2_BETA');
  });

  it('are ignored unless enabled', () => {
    const client = createClient({ offline: true, bootstrap: SNAPSHOT, env: { ROLLGATE_FLAG_NEW_CHECKOUT: 'on' }, logger: silent });
    expect(client.isEnabled('new-checkout', { country: 'FR' })).toBe(false);
  });

  it('force flags from the environment: on, off, a variation key, a JSON value', () => {
    const client = createClient({
      offline: true,
      bootstrap: SNAPSHOT,
      overrides: { fromEnv: true },
      env: { ROLLGATE_FLAG_NEW_CHECKOUT: 'on', ROLLGATE_FLAG_BANNER: 'a', ROLLGATE_FLAG_LIMITS: '{"max":3}', ROLLGATE_FLAG_PAGE_SIZE: '50' },
      logger: silent,
    });
    expect(client.evaluate('new-checkout', { country: 'FR' }, false)).toEqual({ value: true, variant: 'on', reason: 'STATIC' });
    expect(client.evaluate('banner', {}, 'x')).toEqual({ value: 'Hello', variant: 'a', reason: 'STATIC' });
    // Flags the snapshot does not have are created from the value.
    expect(client.evaluate('limits', {}, {})).toEqual({ value: { max: 3 }, variant: 'override', reason: 'STATIC' });
    expect(client.getValue('page_size', {}, 0)).toBe(50);
    expect(client.getValue('page-size', {}, 0)).toBe(50);
    expect(client.evaluate('unrelated', {}, 1)).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
  });

  it('a forced value that is not a variation is added as one; a value of the wrong type is refused', () => {
    const warnings: string[] = [];
    const client = createClient({
      offline: true,
      bootstrap: SNAPSHOT,
      overrides: { fromEnv: true },
      env: { ROLLGATE_FLAG_BANNER: 'Hola', ROLLGATE_FLAG_NEW_CHECKOUT: '"yes"' },
      logger: { warn: (m) => warnings.push(m) },
    });
    expect(client.evaluate('banner', {}, 'x')).toEqual({ value: 'Hola', variant: 'override', reason: 'STATIC' });
    expect(client.evaluate('new-checkout', { country: 'US' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(warnings.join('\n')).toMatch(/ROLLGATE_FLAG_NEW_CHECKOUT.*override ignored/);
  });

  it('set a fallthrough rollout percentage from the environment', () => {
    const users = Array.from({ length: 4000 }, (_, i) => ({ userId: `user-${i}`, country: 'FR' }));
    const share = (env: Record<string, string>) => {
      const client = createClient({ offline: true, bootstrap: SNAPSHOT, overrides: { fromEnv: true }, env, logger: silent });
      return users.filter((u) => client.isEnabled('new-checkout', u)).length / users.length;
    };
    expect(share({})).toBe(0);
    expect(share({ ROLLGATE_ROLLOUT_NEW_CHECKOUT: '10' })).toBeCloseTo(0.1, 1);
    expect(share({ ROLLGATE_ROLLOUT_NEW_CHECKOUT: '100' })).toBe(1);
    // The rules still apply: US users are in whatever the percentage.
    const client = createClient({ offline: true, bootstrap: SNAPSHOT, overrides: { fromEnv: true }, env: { ROLLGATE_ROLLOUT_NEW_CHECKOUT: '0' }, logger: silent });
    expect(client.isEnabled('new-checkout', { userId: 'u', country: 'US' })).toBe(true);
    expect(client.evaluate('new-checkout', { userId: 'user-1', country: 'FR' }, false).reason).toBe('SPLIT');
  });

  it('refuses a bad percentage with a warning', () => {
    const warnings: string[] = [];
    const client = createClient({ offline: true, bootstrap: SNAPSHOT, overrides: { fromEnv: true }, env: { ROLLGATE_ROLLOUT_NEW_CHECKOUT: 'lots' }, logger: { warn: (m) => warnings.push(m) } });
    expect(warnings.join('\n')).toMatch(/ROLLGATE_ROLLOUT_NEW_CHECKOUT.*0 to 100/);
    expect(client.isEnabled('new-checkout', { userId: 'x', country: 'FR' })).toBe(false);
  });

  it('take an explicit map, and keep applying when the snapshot changes', () => {
    const client = createClient({
      offline: true,
      bootstrap: SNAPSHOT,
      overrides: { flags: { banner: 'Salut', 'dark-mode': true }, rollouts: { 'new-checkout': 100 } },
      logger: silent,
    });
    expect(client.getValue('banner', {}, 'x')).toBe('Salut');
    expect(client.evaluate('dark-mode', {}, false)).toEqual({ value: true, variant: 'override', reason: 'STATIC' });
    expect(client.isEnabled('new-checkout', { userId: 'a', country: 'FR' })).toBe(true);
    // The explicit map uses exact keys only; the environment is not read.
    const other = createClient({ offline: true, bootstrap: SNAPSHOT, overrides: { flags: { BANNER: 'no' } }, env: { ROLLGATE_FLAG_BANNER: 'a' }, logger: silent });
    expect(other.getValue('banner', {}, 'x')).toBe('Bonjour');
  });

  it('forced flags satisfy prerequisites of other flags', () => {
    const snapshot = {
      flags: [
        ...SNAPSHOT.flags,
        booleanFlag('dependent', { prerequisites: [{ flag: 'new-checkout', variations: ['on'] }], fallthrough: { variation: 'on' } }),
      ],
    };
    const plain = createClient({ offline: true, bootstrap: snapshot, logger: silent });
    expect(plain.isEnabled('dependent', { country: 'FR' })).toBe(false);
    const forced = createClient({ offline: true, bootstrap: snapshot, overrides: { flags: { 'new-checkout': 'on' } }, logger: silent });
    expect(forced.isEnabled('dependent', { country: 'FR' })).toBe(true);
  });
});
