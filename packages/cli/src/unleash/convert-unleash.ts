/**
 * Converts an Unleash feature export into Rollgate flags and segments, in the
 * shapes of the server API's request bodies, with `unleash/v1` bucketing so
 * that no user changes cohort or variant when a team moves over.
 *
 * Unleash's semantics are kept where Rollgate's defaults differ:
 * - the strategies of a feature are ORed: each becomes a rule whose rollout
 *   `continueOutside`s, so a context outside one strategy's rollout is
 *   evaluated against the next;
 * - constraints keep Unleash's rules (`dialect: 'unleash'`: NOT_IN and
 *   inverted constraints on a missing attribute, NUM_EQ and the other number
 *   operators by `Number()`, strings only for string operators, RE2 regexes);
 * - stickiness fallbacks (`default` = userId, sessionId, then random) and the
 *   variant's own fallback list (userId, sessionId, remoteAddress, random);
 * - variant overrides, strategy variants and feature variants, with seed 86028157;
 * - dependencies: enabled, disabled ("parent must be disabled", a negated
 *   prerequisite) and variant parents; a parent that has dependencies of its
 *   own makes Unleash's SDKs evaluate the child as disabled, and so it is here.
 *
 * What cannot be expressed is listed in `unmapped` with the reason, never
 * dropped silently.
 */
import { validateCondition, type Condition, type FlagConfig, type Operator, type Rollout, type Rule, type Segment, type Serve, type Snapshot } from '@rollgate/core';
import type { CreateFlagRequest, CreateSegmentRequest, FlagEnvironmentConfig } from '@rollgate/contract';
import { RE2JS } from 're2js';
import type {
  UnleashAdminExport,
  UnleashClientExport,
  UnleashClientFeature,
  UnleashConstraint,
  UnleashDependency,
  UnleashSegment,
  UnleashStrategy,
  UnleashVariant,
} from './unleash-types.js';

type CreateFlagBody = CreateFlagRequest;
type CreateSegmentBody = CreateSegmentRequest;

/** One converted flag: its creation body and its configuration per environment (`PUT .../environments/{env}` bodies' `config`). */
export interface ConvertedFlag {
  create: CreateFlagBody & { key: string; type: 'boolean' | 'json'; variations: NonNullable<CreateFlagBody['variations']> };
  environments: Record<string, FlagEnvironmentConfig>;
}

/** Something of the export that the conversion could not carry over as Unleash evaluates it. */
export interface UnmappedItem {
  feature?: string;
  environment?: string;
  /** The strategy, as `#index name` in the feature's order. */
  strategy?: string;
  segment?: number;
  /** What happened to it and why. */
  reason: string;
}

export interface UnleashConversion {
  flags: ConvertedFlag[];
  segments: CreateSegmentBody[];
  /** Parts not carried over (or carried over with a difference), with the reason. */
  unmapped: UnmappedItem[];
  /** The environments found, in order. */
  environments: string[];
}

export interface ConvertOptions {
  /** The environment a client API export (one environment) belongs to; default `production`. */
  environment?: string;
}

/** The variation served when a feature is disabled for a context. */
export const OFF = 'off';
/** The variation served when a feature is enabled without a variant. */
export const ON = 'on';

const OPERATORS: Record<string, Operator> = {
  IN: 'in',
  NOT_IN: 'notIn',
  STR_STARTS_WITH: 'startsWith',
  STR_ENDS_WITH: 'endsWith',
  STR_CONTAINS: 'contains',
  NUM_EQ: 'numEq',
  NUM_GT: 'gt',
  NUM_GTE: 'gte',
  NUM_LT: 'lt',
  NUM_LTE: 'lte',
  DATE_AFTER: 'after',
  DATE_BEFORE: 'before',
  SEMVER_EQ: 'semverEq',
  SEMVER_GT: 'semverGt',
  SEMVER_LT: 'semverLt',
  SEMVER_GTE: 'semverGte',
  SEMVER_LTE: 'semverLte',
  REGEX: 'matches',
  IN_CIDR: 'cidr',
};
const MULTI_VALUED = new Set(['IN', 'NOT_IN', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'STR_CONTAINS', 'IN_CIDR']);
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const VARIANT_DEFAULT_STICKINESS = ['userId', 'sessionId', 'remoteAddress', 'random'];

/** A constraint as Rollgate sees it: a condition, always true, always false, or not expressible. */
type MappedConstraint = { kind: 'condition'; condition: Condition } | { kind: 'constant'; value: boolean } | { kind: 'unmapped'; reason: string };

function mapConstraint(c: UnleashConstraint): MappedConstraint {
  const operator = OPERATORS[c.operator];
  const negate = c.inverted === true;
  if (operator === undefined) return { kind: 'constant', value: negate }; // unleash-client: an unknown operator is false
  if (MULTI_VALUED.has(c.operator)) {
    // unleash-client drops empty values and trims the others.
    const values = (c.values ?? []).filter((v) => !!v).map((v) => v.trim());
    if (values.length === 0) return { kind: 'constant', value: (c.operator === 'NOT_IN') !== negate };
    const condition: Condition = { attribute: c.contextName, operator, values, dialect: 'unleash' };
    if (negate) condition.negate = true;
    if (c.caseInsensitive === true && c.operator.startsWith('STR_')) condition.caseInsensitive = true;
    if (c.operator === 'IN_CIDR' && values.some((v) => validateCondition({ attribute: 'a', operator: 'cidr', values: [v] }).length > 0)) {
      return { kind: 'unmapped', reason: `IN_CIDR value ${JSON.stringify(values)} holds an entry that is not an IP address or CIDR block` };
    }
    return { kind: 'condition', condition };
  }
  const raw = c.value;
  // Date constraints compare the context's currentTime, whatever contextName says.
  const attribute = c.operator.startsWith('DATE_') ? 'currentTime' : c.contextName;
  let value: string | number | undefined = raw;
  if (c.operator.startsWith('NUM_')) {
    const n = Number(raw);
    if (raw === undefined || Number.isNaN(n)) return { kind: 'constant', value: negate };
    if (!Number.isFinite(n)) return { kind: 'unmapped', reason: `${c.operator} value ${JSON.stringify(raw)} is not a finite number` };
    value = n;
  } else if (c.operator === 'REGEX') {
    if (raw === undefined) return { kind: 'constant', value: negate };
    try {
      RE2JS.compile(raw);
    } catch {
      // unleash-client treats a pattern it cannot compile as no match.
      return { kind: 'constant', value: negate };
    }
  } else if (raw === undefined) {
    return { kind: 'constant', value: negate };
  }
  const condition: Condition = { attribute, operator, values: [value as string | number], dialect: 'unleash' };
  if (negate) condition.negate = true;
  if (c.caseInsensitive === true && c.operator === 'REGEX') condition.caseInsensitive = true;
  const issues = validateCondition(condition, '', { regex: RE2JS });
  if (issues.length > 0) return { kind: 'unmapped', reason: `${c.operator} ${JSON.stringify(raw)}: ${issues[0]?.message ?? 'invalid'}` };
  return { kind: 'condition', condition };
}

/** Maps a list of constraints (ANDed): the conditions, or why the list never holds or cannot be expressed. */
function mapConstraints(constraints: readonly UnleashConstraint[]): { conditions: Condition[] } | { never: string } | { unmapped: string } {
  const conditions: Condition[] = [];
  for (const c of constraints) {
    const m = mapConstraint(c);
    if (m.kind === 'unmapped') return { unmapped: m.reason };
    if (m.kind === 'constant') {
      if (!m.value) return { never: `constraint ${c.contextName} ${c.operator}${c.inverted ? ' (inverted)' : ''} never holds in Unleash` };
      continue;
    }
    conditions.push(m.condition);
  }
  return { conditions };
}

interface FeatureInput {
  name: string;
  description: string;
  type: string | undefined;
  stale: boolean;
  dependencies: UnleashDependency[];
  environments: Map<string, { enabled: boolean; strategies: UnleashStrategy[]; variants: UnleashVariant[] }>;
}

function isAdminExport(input: unknown): input is UnleashAdminExport {
  const o = input as Record<string, unknown>;
  return Array.isArray(o.featureStrategies) || Array.isArray(o.featureEnvironments);
}

function normalize(input: unknown, options: ConvertOptions): { features: FeatureInput[]; segments: UnleashSegment[]; environments: string[] } {
  if (typeof input !== 'object' || input === null || !Array.isArray((input as { features?: unknown }).features)) {
    throw new TypeError('not an Unleash export: expected an object with a features array (client API or admin export format)');
  }
  if (isAdminExport(input)) {
    const single = options.environment;
    const envNames = [...new Set((input.featureEnvironments ?? []).map((e) => e.environment))];
    const fallbackEnv = single ?? envNames[0] ?? 'production';
    const deps = new Map((input.dependencies ?? []).map((d) => [d.feature, d.dependencies]));
    const features = input.features.map((f): FeatureInput => {
      const environments = new Map<string, { enabled: boolean; strategies: UnleashStrategy[]; variants: UnleashVariant[] }>();
      for (const fe of (input.featureEnvironments ?? []).filter((e) => e.featureName === f.name)) {
        environments.set(fe.environment, { enabled: fe.enabled, strategies: [], variants: fe.variants ?? f.variants ?? [] });
      }
      const strategies = (input.featureStrategies ?? []).filter((s) => s.featureName === f.name);
      for (const s of [...strategies].sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0))) {
        const env = s.environment ?? fallbackEnv;
        let entry = environments.get(env);
        if (entry === undefined) {
          entry = { enabled: false, strategies: [], variants: f.variants ?? [] };
          environments.set(env, entry);
        }
        entry.strategies.push(s);
      }
      return { name: f.name, description: f.description ?? '', type: f.type, stale: f.stale === true, dependencies: deps.get(f.name) ?? [], environments };
    });
    const all = [...new Set([...envNames, ...features.flatMap((f) => [...f.environments.keys()])])];
    return { features, segments: input.segments ?? [], environments: all.length > 0 ? all : [fallbackEnv] };
  }
  const client = input as UnleashClientExport;
  const env = options.environment ?? 'production';
  const features = client.features.map(
    (f: UnleashClientFeature): FeatureInput => ({
      name: f.name,
      description: f.description ?? '',
      type: f.type,
      stale: f.stale === true,
      dependencies: f.dependencies ?? [],
      environments: new Map([[env, { enabled: f.enabled, strategies: f.strategies ?? [], variants: f.variants ?? [] }]]),
    }),
  );
  return { features, segments: client.segments ?? [], environments: [env] };
}

function totalWeight(variants: readonly UnleashVariant[]): number {
  return variants.reduce((sum, v) => sum + (Number.isFinite(v.weight) ? v.weight : 0), 0);
}

function variantStickinessOf(stickiness: string | undefined): string[] {
  return stickiness === undefined || stickiness === 'default' ? VARIANT_DEFAULT_STICKINESS : stickiness === 'random' ? ['random'] : [stickiness, 'random'];
}

/** Segment keys from Unleash segment names: valid Rollgate keys, unique. */
function segmentKeys(segments: readonly UnleashSegment[]): Map<number, string> {
  const keys = new Map<number, string>();
  const used = new Set<string>();
  for (const s of segments) {
    let base = (s.name ?? '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 80);
    if (base === '') base = `segment-${s.id}`;
    const key = used.has(base) ? `${base}-${s.id}` : base;
    used.add(key);
    keys.set(s.id, key);
  }
  return keys;
}

interface SegmentInfo {
  key: string;
  /** Undefined: matches every context (no constraints), so rules need not reference it. */
  segment?: Segment;
  never?: string;
  unmapped?: string;
}

/** The Rollgate variation key of each Unleash variant name. */
class Variations {
  readonly keys = new Map<string, string>();
  readonly payloads = new Map<string, UnleashVariant['payload']>();
  constructor(private readonly unmapped: UnmappedItem[], private readonly feature: string) {}
  add(v: UnleashVariant): string {
    const known = this.keys.get(v.name);
    if (known !== undefined) {
      if (JSON.stringify(this.payloads.get(known)) !== JSON.stringify(v.payload)) {
        this.unmapped.push({ feature: this.feature, reason: `variant ${JSON.stringify(v.name)} has different payloads in different places; the first one is kept` });
      }
      return known;
    }
    let key = v.name.slice(0, 100) || 'variant';
    if (key === ON || key === OFF) key = `variant-${key}`;
    while ([...this.keys.values()].includes(key)) key = `${key}_`;
    if (key !== v.name) this.unmapped.push({ feature: this.feature, reason: `variant ${JSON.stringify(v.name)} is the variation ${JSON.stringify(key)} (the name is taken or too long)` });
    this.keys.set(v.name, key);
    this.payloads.set(key, v.payload);
    return key;
  }
}

function payloadValue(payload: UnleashVariant['payload']): { type: string; value: string } | undefined {
  return payload === undefined ? undefined : { type: payload.type, value: payload.value };
}

/**
 * Converts an Unleash export (the client API's `/api/client/features`
 * response, or the admin API's feature export) into Rollgate flags and
 * segments. Pure: reads nothing, writes nothing.
 *
 * A feature becomes a `boolean` flag (`true` when Unleash says enabled; the
 * variation key is the Unleash variant's name, `on` without a variant, `off`
 * when disabled), or a `json` flag when some variant has a payload, whose
 * values are Unleash's variant objects `{ name, enabled, feature_enabled, payload? }`.
 *
 * @example
 * const exported = JSON.parse(await readFile('unleash-features.json', 'utf8'));
 * const { flags, segments, unmapped } = convertUnleashExport(exported, { environment: 'production' });
 * for (const s of segments) await api.post(`/api/projects/web/segments`, s);
 * for (const f of flags) {
 *   await api.post(`/api/projects/web/flags`, f.create);
 *   for (const [env, config] of Object.entries(f.environments)) await api.put(`/api/projects/web/flags/${f.create.key}/environments/${env}`, { version, config });
 * }
 * for (const u of unmapped) console.warn(`${u.feature ?? ''} ${u.strategy ?? ''}: ${u.reason}`);
 */
export function convertUnleashExport(input: unknown, options: ConvertOptions = {}): UnleashConversion {
  const { features, segments: rawSegments, environments } = normalize(input, options);
  const unmapped: UnmappedItem[] = [];
  const keys = segmentKeys(rawSegments);
  const segmentInfo = new Map<number, SegmentInfo>();
  const segments: CreateSegmentBody[] = [];
  for (const s of rawSegments) {
    const key = keys.get(s.id) as string;
    const mapped = mapConstraints(s.constraints ?? []);
    if ('unmapped' in mapped) {
      segmentInfo.set(s.id, { key, unmapped: mapped.unmapped });
      unmapped.push({ segment: s.id, reason: `segment ${JSON.stringify(s.name)} is not imported: ${mapped.unmapped}` });
      continue;
    }
    if ('never' in mapped) {
      segmentInfo.set(s.id, { key, never: mapped.never });
      unmapped.push({ segment: s.id, reason: `segment ${JSON.stringify(s.name)} is not imported: ${mapped.never}, so no context is in it` });
      continue;
    }
    const definition = mapped.conditions.length === 0 ? {} : { rules: [{ conditions: mapped.conditions }] };
    segments.push({ key, name: (s.name ?? key).slice(0, 200) || key, description: s.description ?? `Imported from Unleash segment ${s.id}`, definition: definition as CreateSegmentBody['definition'] });
    segmentInfo.set(s.id, mapped.conditions.length === 0 ? { key } : { key, segment: { key, ...definition } });
  }

  const byName = new Map(features.map((f) => [f.name, f]));
  const flags: ConvertedFlag[] = [];
  const variationsOf = new Map<string, Variations>();
  for (const f of features) {
    const vs = new Variations(unmapped, f.name);
    for (const env of f.environments.values()) {
      for (const v of env.variants) vs.add(v);
      for (const s of env.strategies) for (const v of s.variants ?? []) vs.add(v);
    }
    variationsOf.set(f.name, vs);
  }

  for (const f of features) {
    if (!KEY.test(f.name)) {
      unmapped.push({ feature: f.name, reason: 'the name is not a valid Rollgate key (letters, digits, ".", "_", "-", at most 100): the feature is not imported' });
      continue;
    }
    const vs = variationsOf.get(f.name) as Variations;
    const json = [...vs.payloads.values()].some((p) => p !== undefined);
    const variationKeys = [...vs.keys.values()];
    const variations = json
      ? [
          { key: OFF, value: { name: 'disabled', enabled: false, feature_enabled: false } },
          { key: ON, value: { name: 'disabled', enabled: false, feature_enabled: true } },
          ...[...vs.keys].map(([name, key]) => {
            const payload = payloadValue(vs.payloads.get(key));
            return { key, value: { name, enabled: true, feature_enabled: true, ...(payload ? { payload } : {}) } };
          }),
        ]
      : [
          { key: OFF, value: false },
          { key: ON, value: true },
          ...variationKeys.map((key) => ({ key, value: true })),
        ];
    const prerequisites: NonNullable<FlagConfig['prerequisites']>[number][] = [];
    let alwaysOff: string | undefined;
    for (const d of f.dependencies) {
      const parent = byName.get(d.feature);
      if (parent === undefined) {
        alwaysOff = `depends on ${JSON.stringify(d.feature)}, which is not in the export: Unleash evaluates it as disabled, and so does the imported flag`;
        break;
      }
      if (parent.dependencies.length > 0) {
        alwaysOff = `depends on ${JSON.stringify(d.feature)}, which has dependencies of its own: Unleash's SDKs evaluate such a feature as disabled, and so does the imported flag`;
        break;
      }
      const pvs = variationsOf.get(parent.name) as Variations;
      const enabledKeys = [ON, ...pvs.keys.values()];
      if (d.enabled === false) prerequisites.push({ flag: parent.name, variations: enabledKeys, negate: true });
      else if (d.variants !== undefined && d.variants.length > 0) {
        const wanted = d.variants.map((n) => (n === 'disabled' ? ON : pvs.keys.get(n))).filter((k): k is string => k !== undefined);
        if (wanted.length === 0) {
          alwaysOff = `depends on variants ${JSON.stringify(d.variants)} of ${JSON.stringify(d.feature)}, which it does not have: never enabled`;
          break;
        }
        prerequisites.push({ flag: parent.name, variations: wanted });
      } else prerequisites.push({ flag: parent.name, variations: enabledKeys });
    }
    if (alwaysOff !== undefined) unmapped.push({ feature: f.name, reason: alwaysOff });

    const configs: Record<string, FlagEnvironmentConfig> = {};
    for (const envName of environments) {
      const env = f.environments.get(envName) ?? { enabled: false, strategies: [], variants: [] };
      const config: FlagEnvironmentConfig = { enabled: env.enabled, offVariation: OFF, fallthrough: { variation: OFF } };
      if (alwaysOff !== undefined) {
        configs[envName] = config;
        continue;
      }
      if (prerequisites.length > 0) config.prerequisites = prerequisites as FlagEnvironmentConfig['prerequisites'];
      const rules: Rule[] = [];
      const active = env.strategies.filter((s) => s.disabled !== true);
      const variantServe = (variants: readonly UnleashVariant[], salt: string, stickiness: string | undefined) => ({
        variants: variants.map((v) => ({ variation: vs.keys.get(v.name) as string, weight: v.weight })),
        variantSalt: salt,
        variantStickiness: variantStickinessOf(stickiness),
      });
      if (active.length === 0) {
        // No strategy: enabled for everyone, with the feature's variants.
        if (totalWeight(env.variants) > 0) {
          const stickiness = env.variants[0]?.stickiness;
          rules.push(...overrideRules('variants', [], env.variants, vs));
          config.fallthrough = { rollout: { percentage: 100, stickiness: variantStickinessOf(stickiness), bucketing: 'unleash/v1', ...variantServe(env.variants, f.name, stickiness) } };
        } else config.fallthrough = { variation: ON };
      }
      active.forEach((s, i) => {
        const label = `#${i + 1} ${s.name}`;
        const note = (reason: string) => unmapped.push({ feature: f.name, environment: envName, strategy: label, reason });
        const base = strategyBase(s, f.name);
        if ('unmapped' in base) {
          note(`not imported: ${base.unmapped}`);
          return;
        }
        const mapped = mapConstraints(s.constraints ?? []);
        if ('unmapped' in mapped) {
          note(`not imported: ${mapped.unmapped}`);
          return;
        }
        if ('never' in mapped) {
          note(`not imported: ${mapped.never}, so the strategy never enables the feature`);
          return;
        }
        const conditions = [...base.conditions, ...mapped.conditions];
        if (conditions.some((c) => c.operator === 'before' || c.operator === 'after')) {
          note('DATE_AFTER/DATE_BEFORE compare the context\'s currentTime: Unleash uses the current time when the context has none, Rollgate needs it in the context');
        }
        const segmentKeysUsed: string[] = [];
        for (const id of s.segments ?? []) {
          const info = segmentInfo.get(id);
          if (info === undefined || info.never !== undefined || info.unmapped !== undefined) {
            note(`not imported: segment ${id} ${info === undefined ? 'is not in the export' : 'was not imported'}, so the strategy never enables the feature in Unleash either`);
            return;
          }
          if (info.segment !== undefined) segmentKeysUsed.push(info.key);
        }
        const strategyVariants = s.variants ?? [];
        const useStrategyVariants = totalWeight(strategyVariants) > 0;
        const variants = useStrategyVariants ? strategyVariants : env.variants;
        const withVariants = totalWeight(variants) > 0;
        const variantStickiness = useStrategyVariants ? (strategyVariants[0]?.stickiness ?? s.parameters?.stickiness) : env.variants[0]?.stickiness;
        const variantSalt = useStrategyVariants ? String(s.parameters?.groupId) : f.name;
        const rollout = base.rollout ?? (withVariants ? { percentage: 100, stickiness: variantStickinessOf(variantStickiness), bucketing: 'unleash/v1' as const } : undefined);
        const id = `s${i + 1}-${s.name}`.slice(0, 90);
        const ruleOf = (ruleId: string, extra: Condition[], serve: Serve): Rule => {
          const rule: Rule = { id: ruleId, serve };
          const all = [...conditions, ...extra];
          if (all.length > 0) rule.conditions = all;
          if (segmentKeysUsed.length > 0) rule.segments = segmentKeysUsed;
          return rule;
        };
        const serveOne = (variation: string): Serve => (rollout === undefined ? { variation } : { rollout: { ...rollout, variation, continueOutside: true } });
        if (withVariants) {
          for (const o of overrideRules(id, [], variants, vs)) rules.push(ruleOf(o.id, [...(o.conditions ?? [])], serveOne(o.serve.variation as string)));
          const r = rollout as Rollout;
          rules.push(ruleOf(id, [], { rollout: { ...r, ...variantServe(variants, variantSalt, variantStickiness), continueOutside: true } }));
        } else rules.push(ruleOf(id, [], serveOne(ON)));
      });
      if (rules.length > 0) config.rules = rules as FlagEnvironmentConfig['rules'];
      configs[envName] = config;
    }
    flags.push({
      create: {
        key: f.name,
        name: f.name,
        description: f.description.slice(0, 2000),
        type: json ? 'json' : 'boolean',
        variations,
        tags: ['unleash', ...(f.type ? [f.type] : []), ...(f.stale ? ['stale'] : [])].map((t) => t.slice(0, 50)),
      },
      environments: configs,
    });
  }
  return { flags, segments, unmapped, environments };
}

/** Rules for variant overrides: the first variant (in order) with an override matching the context wins. */
function overrideRules(id: string, conditions: Condition[], variants: readonly UnleashVariant[], vs: Variations): Rule[] {
  const rules: Rule[] = [];
  let n = 0;
  for (const v of variants) {
    for (const o of v.overrides ?? []) {
      if (o.values.length === 0) continue;
      n++;
      rules.push({
        id: `${id}-override-${n}`.slice(0, 100),
        conditions: [...conditions, { attribute: o.contextName, operator: 'in', values: o.values, dialect: 'unleash' }],
        serve: { variation: vs.keys.get(v.name) as string },
      });
    }
  }
  return rules;
}

/** A strategy's own test: its rollout, or conditions for userWithId and remoteAddress. */
function strategyBase(s: UnleashStrategy, feature: string): { conditions: Condition[]; rollout?: Rollout } | { unmapped: string } {
  const p = s.parameters ?? {};
  const percent = (v: string | undefined) => Math.max(0, Math.min(100, Math.floor(Number(v) || 0)));
  switch (s.name) {
    case 'default':
      return { conditions: [] };
    case 'flexibleRollout': {
      const stickiness = p.stickiness || 'default';
      return {
        conditions: [],
        rollout: {
          percentage: percent(p.rollout),
          salt: p.groupId || feature,
          stickiness: stickiness === 'default' ? ['userId', 'sessionId', 'random'] : stickiness === 'random' ? ['random'] : [stickiness],
          bucketing: 'unleash/v1',
        },
      };
    }
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      return {
        conditions: [],
        rollout: { percentage: percent(p.percentage), salt: p.groupId || '', stickiness: [s.name === 'gradualRolloutUserId' ? 'userId' : 'sessionId'], bucketing: 'unleash/v1' },
      };
    case 'gradualRolloutRandom':
      return { conditions: [], rollout: { percentage: percent(p.percentage), stickiness: ['random'], bucketing: 'unleash/v1' } };
    case 'userWithId': {
      const ids = p.userIds ? p.userIds.split(/\s*,\s*/) : [];
      if (ids.length === 0) return { unmapped: 'userWithId lists no user ids, so it never enables the feature' };
      return { conditions: [{ attribute: 'userId', operator: 'in', values: ids, dialect: 'unleash' }] };
    }
    case 'remoteAddress': {
      const ips = p.IPs ? p.IPs.split(/\s*,\s*/).filter((ip) => ip !== '') : [];
      if (ips.length === 0) return { unmapped: 'remoteAddress lists no addresses, so it never enables the feature' };
      const bad = ips.filter((ip) => validateCondition({ attribute: 'a', operator: 'cidr', values: [ip] }).length > 0 || ip.includes(':'));
      if (bad.length > 0) return { unmapped: `remoteAddress holds ${JSON.stringify(bad)}, which Unleash matches only as exact strings; not expressible as one condition` };
      return { conditions: [{ attribute: 'remoteAddress', operator: 'cidr', values: ips, dialect: 'unleash' }] };
    }
    case 'applicationHostname':
      return { unmapped: "applicationHostname depends on the evaluating machine's host name, which a Rollgate context does not carry" };
    default:
      return { unmapped: `custom strategy ${JSON.stringify(s.name)} has no Rollgate equivalent (unleash-client without its implementation evaluates it as false)` };
  }
}

/**
 * The snapshot of one environment of a conversion, as the server would serve
 * it after the import: for evaluating converted flags locally.
 *
 * @example
 * const snapshot = conversionSnapshot(convertUnleashExport(exported), 'production');
 * evaluate(compileSnapshot(snapshot, { regex: RE2JS }), 'new-checkout', { userId: 'u1' }, false);
 */
export function conversionSnapshot(conversion: UnleashConversion, environment: string): Snapshot {
  return {
    environment,
    flags: conversion.flags.map((f): FlagConfig => {
      const config = f.environments[environment] ?? { enabled: false, offVariation: OFF, fallthrough: { variation: OFF } };
      return { key: f.create.key, type: f.create.type, variations: f.create.variations.map((v) => ({ key: v.key, value: v.value as FlagConfig['variations'][number]['value'] })), ...config };
    }),
    segments: conversion.segments.map((s): Segment => ({ key: s.key, name: s.name, ...s.definition })),
  };
}
