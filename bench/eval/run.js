// Evaluation benchmark: one flag (`new-checkout`), 1,000,000 distinct users, evaluated by
// Rollgate (the core, and the SDK's isEnabled) and by three peers configured with the same logic,
// and through the OpenFeature server SDK with Rollgate's provider and with flagd's in-process one.
// See bench/README.md.
//
//   npm run bench:eval                      (builds, then runs this with node --expose-gc)
//   node --expose-gc bench/eval/run.js [--users N] [--passes N] [--warmup N] [--only a,b]
//
// The parent process prints the machine line, the allocation-method check and the table.
// Every implementation runs in its own child process (same script, `--worker <name>`), so
// no implementation's JIT feedback, heap or timers can affect another's numbers.
import { fork } from 'node:child_process';
import { channel } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GCProfiler } from 'node:v8';

const FLAG_KEY = 'new-checkout';
const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'IN'];
const NORTH_AMERICA = ['US', 'CA'];
const POPULATION_SEED = 0x5eed2024;
/** Largest tolerated distance, in percentage points, between a measured share and the configured one. */
const SHARE_TOLERANCE = 1;
const TARGETS = { opsPerSecond: 10_000_000, bytesPerEvaluation: 16 };
/** The SDK's isEnabled (the core's evaluate behind a method call). */
const SDK_TARGETS = { opsPerSecond: 8_000_000, bytesPerEvaluation: 16 };
/** OpenFeature's client with Rollgate's provider, against OpenFeature's client with flagd's in-process provider. */
const OPENFEATURE_SPEEDUP_TARGET = 3;

const DEFAULTS = { users: 1_000_000, passes: 5, warmup: 2 };

// ---------------------------------------------------------------------------------------------
// Population
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so the population is the same on every run and machine. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Users `user-0` .. `user-(n-1)`, each with a country drawn from COUNTRIES. */
function buildPopulation(n) {
  const random = mulberry32(POPULATION_SEED);
  const userIds = new Array(n);
  const countries = new Array(n);
  const northAmerica = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)];
    userIds[i] = `user-${i}`;
    countries[i] = country;
    northAmerica[i] = NORTH_AMERICA.includes(country) ? 1 : 0;
  }
  return { n, userIds, countries, northAmerica };
}

// ---------------------------------------------------------------------------------------------
// Implementations. `setup` builds the evaluator and its pre-built contexts; `pass` evaluates
// every context once and writes 1 (flag on) or 0 into `out[i]`. Each pass function is its own
// closure with a single call site for the library, as an application's hot path would be.
// ---------------------------------------------------------------------------------------------

const ROLLGATE_SNAPSHOT = {
  flags: [
    {
      key: FLAG_KEY,
      type: 'boolean',
      variations: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      enabled: true,
      offVariation: 'off',
      rules: [
        {
          id: 'north-america',
          conditions: [{ attribute: 'country', operator: 'in', values: NORTH_AMERICA }],
          serve: { rollout: { percentage: 25, variation: 'on' } },
        },
      ],
      fallthrough: { rollout: { percentage: 10, variation: 'on' } },
    },
  ],
};

/** Unleash: two flexibleRollout strategies (OR-ed), same groupId, so the 10% bucket is inside the 25% one. */
const UNLEASH_FEATURES = [
  {
    name: FLAG_KEY,
    type: 'release',
    project: 'default',
    enabled: true,
    stale: false,
    impressionData: false,
    strategies: [
      {
        name: 'flexibleRollout',
        constraints: [{ contextName: 'country', operator: 'IN', values: NORTH_AMERICA, inverted: false, caseInsensitive: false }],
        parameters: { rollout: '25', stickiness: 'userId', groupId: FLAG_KEY },
      },
      {
        name: 'flexibleRollout',
        constraints: [],
        parameters: { rollout: '10', stickiness: 'userId', groupId: FLAG_KEY },
      },
    ],
    variants: [],
  },
];

/**
 * GrowthBook: two force rules, evaluated in order. Both rollouts hash with the same seed (the
 * feature key), so a US/CA user outside the 25% is outside the 10% too: the second rule needs
 * no condition to give US/CA users exactly 25%.
 */
const GROWTHBOOK_FEATURES = {
  [FLAG_KEY]: {
    defaultValue: false,
    rules: [
      { id: 'north-america', condition: { country: { $in: NORTH_AMERICA } }, force: true, coverage: 0.25, hashAttribute: 'userId' },
      { id: 'everyone-else', force: true, coverage: 0.1, hashAttribute: 'userId' },
    ],
  },
};

/** flagd: `if` on `in`, then `fractional` bucketing on userId. */
const FLAGD_CONFIGURATION = JSON.stringify({
  flags: {
    [FLAG_KEY]: {
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'off',
      targeting: {
        if: [
          { in: [{ var: 'country' }, NORTH_AMERICA] },
          { fractional: [{ var: 'userId' }, ['on', 25], ['off', 75]] },
          { fractional: [{ var: 'userId' }, ['on', 10], ['off', 90]] },
        ],
      },
    },
  },
});

/**
 * flagd through OpenFeature: the same flag, bucketing on the OpenFeature context's targetingKey
 * (which the Rollgate provider maps to userId), so both OpenFeature rows get the same contexts.
 */
const FLAGD_OPENFEATURE_CONFIGURATION = FLAGD_CONFIGURATION.replaceAll('"var":"userId"', '"var":"targetingKey"');

const NOOP_LOGGER = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * The OpenFeature rows: the provider (Rollgate's over an offline client bootstrapped with the
 * same snapshot, or flagd's in-process resolver reading the same flag from a file: no flagd
 * server, no gRPC connection) registered with the OpenFeature server SDK. A pass awaits, per
 * context, `client.getBooleanValue` (OpenFeature's evaluation API), or with `direct` the
 * provider's own `resolveBooleanEvaluation`, which is what the SDK calls (no hooks, no context
 * merging, no evaluation details).
 */
async function openFeatureSetup(pop, which, direct) {
  const { OpenFeature } = await import('@openfeature/server-sdk');
  let provider;
  let dir;
  if (which === 'rollgate') {
    const { RollgateProvider } = await import('@rollgate/sdk/openfeature');
    provider = new RollgateProvider({ offline: true, bootstrap: ROLLGATE_SNAPSHOT, logger: NOOP_LOGGER });
  } else if (which === 'table') {
    provider = await lookupTableProvider(pop);
  } else {
    const { FlagdProvider } = await import('@openfeature/flagd-provider');
    dir = mkdtempSync(join(tmpdir(), 'rollgate-bench-flagd-'));
    const path = join(dir, 'flags.json');
    writeFileSync(path, FLAGD_OPENFEATURE_CONFIGURATION);
    provider = new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: path }, NOOP_LOGGER);
  }
  await OpenFeature.setProviderAndWait('bench', provider);
  const client = OpenFeature.getClient('bench');
  const contexts = openFeatureContexts(pop);
  const probe = await client.getBooleanDetails(FLAG_KEY, false, contexts[0]);
  if (probe.reason === 'ERROR') throw new Error(`OpenFeature + ${which}: evaluation error ${probe.errorCode} ${probe.errorMessage ?? ''}`);
  const pass = direct
    ? async (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = (await provider.resolveBooleanEvaluation(FLAG_KEY, false, ctxs[i], NOOP_LOGGER)).value === true ? 1 : 0;
        }
      }
    : async (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = (await client.getBooleanValue(FLAG_KEY, false, ctxs[i])) === true ? 1 : 0;
        }
      };
  return {
    contexts,
    pass,
    async close() {
      await OpenFeature.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The floor of any provider through the OpenFeature SDK: the answers precomputed (by Rollgate's
 * core, so the shares check out) and looked up by targetingKey, so resolving costs one Map lookup.
 * What remains of a call through `client.getBooleanValue` is the SDK's own work.
 */
async function lookupTableProvider(pop) {
  const { compileSnapshot, evaluate } = await import('@rollgate/core');
  const compiled = compileSnapshot(ROLLGATE_SNAPSHOT);
  const table = new Map(pop.userIds.map((userId, i) => [userId, evaluate(compiled, FLAG_KEY, { userId, country: pop.countries[i] }, false).value === true]));
  const resolve = (_flag, defaultValue, context) => Promise.resolve({ value: table.get(context.targetingKey) ?? defaultValue, reason: 'TARGETING_MATCH' });
  const unsupported = (_flag, defaultValue) => Promise.resolve({ value: defaultValue, reason: 'DEFAULT' });
  return {
    metadata: { name: 'lookup table' },
    runsOn: 'server',
    resolveBooleanEvaluation: resolve,
    resolveStringEvaluation: unsupported,
    resolveNumberEvaluation: unsupported,
    resolveObjectEvaluation: unsupported,
  };
}

/** OpenFeature's natural context: the user as targetingKey, the rest as attributes. */
const openFeatureContexts = (pop) => pop.userIds.map((targetingKey, i) => ({ targetingKey, country: pop.countries[i] }));

/** The same flag with its North America rule written as a regex on the country: the cost of `matches` against `in`. */
const REGEX_SNAPSHOT = {
  flags: ROLLGATE_SNAPSHOT.flags.map((f) => ({
    ...f,
    rules: f.rules.map((r) => ({ ...r, conditions: [{ attribute: 'country', operator: 'matches', values: [`^(?:${NORTH_AMERICA.join('|')})$`] }] })),
  })),
};

/** The core evaluating `snapshot` (with `engine` for regexes) for every user. */
async function coreSetup(pop, snapshot, engine) {
  const { compileSnapshot, evaluate } = await import('@rollgate/core');
  const compiled = compileSnapshot(snapshot, { regex: engine });
  const contexts = pop.userIds.map((userId, i) => ({ userId, country: pop.countries[i] }));
  const probe = evaluate(compiled, FLAG_KEY, contexts[0], false);
  if (probe.reason === 'ERROR') throw new Error(`Rollgate evaluation error: ${probe.errorCode} ${probe.errorMessage ?? ''}`);
  const pass = (ctxs, out) => {
    for (let i = 0; i < ctxs.length; i++) out[i] = evaluate(compiled, FLAG_KEY, ctxs[i], false).value === true ? 1 : 0;
  };
  return { contexts, pass, close() {} };
}

const IMPLEMENTATIONS = [
  {
    name: 'rollgate',
    label: 'Rollgate',
    packageJson: '../../packages/core/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => coreSetup(pop, ROLLGATE_SNAPSHOT),
  },
  {
    name: 'regex-re2',
    label: 'Rollgate, regex rule (RE2, re2js)',
    packageJson: '../../node_modules/re2js/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      const { RE2JS } = await import('re2js');
      return coreSetup(pop, REGEX_SNAPSHOT, RE2JS);
    },
  },
  {
    name: 'regex-backtracking',
    label: 'Rollgate, regex rule (JS RegExp, before)',
    packageJson: '../../packages/core/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      // The engine the evaluator used before RE2: V8's backtracking RegExp, behind a heuristic check.
      return coreSetup(pop, REGEX_SNAPSHOT, { compile: (pattern) => new RegExp(pattern, 'u') });
    },
  },
  {
    name: 'sdk',
    label: 'Rollgate SDK isEnabled',
    packageJson: '../../packages/sdk/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      const { createClient } = await import('@rollgate/sdk');
      // Offline from a bootstrap: the same snapshot, no network.
      const client = createClient({ offline: true, bootstrap: ROLLGATE_SNAPSHOT, logger: NOOP_LOGGER });
      await client.ready(1000);
      const contexts = pop.userIds.map((userId, i) => ({ userId, country: pop.countries[i] }));
      const probe = client.evaluate(FLAG_KEY, contexts[0], false);
      if (probe.reason === 'ERROR') {
        throw new Error(`Rollgate SDK evaluation error: ${probe.errorCode} ${probe.errorMessage ?? ''}`);
      }
      const pass = (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = client.isEnabled(FLAG_KEY, ctxs[i]) ? 1 : 0;
        }
      };
      return { contexts, pass, close: () => client.close() };
    },
  },
  {
    name: 'unleash',
    label: 'unleash-client',
    packageJson: '../../node_modules/unleash-client/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      const { Unleash, InMemStorageProvider } = await import('unleash-client');
      const errors = [];
      const unleash = new Unleash({
        appName: 'rollgate-bench',
        // Required by the constructor. Nothing is fetched from it: refreshInterval 0 disables
        // polling, metrics are off, and the worker fails if any socket is opened.
        url: 'http://127.0.0.1:1/api/',
        refreshInterval: 0,
        disableMetrics: true,
        metricsInterval: 0,
        storageProvider: new InMemStorageProvider(),
        bootstrap: { data: UNLEASH_FEATURES },
        bootstrapOverride: true,
        skipInstanceCountWarning: true,
      });
      unleash.on('error', (err) => errors.push(err));
      unleash.on('warn', (msg) => errors.push(new Error(String(msg))));
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('unleash-client was not ready after 5 s')), 5000);
        unleash.once('synchronized', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (!unleash.getFeatureToggleDefinition(FLAG_KEY)) throw new Error('unleash-client: bootstrapped feature not found');
      if (errors.length > 0) throw new Error(`unleash-client reported: ${errors.map((e) => e.message).join('; ')}`);
      const contexts = pop.userIds.map((userId, i) => ({ userId, properties: { country: pop.countries[i] } }));
      const pass = (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = unleash.isEnabled(FLAG_KEY, ctxs[i]) === true ? 1 : 0;
        }
      };
      return {
        contexts,
        pass,
        close() {
          if (errors.length > 0) throw new Error(`unleash-client reported: ${errors.map((e) => e.message).join('; ')}`);
          unleash.destroy();
        },
      };
    },
  },
  {
    name: 'growthbook',
    label: '@growthbook/growthbook',
    packageJson: '../../node_modules/@growthbook/growthbook/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      const { GrowthBookClient } = await import('@growthbook/growthbook');
      // initSync with neither streaming nor pollingInterval: no background sync, no network.
      const gb = new GrowthBookClient({}).initSync({ payload: { features: GROWTHBOOK_FEATURES } });
      const contexts = pop.userIds.map((userId, i) => ({ attributes: { userId, country: pop.countries[i] } }));
      const probe = gb.evalFeature(FLAG_KEY, contexts[0]);
      if (probe.source === 'unknownFeature') throw new Error('GrowthBook: feature not found');
      const pass = (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = gb.isOn(FLAG_KEY, ctxs[i]) === true ? 1 : 0;
        }
      };
      return { contexts, pass, close: () => gb.destroy() };
    },
  },
  {
    name: 'flagd',
    label: '@openfeature/flagd-core',
    packageJson: '../../node_modules/@openfeature/flagd-core/package.json',
    expected: { northAmerica: 25, other: 10 },
    async setup(pop) {
      const { FlagdCore } = await import('@openfeature/flagd-core');
      const core = new FlagdCore(undefined, NOOP_LOGGER);
      const changed = core.setConfigurations(FLAGD_CONFIGURATION);
      if (!changed.includes(FLAG_KEY)) throw new Error(`flagd: configuration did not define ${FLAG_KEY}`);
      const contexts = pop.userIds.map((userId, i) => ({ userId, country: pop.countries[i] }));
      const probe = core.resolveBooleanEvaluation(FLAG_KEY, false, contexts[0], NOOP_LOGGER);
      if (probe.reason === 'ERROR') throw new Error(`flagd evaluation error: ${probe.errorCode} ${probe.errorMessage ?? ''}`);
      const pass = (ctxs, out) => {
        for (let i = 0; i < ctxs.length; i++) {
          out[i] = core.resolveBooleanEvaluation(FLAG_KEY, false, ctxs[i], NOOP_LOGGER).value === true ? 1 : 0;
        }
      };
      return { contexts, pass, close() {} };
    },
  },
  {
    name: 'openfeature',
    label: 'OpenFeature SDK + Rollgate provider',
    packageJson: '../../node_modules/@openfeature/server-sdk/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => openFeatureSetup(pop, 'rollgate', false),
  },
  {
    name: 'openfeature-flagd',
    label: 'OpenFeature SDK + flagd in-process',
    packageJson: '../../node_modules/@openfeature/flagd-provider/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => openFeatureSetup(pop, 'flagd', false),
  },
  {
    name: 'openfeature-floor',
    label: 'OpenFeature SDK + lookup-table provider (the floor)',
    packageJson: '../../node_modules/@openfeature/server-sdk/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => openFeatureSetup(pop, 'table', false),
  },
  {
    name: 'provider',
    label: 'Rollgate provider alone',
    packageJson: '../../packages/sdk/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => openFeatureSetup(pop, 'rollgate', true),
  },
  {
    name: 'provider-flagd',
    label: 'flagd in-process provider alone',
    packageJson: '../../node_modules/@openfeature/flagd-provider/package.json',
    expected: { northAmerica: 25, other: 10 },
    setup: (pop) => openFeatureSetup(pop, 'flagd', true),
  },
];

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/**
 * One timed pass. Bytes allocated = growth of the used heap over the pass plus what every GC
 * during the pass freed (v8.GCProfiler reports the used heap size before and after each GC).
 */
async function measurePass(pass, contexts, out) {
  globalThis.gc();
  const profiler = new GCProfiler();
  profiler.start();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  // The OpenFeature rows' passes are async (OpenFeature's evaluation API returns promises).
  const pending = pass(contexts, out);
  if (pending !== undefined) await pending;
  const t1 = process.hrtime.bigint();
  const heapAfter = process.memoryUsage().heapUsed;
  const profile = profiler.stop();
  let freed = 0;
  for (const gc of profile.statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  }
  return { ns: Number(t1 - t0), bytes: heapAfter - heapBefore + freed, gcs: profile.statistics.length };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs warm-up and timed passes; returns the per-pass samples and the outcome tally. */
async function benchmark(pass, contexts, northAmerica, opts) {
  const n = contexts.length;
  const out = new Uint8Array(n);
  const reference = new Uint8Array(n);
  for (let w = 0; w < opts.warmup; w++) {
    await pass(contexts, out);
    if (w === 0) reference.set(out);
  }
  const samples = [];
  let unstable = 0;
  for (let p = 0; p < opts.passes; p++) {
    out.fill(2);
    samples.push(await measurePass(pass, contexts, out));
    if (opts.warmup === 0 && p === 0) reference.set(out);
    for (let i = 0; i < n; i++) if (out[i] !== reference[i]) unstable++;
  }
  let onNorthAmerica = 0;
  let northAmericaUsers = 0;
  let onOther = 0;
  for (let i = 0; i < n; i++) {
    if (northAmerica[i] === 1) {
      northAmericaUsers++;
      onNorthAmerica += out[i];
    } else {
      onOther += out[i];
    }
  }
  return {
    samples,
    unstable,
    northAmericaUsers,
    otherUsers: n - northAmericaUsers,
    onNorthAmerica,
    onOther,
  };
}

// ---------------------------------------------------------------------------------------------
// Allocation-method check: a loop that allocates nothing, and one that allocates one array of
// a known size per iteration, must be reported as ~0 and ~that size.
// ---------------------------------------------------------------------------------------------

const CHECK_ELEMENTS = 122;

async function allocationCheck() {
  // A JSArray is 4 tagged words (map, properties, elements, length); its FixedArray backing
  // store is 2 (map, length) plus one per element.
  const tagged = process.config.variables.v8_enable_pointer_compression ? 4 : 8;
  const expected = (4 + 2 + CHECK_ELEMENTS) * tagged;
  const iterations = 200_000;
  const contexts = new Array(iterations).fill(0);
  const sink = new Array(1024).fill(null);
  const allocating = (ctxs, out) => {
    for (let i = 0; i < ctxs.length; i++) {
      const a = new Array(CHECK_ELEMENTS).fill(i & 1);
      sink[i & 1023] = a;
      out[i] = a[0];
    }
  };
  const nonAllocating = (ctxs, out) => {
    for (let i = 0; i < ctxs.length; i++) out[i] = (i * 31) & 1;
  };
  const out = new Uint8Array(iterations);
  const run = async (fn) => {
    for (let w = 0; w < 2; w++) fn(contexts, out);
    const samples = [];
    for (let p = 0; p < 3; p++) samples.push(await measurePass(fn, contexts, out));
    return median(samples.map((s) => s.bytes)) / iterations;
  };
  return { expected, allocating: await run(allocating), nonAllocating: await run(nonAllocating) };
}

// ---------------------------------------------------------------------------------------------
// Worker: one implementation (or the allocation check) in a fresh process.
// ---------------------------------------------------------------------------------------------

/** Counts outgoing connections and HTTP requests seen while the worker runs; there must be none. */
function watchNetwork() {
  const seen = [];
  const channels = ['net.client.socket', 'http.client.request.start', 'undici:request:create'].map((name) => {
    const ch = channel(name);
    ch.subscribe(() => seen.push(name));
    return ch;
  });
  return { seen, channels };
}

async function runWorker(name, opts) {
  const network = watchNetwork();
  if (name === 'alloc-check') return { check: await allocationCheck() };
  const impl = IMPLEMENTATIONS.find((i) => i.name === name);
  const pop = buildPopulation(opts.users);
  const { contexts, pass, close } = await impl.setup(pop);
  const result = await benchmark(pass, contexts, pop.northAmerica, opts);
  await close();
  // Give anything a library scheduled a moment to surface before reporting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { ...result, users: contexts.length, network: network.seen.length === 0 ? [] : [...new Set(network.seen)] };
}

function startWorker(name, opts) {
  const script = fileURLToPath(import.meta.url);
  const args = ['--worker', name, '--users', String(opts.users), '--passes', String(opts.passes), '--warmup', String(opts.warmup)];
  return new Promise((resolve) => {
    let message;
    const child = fork(script, args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('message', (m) => {
      message = m;
    });
    child.on('exit', (code, signal) => {
      if (message?.ok) resolve(message.result);
      else {
        const reason = message?.error ?? `exited with ${signal ?? `code ${code}`}`;
        // The message and the first frames are enough to see what failed.
        const brief = (text) => text.split('\n').slice(0, 4).join('\n');
        resolve({ error: [brief(reason), brief(stderr.trim())].filter(Boolean).join('\n') });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: header, check, table, sanity.
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { ...DEFAULTS, only: null, worker: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--users' || arg === '--passes' || arg === '--warmup') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < (arg === '--warmup' ? 0 : 1)) throw new Error(`${arg}: expected an integer`);
      opts[arg.slice(2)] = v;
    } else if (arg === '--only') opts.only = value().split(',');
    else if (arg === '--worker') opts.worker = value();
    else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

function packageVersion(relativePath) {
  try {
    return JSON.parse(readFileSync(new URL(relativePath, import.meta.url), 'utf8')).version;
  } catch {
    return '?';
  }
}

const formatInt = (x) => Math.round(x).toLocaleString('en-US');
const formatFixed = (x, digits) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percent = (part, whole) => (whole === 0 ? NaN : (100 * part) / whole);

/** An aligned Markdown table: readable in a terminal, pastable into RESULTS.md. */
function table(header, rows, rightAligned) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const cell = (text, c) => (rightAligned[c] ? text.padStart(widths[c]) : text.padEnd(widths[c]));
  const line = (cells) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (rightAligned[c] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function runParent(opts) {
  const selected = IMPLEMENTATIONS.filter((i) => opts.only === null || opts.only.includes(i.name));
  if (selected.length === 0) throw new Error(`--only: none of ${IMPLEMENTATIONS.map((i) => i.name).join(', ')}`);
  const cpu = cpus();
  console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${process.platform}/${process.arch}`);
  console.log(
    `flag ${FLAG_KEY}: ${formatInt(opts.users)} distinct users, ${opts.warmup} warm-up + ${opts.passes} timed passes each, median reported; NODE_ENV=${process.env.NODE_ENV}`,
  );
  console.log('');

  const failures = [];
  const check = await startWorker('alloc-check', opts);
  if (check.error) failures.push(`allocation check: ${check.error}`);
  else {
    const { expected, allocating, nonAllocating } = check.check;
    const ok = Math.abs(allocating - expected) <= expected * 0.05 && nonAllocating < 1;
    console.log(
      `allocation method check: ${expected} B array per iteration -> ${formatFixed(allocating, 1)} B/op; no allocation -> ${formatFixed(nonAllocating, 3)} B/op${ok ? '' : '  FAILED'}`,
    );
    if (!ok) failures.push('allocation method check is off by more than 5% (or the empty loop reports >= 1 B/op)');
  }

  const results = [];
  for (const impl of selected) {
    process.stdout.write(`running ${impl.label} ... `);
    const result = await startWorker(impl.name, opts);
    console.log(result.error ? 'FAILED' : 'done');
    results.push({ impl, result });
  }
  console.log('');

  const rows = [];
  const sanity = [];
  for (const { impl, result } of results) {
    const version = packageVersion(impl.packageJson);
    if (result.error) {
      rows.push([impl.label, version, 'error', '', '', '', '', '', '']);
      failures.push(`${impl.label}: ${result.error}`);
      continue;
    }
    const ns = median(result.samples.map((s) => s.ns));
    const bytes = median(result.samples.map((s) => s.bytes));
    const nsPerOp = result.samples.map((s) => s.ns / result.users);
    const bytesPerOp = result.samples.map((s) => s.bytes / result.users);
    const shareNorthAmerica = percent(result.onNorthAmerica, result.northAmericaUsers);
    const shareOther = percent(result.onOther, result.otherUsers);
    rows.push([
      impl.label,
      version,
      formatInt((result.users * 1e9) / ns),
      formatFixed(ns / result.users, 1),
      `${formatFixed(Math.min(...nsPerOp), 1)}–${formatFixed(Math.max(...nsPerOp), 1)}`,
      formatFixed(bytes / result.users, 1),
      `${formatFixed(Math.min(...bytesPerOp), 1)}–${formatFixed(Math.max(...bytesPerOp), 1)}`,
      `${formatFixed(shareNorthAmerica, 2)}%`,
      `${formatFixed(shareOther, 2)}%`,
    ]);
    const problems = [];
    if (!(Math.abs(shareNorthAmerica - impl.expected.northAmerica) <= SHARE_TOLERANCE)) {
      problems.push(`US/CA share ${formatFixed(shareNorthAmerica, 2)}%, configured ${impl.expected.northAmerica}%`);
    }
    if (!(Math.abs(shareOther - impl.expected.other) <= SHARE_TOLERANCE)) {
      problems.push(`others' share ${formatFixed(shareOther, 2)}%, configured ${impl.expected.other}%`);
    }
    if (result.unstable > 0) problems.push(`${formatInt(result.unstable)} results differed between passes (not sticky)`);
    if (result.network.length > 0) problems.push(`network activity: ${result.network.join(', ')}`);
    sanity.push(
      `  ${impl.label}: ${formatInt(result.onNorthAmerica)} of ${formatInt(result.northAmericaUsers)} US/CA users and ${formatInt(result.onOther)} of ${formatInt(result.otherUsers)} others got true; ${problems.length === 0 ? 'ok' : problems.join('; ')}`,
    );
    for (const p of problems) failures.push(`${impl.label}: ${p}`);
    if (impl.name === 'rollgate' || impl.name === 'sdk') {
      const targets = impl.name === 'rollgate' ? TARGETS : SDK_TARGETS;
      const ops = (result.users * 1e9) / ns;
      const perOp = bytes / result.users;
      const met = ops >= targets.opsPerSecond && perOp <= targets.bytesPerEvaluation;
      sanity.push(
        `  ${impl.label} targets (>= ${formatInt(targets.opsPerSecond)} ops/s, <= ${targets.bytesPerEvaluation} B/op): ${met ? 'met' : 'NOT met'}`,
      );
    }
  }

  const opsOf = (name) => {
    const r = results.find((x) => x.impl.name === name)?.result;
    return r === undefined || r.error ? undefined : (r.users * 1e9) / median(r.samples.map((s) => s.ns));
  };
  for (const [rollgateRow, flagdRow, what] of [
    ['openfeature', 'openfeature-flagd', 'through the OpenFeature SDK'],
    ['provider', 'provider-flagd', 'providers alone'],
  ]) {
    const a = opsOf(rollgateRow);
    const b = opsOf(flagdRow);
    if (a === undefined || b === undefined) continue;
    const ratio = a / b;
    sanity.push(
      `  ${what}: Rollgate ${formatFixed(ratio, 2)}x flagd in-process (target >= ${OPENFEATURE_SPEEDUP_TARGET}x): ${ratio >= OPENFEATURE_SPEEDUP_TARGET ? 'met' : 'NOT met'}`,
    );
  }
  const floor = opsOf('openfeature-floor');
  const flagdThroughSdk = opsOf('openfeature-flagd');
  if (floor !== undefined && flagdThroughSdk !== undefined) {
    sanity.push(
      `  the floor: a provider that only looks its answers up is ${formatFixed(floor / flagdThroughSdk, 2)}x flagd in-process through the OpenFeature SDK; no provider can beat that ratio on this path`,
    );
  }

  console.log(
    table(
      ['implementation', 'version', 'ops/s', 'ns/op', 'ns/op min–max', 'B/op', 'B/op min–max', 'true, US/CA', 'true, others'],
      rows,
      [false, false, true, true, true, true, true, true, true],
    ),
  );
  console.log('');
  console.log('sanity (expected: 25% of US/CA users, 10% of the others; same result in every pass; no network):');
  for (const line of sanity) console.log(line);

  if (failures.length > 0) {
    console.error('');
    for (const f of failures) console.error(`FAIL ${f}`);
    process.exitCode = 1;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') {
    throw new Error('run with node --expose-gc (npm run bench:eval does)');
  }
  if (opts.worker === null) {
    // GrowthBook guards its debug logging with process.env.NODE_ENV checks; benchmark the
    // production configuration unless the caller chose otherwise.
    process.env.NODE_ENV ??= 'production';
    await runParent(opts);
    return;
  }
  // A worker reports to the parent over IPC; started by hand (for debugging), it prints JSON.
  const report = (message, code) => {
    if (process.send) process.send(message, () => process.exit(code));
    else {
      console.log(JSON.stringify(message, null, 2));
      process.exitCode = code;
    }
  };
  try {
    report({ ok: true, result: await runWorker(opts.worker, opts) }, 0);
  } catch (err) {
    report({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }, 1);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
