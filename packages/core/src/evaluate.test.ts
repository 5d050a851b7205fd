import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileSnapshot } from './compile.js';
import { evaluate } from './evaluate.js';
import type { FlagConfig, Rollout, Snapshot } from './types.js';

const onOff = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

function rolloutFlag(rollout: Rollout, key = 'f'): FlagConfig {
  return { key, type: 'boolean', variations: onOff, enabled: true, offVariation: 'off', fallthrough: { rollout } };
}

function isOn(snapshot: Snapshot, userId: string, key = 'f'): boolean {
  return evaluate(snapshot, key, { userId }, false).value === true;
}

const userId = fc.string({ minLength: 1, maxLength: 24 });
const percentage = fc.integer({ min: 0, max: 100_000 }).map((t) => t / 1000);

describe('percentage rollouts (rollgate/v1)', () => {
  it('raising the percentage only adds contexts', () => {
    fc.assert(
      fc.property(fc.array(userId, { minLength: 1, maxLength: 50 }), percentage, percentage, (ids, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const lowSnap = { flags: [rolloutFlag({ percentage: low, variation: 'on' })] };
        const highSnap = { flags: [rolloutFlag({ percentage: high, variation: 'on' })] };
        for (const id of ids) if (isOn(lowSnap, id)) expect(isOn(highSnap, id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('puts p% of 100,000 ids in the rollout, within 0.5 points', () => {
    for (const p of [0.5, 1, 5, 10, 25, 33.333, 50, 75, 99]) {
      const snapshot = compileSnapshot({ flags: [rolloutFlag({ percentage: p, variation: 'on', salt: `dist-${p}` })] });
      let on = 0;
      for (let i = 0; i < 100_000; i++) if (evaluate(snapshot, 'f', { userId: `user-${i}` }, false).value === true) on++;
      expect(Math.abs((on / 100_000) * 100 - p)).toBeLessThanOrEqual(0.5);
    }
  });

  it('keeps every context in its variant when the percentage changes', () => {
    const variations = [
      { key: 'a', value: 'a' },
      { key: 'b', value: 'b' },
      { key: 'c', value: 'c' },
      { key: 'off', value: 'off' },
    ];
    const variants = [
      { variation: 'a', weight: 33_334 },
      { variation: 'b', weight: 33_333 },
      { variation: 'c', weight: 33_333 },
    ];
    const flagAt = (p: number): Snapshot => ({
      flags: [{ key: 'exp', type: 'string', variations, enabled: true, offVariation: 'off', fallthrough: { rollout: { percentage: p, variants } } }],
    });
    fc.assert(
      fc.property(fc.array(userId, { minLength: 1, maxLength: 40 }), percentage, percentage, (ids, p1, p2) => {
        const s1 = flagAt(p1);
        const s2 = flagAt(p2);
        for (const id of ids) {
          const v1 = evaluate(s1, 'exp', { userId: id }, '').variant;
          const v2 = evaluate(s2, 'exp', { userId: id }, '').variant;
          if (v1 !== 'off' && v2 !== 'off') expect(v1).toBe(v2);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('splits the rollout by the variant weights', () => {
    const variations = [
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'off', value: 0 },
    ];
    const snapshot = compileSnapshot({
      flags: [
        {
          key: 'exp',
          type: 'number',
          variations,
          enabled: true,
          offVariation: 'off',
          fallthrough: { rollout: { percentage: 50, variants: [{ variation: 'a', weight: 20_000 }, { variation: 'b', weight: 80_000 }] } },
        },
      ],
    });
    const counts = { a: 0, b: 0, off: 0 };
    for (let i = 0; i < 100_000; i++) counts[evaluate(snapshot, 'exp', { userId: `u${i}` }, 0).variant as 'a' | 'b' | 'off']++;
    expect(Math.abs(counts.off / 1000 - 50)).toBeLessThan(0.5);
    expect(Math.abs((counts.a / (counts.a + counts.b)) * 100 - 20)).toBeLessThan(0.7);
  });

  it('never draws random numbers unless the rollout asks for random', () => {
    let draws = 0;
    const random = () => {
      draws++;
      return 0;
    };
    const sticky = { flags: [rolloutFlag({ percentage: 100, variation: 'on' })] };
    expect(evaluate(sticky, 'f', {}, false, { random })).toMatchObject({ value: false, reason: 'DEFAULT' });
    const withRandom = { flags: [rolloutFlag({ percentage: 100, variation: 'on', stickiness: ['userId', 'random'] })] };
    expect(evaluate(withRandom, 'f', { userId: 'u1' }, false, { random }).value).toBe(true);
    expect(draws).toBe(0);
    expect(evaluate(withRandom, 'f', {}, false, { random }).value).toBe(true);
    expect(draws).toBe(1);
    expect(evaluate(withRandom, 'f', {}, false).value).toBe(false);
  });
});

describe('unleash/v1 bucketing keeps the cohorts of Unleash', () => {
  const require = createRequire(import.meta.url);
  const FlexibleRollout = (require('unleash-client/lib/strategy/flexible-rollout-strategy.js') as { default: new () => { isEnabled(p: object, c: object): boolean } }).default;
  const { selectVariantDefinition } = require('unleash-client/lib/variant.js') as {
    selectVariantDefinition(groupId: string, stickiness: string, variants: object[], context: object): { name: string } | null;
  };
  const strategy = new FlexibleRollout();
  const ids = fc.oneof(fc.string({ minLength: 1, maxLength: 16 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }));

  it('in or out of a flexibleRollout exactly as unleash-client decides, non-ASCII ids included', () => {
    fc.assert(
      fc.property(fc.array(ids, { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 100 }), fc.constantFrom('new-checkout', 'grp', 'événement'), (list, rollout, groupId) => {
        const snapshot = { flags: [rolloutFlag({ percentage: rollout, variation: 'on', salt: groupId, bucketing: 'unleash/v1', stickiness: ['userId'] })] };
        for (const id of list) {
          expect(isOn(snapshot, id)).toBe(strategy.isEnabled({ rollout: String(rollout), stickiness: 'userId', groupId }, { userId: id }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('picks the same variant as unleash-client', () => {
    const variations = ['red', 'green', 'blue', 'none'].map((key) => ({ key, value: key }));
    fc.assert(
      fc.property(fc.array(ids, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 3, maxLength: 3 }), (list, weights) => {
        fc.pre(weights.some((w) => w > 0));
        const unleashVariants = ['red', 'green', 'blue'].map((name, i) => ({ name, weight: weights[i] }));
        const snapshot: Snapshot = {
          flags: [
            {
              key: 'colors',
              type: 'string',
              variations,
              enabled: true,
              offVariation: 'none',
              fallthrough: {
                rollout: {
                  percentage: 100,
                  bucketing: 'unleash/v1',
                  stickiness: ['userId'],
                  variants: unleashVariants.map((v) => ({ variation: v.name, weight: v.weight as number })),
                },
              },
            },
          ],
        };
        for (const id of list) {
          const expected = selectVariantDefinition('colors', 'userId', unleashVariants, { userId: id });
          expect(evaluate(snapshot, 'colors', { userId: id }, '').variant).toBe(expected?.name);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('evaluation never throws', () => {
  const snapshotLike = fc.letrec((tie) => ({
    anyValue: fc.oneof(fc.anything(), tie('flag'), fc.array(tie('flag'), { maxLength: 3 })),
    flag: fc.record(
      {
        key: fc.constantFrom('f', 'g', ''),
        type: fc.oneof(fc.constantFrom('boolean', 'string', 'number', 'json'), fc.anything()),
        variations: fc.oneof(fc.constant(onOff), fc.array(fc.record({ key: fc.constantFrom('on', 'off', 'x'), value: fc.anything() }), { maxLength: 3 }), fc.anything()),
        enabled: fc.oneof(fc.boolean(), fc.anything()),
        offVariation: fc.constantFrom('on', 'off', 'missing'),
        prerequisites: fc.oneof(fc.constant(undefined), fc.array(fc.record({ flag: fc.constantFrom('f', 'g', 'h'), variations: fc.constant(['on']) }), { maxLength: 2 }), fc.anything()),
        targets: fc.oneof(fc.constant(undefined), fc.anything()),
        rules: fc.oneof(
          fc.constant(undefined),
          fc.array(
            fc.record({
              id: fc.string({ maxLength: 3 }),
              conditions: fc.array(
                fc.record({
                  attribute: fc.constantFrom('country', 'userId', 'version', 'ip', 'when'),
                  operator: fc.oneof(
                    fc.constantFrom('in', 'notIn', 'equals', 'startsWith', 'endsWith', 'contains', 'matches', 'lt', 'gte', 'before', 'after', 'semverGt', 'cidr', 'exists'),
                    fc.string(),
                  ),
                  values: fc.oneof(fc.array(fc.oneof(fc.string(), fc.double(), fc.boolean()), { maxLength: 3 }), fc.anything()),
                  negate: fc.oneof(fc.boolean(), fc.anything()),
                  caseInsensitive: fc.boolean(),
                }),
                { maxLength: 3 },
              ),
              segments: fc.oneof(fc.constant(undefined), fc.array(fc.constantFrom('s1', 's2'), { maxLength: 2 })),
              serve: fc.oneof(
                fc.record({ variation: fc.constantFrom('on', 'off', 'x') }),
                fc.record({
                  rollout: fc.record({
                    percentage: fc.oneof(fc.double(), fc.integer({ min: 0, max: 100 })),
                    variation: fc.constantFrom('on', 'off'),
                    stickiness: fc.oneof(fc.constant(undefined), fc.array(fc.constantFrom('userId', 'random', 'country'), { maxLength: 3 })),
                    bucketing: fc.constantFrom('rollgate/v1', 'unleash/v1', 'v9'),
                  }),
                }),
                fc.anything(),
              ),
            }),
            { maxLength: 3 },
          ),
        ),
        fallthrough: fc.oneof(fc.constant({ variation: 'on' }), fc.constant({ rollout: { percentage: 50, variation: 'on' } }), fc.anything()),
      },
      { requiredKeys: [] },
    ),
  })).anyValue;

  const context = fc.oneof(
    fc.anything(),
    fc.record({
      userId: fc.oneof(fc.string(), fc.double(), fc.anything()),
      country: fc.oneof(fc.string(), fc.array(fc.string()), fc.anything()),
      version: fc.oneof(fc.constantFrom('1.2.3', 'v2.0.0-rc.1', 'x'), fc.anything()),
      ip: fc.oneof(fc.constantFrom('10.0.0.1', '::1', 'nope'), fc.anything()),
      when: fc.oneof(fc.constantFrom('2026-01-01', '2026-13-40'), fc.double(), fc.anything()),
    }),
  );

  it('returns a result for arbitrary snapshots, contexts and defaults', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ flags: fc.array(snapshotLike, { maxLength: 4 }), segments: fc.anything() })), fc.constantFrom('f', 'g', 'h'), context, fc.anything(), (snapshot, key, ctx, def) => {
        const result = evaluate(snapshot, key, ctx as Record<string, unknown>, def, { random: () => 0.5 });
        expect(['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR']).toContain(result.reason);
        if (result.reason === 'ERROR') expect(result.value).toBe(def);
      }),
      { numRuns: 3000 },
    );
  });

  it('survives contexts whose getters throw', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
    const snapshot = { flags: [{ ...rolloutFlag({ percentage: 50, variation: 'on' }), rules: [{ id: 'r', conditions: [{ attribute: 'country', operator: 'in' as const, values: ['US'] }], serve: { variation: 'on' } }] }] };
    expect(evaluate(snapshot, 'f', hostile, false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'GENERAL' });
  });
});

describe('results', () => {
  it('are shared frozen objects, and JSON values cannot be changed through them', () => {
    const snapshot = compileSnapshot({
      flags: [{ key: 'cfg', type: 'json', variations: [{ key: 'v', value: { limits: [1, 2] } }], enabled: true, offVariation: 'v', fallthrough: { variation: 'v' } }],
    });
    const a = evaluate(snapshot, 'cfg', {}, {});
    const b = evaluate(snapshot, 'cfg', { userId: 'x' }, {});
    expect(a).toBe(b);
    expect(Object.isFrozen(a.value)).toBe(true);
    expect(() => ((a.value as { limits: number[] }).limits as number[]).push(3)).toThrow();
  });
});
