/**
 * Differential test of the Unleash import: for every flag of the fixture
 * exports, 100,000 generated contexts evaluate to the same enabled state and
 * variant in Rollgate (the core on the converted snapshot) as in the real
 * `unleash-client`, fed the same features offline.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RE2JS } from 're2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSnapshot, evaluate, type CompiledSnapshot, type EvaluationContext, type EvaluationResult, type JsonValue } from '@rollgate/core';
import { flagEnvironmentConfigSchema, createFlagSchema, createSegmentSchema } from '@rollgate/contract';
import { conversionSnapshot, convertUnleashExport, OFF, ON, type UnleashConversion } from './convert-unleash.js';
import type { UnleashAdminExport, UnleashClientExport, UnleashClientFeature, UnleashSegment } from './unleash-types.js';

const require = createRequire(import.meta.url);
interface UnleashVariantResult {
  name: string;
  feature_enabled?: boolean;
}
interface UnleashClientLike {
  isEnabled(name: string, context: Record<string, unknown>, fallback: () => boolean): boolean;
  getVariant(name: string, context: Record<string, unknown>): UnleashVariantResult;
  on(event: string, listener: () => void): void;
}
type UnleashClientClass = new (repository: unknown, strategies: unknown[]) => UnleashClientLike;
const UnleashClient = (require('unleash-client/lib/client') as { default: UnleashClientClass }).default;
const { defaultStrategies } = require('unleash-client/lib/strategy') as { defaultStrategies: unknown[] };

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const CONTEXTS = 100_000;
const ADMIN_CONTEXTS = 10_000;

/** unleash-client evaluating `features` offline: a repository holding them, as its bootstrap would. */
function unleashClientFor(features: UnleashClientFeature[], segments: UnleashSegment[]): UnleashClientLike {
  const toggles = new Map(features.map((f) => [f.name, f]));
  const bySegment = new Map(segments.map((s) => [s.id, s]));
  const client = new UnleashClient({ getToggle: (n: string) => toggles.get(n), getSegment: (id: number) => bySegment.get(id) }, defaultStrategies);
  client.on('warn', () => undefined);
  client.on('error', () => undefined);
  return client;
}

/** What the Unleash server sends its SDKs for one environment of an admin export. */
function clientFeaturesOf(admin: UnleashAdminExport, environment: string): UnleashClientFeature[] {
  return admin.features.map((f) => {
    const fe = admin.featureEnvironments?.find((e) => e.featureName === f.name && e.environment === environment);
    const strategies = (admin.featureStrategies ?? [])
      .filter((s) => s.featureName === f.name && s.environment === environment && s.disabled !== true)
      .sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0));
    const dependencies = admin.dependencies?.find((d) => d.feature === f.name)?.dependencies;
    return { name: f.name, enabled: fe?.enabled ?? false, strategies, variants: fe?.variants ?? [], ...(dependencies ? { dependencies } : {}) };
  });
}

/** mulberry32: seeded, so every run sees the same contexts. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS: Record<string, readonly (string | undefined)[]> = {
  userId: [undefined, '', 'user-1', 'user-2', 'user-3', 'user-7', 'user-8', 'user-42', 'josé', '用户-9', 'USER-1'],
  sessionId: [undefined, '', 's-1', 's-2'],
  remoteAddress: [undefined, '10.1.2.3', '10.200.0.1', '192.168.1.7', '192.168.1.8', '172.16.0.1', '::ffff:10.0.0.1x', 'not-an-ip'],
  country: [undefined, '', 'US', 'CA', 'DE', 'FR', 'GB', 'JP', 'SE', 'us'],
  plan: [undefined, 'free', 'beta', 'pro', 'Pro'],
  email: [undefined, '', 'admin@corp.example', 'ADMIN@x.io', 'jane.beta@corp.example', 'JOHN.ALPHA@home.example', 'a beta b@x', 'someone@corp.example.org'],
  age: [undefined, '', '30', '30.0', '17', '18', '61', '65', '66', 'abc', ' 30 ', '0x1E', '1e1'],
  userAgent: [undefined, 'Mozilla/5.0', 'curl/8.0', 'a'.repeat(1000), `${'a'.repeat(200)}x`, 'x', 'Opera', 'Safari'],
  appVersion: [undefined, '2.1.0', '2.5.3', '3.0.0', '1.0.0-beta.2', 'v2.2.0', '0.9.0', '0.8.1', '4.1.0', 'garbage'],
  tenant: [undefined, '', 't-1', 't-2', 't-3', 'acme'],
  currentTime: ['2026-05-31T23:59:59.000Z', '2026-06-01T00:00:01.000Z', '2026-07-15T12:00:00.000Z', '2026-09-01T00:00:00.000Z', '2026-12-03T00:00:00.000Z'],
};

function generateContexts(n: number, seed: number): EvaluationContext[] {
  const random = prng(seed);
  const contexts: EvaluationContext[] = [];
  for (let i = 0; i < n; i++) {
    const ctx: Record<string, string> = {};
    for (const [name, pool] of Object.entries(POOLS)) {
      // Half the time a fresh id, so rollouts see many distinct stickiness values.
      let v = pool[Math.floor(random() * pool.length)];
      if ((name === 'userId' || name === 'sessionId' || name === 'tenant') && random() < 0.5) v = `${name}-${Math.floor(random() * 1e9)}`;
      if (v !== undefined) ctx[name] = v;
    }
    contexts.push(ctx);
  }
  return contexts;
}

/** Counts Math.random calls, so that a context whose result was drawn at random on one side only is caught. */
const realRandom = Math.random;
let draws = 0;
const seeded = prng(7);
beforeAll(() => {
  Math.random = () => {
    draws++;
    return seeded();
  };
});
afterAll(() => {
  Math.random = realRandom;
});

interface Outcome {
  enabled: boolean;
  variant: string;
}

function rollgateOutcome(result: EvaluationResult<JsonValue | undefined>, type: string): Outcome {
  if (type === 'json') {
    const v = result.value as { name: string; feature_enabled: boolean } | null;
    return { enabled: v?.feature_enabled === true, variant: v?.name ?? 'ERROR' };
  }
  const key = result.variant ?? 'ERROR';
  return { enabled: result.value === true, variant: key === OFF || key === ON ? 'disabled' : key };
}

interface FlagReport {
  same: number;
  random: number;
  enabledRandom: [number, number];
  mismatches: string[];
}

/** One flag over `contexts`: Rollgate's core on the converted snapshot against unleash-client on the export. */
async function differential(compiled: CompiledSnapshot, type: string, unleash: UnleashClientLike, key: string, contexts: readonly EvaluationContext[]): Promise<FlagReport> {
  const r: FlagReport = { same: 0, random: 0, enabledRandom: [0, 0], mismatches: [] };
  let rollgateDraws = 0;
  const options = {
    random: () => {
      rollgateDraws++;
      return seeded();
    },
  };
  for (let i = 0; i < contexts.length; i++) {
    // Let the test runner's messages through now and then: the loop is long.
    if (i % 5000 === 4999) await new Promise((resolve) => setImmediate(resolve));
    const ctx = contexts[i] as EvaluationContext;
    rollgateDraws = 0;
    const result = evaluate<JsonValue | undefined>(compiled, key, ctx, undefined, options);
    const ours = rollgateOutcome(result, type);
    draws = 0;
    // getVariant decides the enabled state (feature_enabled) exactly as isEnabled does.
    const variant = unleash.getVariant(key, ctx);
    const enabled = variant.feature_enabled === true;
    const theirDraws = draws;
    if (result.reason === 'ERROR' && r.mismatches.length < 5) r.mismatches.push(`ERROR ${result.errorMessage ?? ''}`);
    if (rollgateDraws > 0 || theirDraws > 0) {
      // Drawn at random: both sides must draw, and the shares must agree overall.
      if ((rollgateDraws === 0 || theirDraws === 0) && r.mismatches.length < 5) {
        r.mismatches.push(`only ${rollgateDraws > 0 ? 'Rollgate' : 'unleash-client'} drew at random for ${JSON.stringify(ctx)}`);
      }
      r.random++;
      if (ours.enabled) r.enabledRandom[0]++;
      if (enabled) r.enabledRandom[1]++;
      continue;
    }
    if (ours.enabled === enabled && ours.variant === variant.name) r.same++;
    else if (r.mismatches.length < 5) r.mismatches.push(`${JSON.stringify(ctx)}: Rollgate ${JSON.stringify(ours)}, unleash-client ${JSON.stringify({ enabled, variant: variant.name })}`);
  }
  return r;
}

function expectAgreement(r: FlagReport, count: number): void {
  expect(r.mismatches).toEqual([]);
  expect(r.same + r.random).toBe(count);
  if (r.random > 0) {
    // Random draws differ per call; the shares enabled must agree within 4.5 standard errors.
    const [a, b] = r.enabledRandom;
    const p = (a + b) / (2 * r.random);
    const bound = 4.5 * Math.sqrt((2 * p * (1 - p)) / r.random) + 1e-9;
    expect(Math.abs(a - b) / r.random, `random share (${a} and ${b} of ${r.random})`).toBeLessThanOrEqual(bound);
  }
}

/** One test per flag of `features`, each over the same generated contexts. */
function describeDifferential(title: string, conversion: () => UnleashConversion, environment: string, features: UnleashClientFeature[], segments: UnleashSegment[], seed: number, count: number) {
  describe(title, () => {
    let compiled: CompiledSnapshot;
    let unleash: UnleashClientLike;
    let contexts: EvaluationContext[];
    let types: Map<string, string>;
    beforeAll(() => {
      const c = conversion();
      compiled = compileSnapshot(conversionSnapshot(c, environment), { regex: RE2JS });
      types = new Map(c.flags.map((f) => [f.create.key, f.create.type]));
      unleash = unleashClientFor(features, segments);
      contexts = generateContexts(count, seed);
    });
    for (const f of features) {
      it(`${f.name}: ${count.toLocaleString('en-US')} contexts`, async () => {
        expectAgreement(await differential(compiled, types.get(f.name) ?? 'boolean', unleash, f.name, contexts), count);
      });
    }
  });
}

describe('convertUnleashExport: client API format', () => {
  const exported = fixture('client-features.json') as UnleashClientExport;
  const conversion = convertUnleashExport(exported, { environment: 'production' });

  it('produces request bodies the server API accepts', () => {
    for (const f of conversion.flags) {
      expect(createFlagSchema.safeParse(f.create).success, f.create.key).toBe(true);
      for (const config of Object.values(f.environments)) {
        const parsed = flagEnvironmentConfigSchema.safeParse(config);
        expect(parsed.success, `${f.create.key}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      }
    }
    for (const s of conversion.segments) expect(createSegmentSchema.safeParse(s).success, s.key).toBe(true);
    const compiled = compileSnapshot(conversionSnapshot(conversion, 'production'), { regex: RE2JS });
    for (const f of conversion.flags) expect(compiled.flags.get(f.create.key)?.error, f.create.key).toBeUndefined();
  });

  it('lists what it cannot map, with the reason', () => {
    const reasons = conversion.unmapped.map((u) => `${u.feature ?? `segment ${u.segment}`} ${u.strategy ?? ''}: ${u.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^hostname-and-custom #1 applicationHostname: not imported: applicationHostname depends/),
        expect.stringMatching(/^hostname-and-custom #2 myCustomStrategy: not imported: custom strategy "myCustomStrategy"/),
        expect.stringMatching(/^missing-segment #1 default: not imported: segment 99 is not in the export/),
        expect.stringMatching(/^grandchild : depends on "child-enabled", which has dependencies of its own/),
        expect.stringMatching(/^orphan : depends on "no-such-feature", which is not in the export/),
        expect.stringMatching(/^dates #1 default: DATE_AFTER\/DATE_BEFORE compare the context's currentTime/),
        expect.stringMatching(/^empty-values #1 default: not imported: constraint country IN never holds/),
      ]) as unknown,
    );
    expect(conversion.flags.map((f) => f.create.key)).toContain('hostname-and-custom');
  });

});

const clientExport = fixture('client-features.json') as UnleashClientExport;
describeDifferential(
  'the same enabled state and variant as unleash-client (client API format)',
  () => convertUnleashExport(clientExport, { environment: 'production' }),
  'production',
  clientExport.features,
  clientExport.segments ?? [],
  1,
  CONTEXTS,
);

const adminExport = fixture('admin-export.json') as UnleashAdminExport;
for (const environment of ['production', 'development']) {
  // The same flag shapes as the client format, so fewer contexts suffice here.
  describeDifferential(
    `the same enabled state and variant as unleash-client (admin export, ${environment})`,
    () => convertUnleashExport(adminExport),
    environment,
    clientFeaturesOf(adminExport, environment),
    adminExport.segments ?? [],
    2,
    ADMIN_CONTEXTS,
  );
}

describe('convertUnleashExport: admin export format', () => {
  const exported = fixture('admin-export.json') as UnleashAdminExport;
  const conversion = convertUnleashExport(exported);

  it('reads every environment, in strategy sortOrder, without disabled strategies', () => {
    expect(conversion.environments).toEqual(['production', 'development']);
    const ored = conversion.flags.find((f) => f.create.key === 'ored-rollouts');
    // sortOrder puts the second strategy of the list first.
    expect(ored?.environments.production?.rules?.map((r) => r.id)).toEqual(['s1-flexibleRollout', 's2-flexibleRollout']);
    expect(ored?.environments.production?.rules?.[0]?.serve).toMatchObject({ rollout: { percentage: 20, stickiness: ['sessionId'], salt: 'other-group' } });
    expect(ored?.environments.development?.rules).toHaveLength(1);
  });

  it('refuses what is not an Unleash export', () => {
    expect(() => convertUnleashExport({ flags: [] })).toThrow(/not an Unleash export/);
    expect(() => convertUnleashExport(null)).toThrow(/not an Unleash export/);
  });
});
