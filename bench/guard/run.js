#!/usr/bin/env node
/**
 * Rollout-guard benchmark: simulated canary traffic, Rollgate's guard (core's
 * `decide` with the sequential gate assessor and the SRM check) against
 * fixed-threshold rules on the same seeds. See bench/guard/README.md and
 * bench/guard/simulate.js. Needs a build first (`npm run bench:guard` builds).
 *
 *   npm run bench:guard
 *   node bench/guard/run.js --runs 500 --scenario aa,error-x2
 *   node bench/guard/run.js --sweep        (the assessor's options on the error-rate gate alone)
 *
 * Runs are spread over worker threads (one per core, at most --workers).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HELP = `Usage: node bench/guard/run.js [options]

Simulates a 10% canary stage (up to 48 h, one check a minute) under each
scenario and compares Rollgate's guard with fixed-threshold rules on the same
seeds. Prints one row per scenario and guard, then the issue's targets.

Options:
  --runs N          runs per scenario (default 2000)
  --scenario a,b    only these scenarios (default all; names below)
  --workers N       worker threads (default: the number of cores)
  --seed N          base seed (default 0x6a09e667)
  --sweep           instead: sweep the assessor's options on a stage holding only
                    the canary error-rate gate (A/A, x1.25, x2, warm-up spike, delayed x2)
  --json FILE       also write the aggregated results as JSON
  --help            this text

Scenarios: aa, error-x1.25, error-x1.5, error-x2, error-x5, latency+10%,
latency+25%, latency+50%, delayed-x2, warm-up-spike, low-traffic,
metric-outage, srm-bug.`;

/** Runs per task sent to a worker; small enough to balance two workers. */
const CHUNK = 50;

// ------------------------------------------------------------------ worker

if (!isMainThread) {
  const sim = await import('./simulate.js');
  const guards = guardSet(sim, workerData.set);
  parentPort.on('message', (task) => {
    if (task === null) {
      process.exit(0);
    }
    const scenario = sim.scenarioByName(task.scenario);
    const outcomes = [];
    for (let i = task.from; i < task.to; i++) {
      const active = guards.filter((g) => g.only === undefined || g.only.includes(scenario.name));
      for (const o of sim.simulateRun(scenario, i, active, { seed: workerData.seed, ...(workerData.set === 'sweep' ? { stage: sweepStage(sim) } : {}) })) {
        outcomes.push([o.guard, o.kind, o.trigger, o.minute, o.onsetMinute, o.exposed, o.canaryRateAtOnset]);
      }
    }
    parentPort.postMessage({ scenario: task.scenario, runs: task.to - task.from, outcomes });
  });
}

/** The stage the sweep's observations serve: the canary stage with its error-rate gate alone. */
function sweepStage(sim) {
  return { ...sim.CANARY_STAGE, gates: [sim.CANARY_ERROR_GATE] };
}

/**
 * The guards of a run, in table order. Built in each worker (functions do not
 * cross threads); `only` limits a guard to some scenarios.
 */
function guardSet(sim, set) {
  if (set === 'sweep') {
    // The error-rate gate alone, with the alpha it gets in the full canary stage.
    const plan = sim.planWith(sweepStage(sim));
    return sim.SWEEP_OPTIONS.map(({ name, sequential, perGate }) => {
      const alpha = perGate ?? (sequential.alpha ?? 0.05) / sim.CANARY_SEQUENTIAL_GATES;
      return sim.rollgateGuard({ name, plan, guard: { sequential: { successCriteria: 'guardrail', ...sequential, alpha } } });
    });
  }
  const evaluate = sim.rollgateEvaluator({ guard: sim.RECOMMENDED_GUARD_OPTIONS });
  return [
    sim.rollgateGuard({ name: 'rollgate', evaluate }),
    { ...sim.rollgateGuard({ name: 'rollgate, stale totals', evaluate: sim.withoutStaleRule(evaluate) }), only: ['metric-outage'] },
    sim.thresholdGuard({ name: '> 5%, last minute', limitPercent: 5 }),
    sim.thresholdGuard({ name: '> 5%, stage', limitPercent: 5, window: 'stage' }),
    sim.thresholdGuard({ name: '> 2% x3, last minute', limitPercent: 2, consecutive: 3 }),
    sim.thresholdGuard({ name: '> 2% x3, stage', limitPercent: 2, consecutive: 3, window: 'stage' }),
  ];
}

// ------------------------------------------------------------------ main

function parseArgs(argv) {
  const args = { runs: 2000, scenarios: undefined, workers: undefined, seed: undefined, sweep: false, json: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--runs') args.runs = Number(value());
    else if (a === '--scenario' || a === '--scenarios') args.scenarios = value().split(',').filter(Boolean);
    else if (a === '--workers') args.workers = Number(value());
    else if (a === '--seed') args.seed = Number(value());
    else if (a === '--sweep') args.sweep = true;
    else if (a === '--json') args.json = value();
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  if (args.workers !== undefined && (!Number.isInteger(args.workers) || args.workers < 1)) throw new Error('--workers must be a positive integer');
  if (args.seed !== undefined && !Number.isInteger(args.seed)) throw new Error('--seed must be an integer');
  return args;
}

const percentile = (sorted, q) => (sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
const median = (sorted) => {
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Per scenario and guard: counts of what happened, detection times and exposure. */
function aggregate(scenario, guard, outcomes) {
  const counts = { rollback: 0, escalate: 0, hold: 0, timeout: 0, advance: 0, none: 0 };
  const triggers = new Map();
  const detect = [];
  let beforeOnset = 0;
  let exposed = 0;
  let advancedInOutage = 0;
  for (const [, kind, trigger, minute, onset, users] of outcomes) {
    counts[kind]++;
    const key = `${kind}: ${trigger}`;
    triggers.set(key, (triggers.get(key) ?? 0) + 1);
    exposed += users;
    const acted = kind === 'rollback' || kind === 'escalate' || kind === 'hold';
    if (acted && minute > onset) detect.push(minute - onset);
    if (acted && minute <= onset) beforeOnset++;
    if (kind === 'advance' && scenario.outage !== undefined && minute > scenario.outage.fromMinute && minute <= scenario.outage.toMinute) advancedInOutage++;
  }
  detect.sort((a, b) => a - b);
  const runs = outcomes.length;
  return {
    scenario: scenario.name,
    guard,
    runs,
    counts,
    rolledBack: counts.rollback / runs,
    person: (counts.escalate + counts.hold) / runs,
    advanced: counts.advance / runs,
    advancedInOutage: scenario.outage !== undefined ? advancedInOutage / runs : undefined,
    actedBeforeOnset: beforeOnset / runs,
    detected: detect.length / runs,
    detectMedian: median(detect),
    detectP90: percentile(detect, 0.9),
    exposedMean: exposed / runs,
    triggers: [...triggers].sort((a, b) => b[1] - a[1]).map(([k, n]) => ({ what: k, share: n / runs })),
  };
}

const pct = (x) => (x === undefined ? '' : x === 0 ? '0%' : x < 0.001 ? '<0.1%' : `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`);
const num = (x) => (x === undefined ? '—' : Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 1 }));

function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (align[i] === 'r' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function mainTable(scenarios, results) {
  const rows = [];
  for (const s of scenarios) {
    for (const r of results.filter((x) => x.scenario === s.name)) {
      const first = r.triggers
        .filter((t) => t.what !== 'advance: advance' && t.what !== 'advance: timer')
        .slice(0, 2)
        .map((t) => `${t.what} ${pct(t.share)}`)
        .join('; ');
      rows.push([
        s.name,
        r.guard,
        num(r.runs),
        `${pct(r.rolledBack)}${s.healthy ? ' (false)' : ''}`,
        pct(r.person),
        r.advancedInOutage === undefined ? pct(r.advanced) : `${pct(r.advancedInOutage)} in outage`,
        s.healthy ? '—' : num(r.detectMedian),
        s.healthy ? '—' : num(r.detectP90),
        s.healthy ? '—' : num(Math.round(r.exposedMean)),
        first || '—',
      ]);
    }
  }
  return table(
    ['scenario', 'guard', 'runs', 'rolled back', 'escalated/held', 'advanced', 'detect median min', 'detect p90 min', 'exposed users (mean)', 'first action (share of runs)'],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

/** Canary traffic bands at the onset, requests a minute (the daily shape spans 100 to 300 around the mean of 200). */
const TRAFFIC_BANDS = [
  [100, 150],
  [150, 180],
  [180, 220],
  [220, 250],
  [250, 300],
];

/** Rollgate's detections of the error-rate scenarios by the canary's traffic when the change began. */
function byTrafficTable(scenarios, byScenario) {
  const rows = [];
  for (const s of scenarios) {
    if (s.healthy || s.errorMultiplier === undefined) continue;
    const mine = byScenario.get(s.name).outcomes.filter((o) => o[0] === 'rollgate');
    for (const [lo, hi] of TRAFFIC_BANDS) {
      const band = mine.filter((o) => o[6] >= lo && (o[6] < hi || (hi === 300 && o[6] <= hi)));
      if (band.length === 0) continue;
      const times = band.filter((o) => o[1] === 'rollback' && o[3] > o[4]).map((o) => o[3] - o[4]).sort((a, b) => a - b);
      rows.push([s.name, `${lo}-${hi}`, num(band.length), pct(times.length / band.length), num(median(times)), num(percentile(times, 0.9))]);
    }
  }
  return table(['scenario', 'canary requests/min at onset', 'runs', 'rolled back', 'median min', 'p90 min'], rows, ['l', 'r', 'r', 'r', 'r', 'r']);
}

function sweepTable(scenarios, results) {
  const guards = [...new Set(results.map((r) => r.guard))];
  const rows = guards.map((g) => [
    g,
    ...scenarios.map((s) => {
      const r = results.find((x) => x.guard === g && x.scenario === s.name);
      if (r === undefined) return '';
      return s.healthy ? pct(r.rolledBack) : `${pct(r.rolledBack)}, ${num(r.detectMedian)}/${num(r.detectP90)} min`;
    }),
  ]);
  return table(
    ['assessor options', ...scenarios.map((s) => (s.healthy ? `${s.name}: rolled back` : `${s.name}: rolled back, median/p90`))],
    rows,
    ['l', ...scenarios.map(() => 'r')],
  );
}

function targets(results) {
  const get = (scenario, guard = 'rollgate') => results.find((r) => r.scenario === scenario && r.guard === guard);
  const lines = [];
  const aa = get('aa');
  if (aa) lines.push(`A/A false rollbacks over all gates: ${pct(aa.rolledBack)} (target < 1%): ${aa.rolledBack < 0.01 ? 'met' : 'NOT met'}`);
  const x2 = get('error-x2');
  if (x2) {
    const ok = x2.rolledBack >= 0.99 && x2.detectMedian <= 10;
    lines.push(`error rate x2 rolled back in ${pct(x2.rolledBack)} of runs, median ${num(x2.detectMedian)} min (target >= 99%, <= 10 min): ${ok ? 'met' : 'NOT met'}`);
  }
  const low = get('low-traffic');
  if (low) lines.push(`low traffic advanced in ${pct(low.advanced)} of runs (target 0): ${low.advanced === 0 ? 'met' : 'NOT met'}`);
  const outage = get('metric-outage');
  if (outage) lines.push(`metric outage: advanced without data in ${pct(outage.advancedInOutage)} of runs (target 0): ${outage.advancedInOutage === 0 ? 'met' : 'NOT met'}`);
  const stale = get('metric-outage', 'rollgate, stale totals');
  if (stale) lines.push(`  (without staleAfterMs, on the stale stage totals: ${pct(stale.advancedInOutage)})`);
  const srm = get('srm-bug');
  if (srm) {
    const held = srm.triggers.find((t) => t.what === 'hold: srm')?.share ?? 0;
    lines.push(`SRM bug held for an assignment problem in ${pct(held)} of runs, median ${num(srm.detectMedian)} min`);
  }
  return lines;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(2);
  }
  if (args.help) {
    console.log(HELP);
    return;
  }
  const sim = await import('./simulate.js');
  const names = args.sweep ? ['aa', 'error-x1.25', 'error-x2', 'warm-up-spike', 'delayed-x2'] : (args.scenarios ?? sim.SCENARIOS.map((s) => s.name));
  let scenarios;
  try {
    scenarios = names.map((n) => sim.scenarioByName(n));
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(2);
  }
  if (args.sweep && args.scenarios) scenarios = scenarios.filter((s) => args.scenarios.includes(s.name));
  const seed = args.seed ?? sim.BASE_SEED;
  const workers = Math.min(args.workers ?? availableParallelism(), 64);
  const set = args.sweep ? 'sweep' : 'main';

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`bench/guard: ${new Date().toISOString()}, Node ${process.version}, ${cpu}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(
    `${args.runs} runs per scenario, seed ${seed}, ${workers} workers; canary ${sim.TRAFFIC.canaryShare * 100}% at ${sim.TRAFFIC.canaryRequestsPerMinute} requests/min (daily mean), ` +
      `base error rate ${sim.TRAFFIC.baseErrorRate * 100}%, lognormal latency (median ${sim.TRAFFIC.latencyMedianMs} ms, sigma ${sim.TRAFFIC.latencySigma}); one check a minute`,
  );
  if (!args.sweep) {
    console.log(`rollgate: guardedDecide(plan, state, observations, now, ${JSON.stringify(sim.RECOMMENDED_GUARD_OPTIONS)})`);
  }

  const tasks = [];
  for (const s of scenarios) for (let from = 0; from < args.runs; from += CHUNK) tasks.push({ scenario: s.name, from, to: Math.min(args.runs, from + CHUNK) });
  const byScenario = new Map(scenarios.map((s) => [s.name, { done: 0, outcomes: [] }]));
  const started = performance.now();
  await new Promise((resolve, reject) => {
    let next = 0;
    let live = 0;
    const pool = [];
    const feed = (w) => {
      if (next < tasks.length) w.postMessage(tasks[next++]);
      else w.postMessage(null);
    };
    for (let i = 0; i < Math.min(workers, tasks.length); i++) {
      const w = new Worker(new URL(import.meta.url), { workerData: { set, seed }, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
      live++;
      pool.push(w);
      w.on('message', (msg) => {
        const entry = byScenario.get(msg.scenario);
        entry.done += msg.runs;
        entry.outcomes.push(...msg.outcomes);
        if (entry.done === args.runs) {
          const seconds = ((performance.now() - started) / 1000).toFixed(0);
          process.stderr.write(`  ${msg.scenario}: ${args.runs} runs done (${seconds} s)\n`);
        }
        feed(w);
      });
      w.on('error', (error) => {
        for (const other of pool) void other.terminate();
        reject(error);
      });
      w.on('exit', () => {
        if (--live === 0) resolve();
      });
      feed(w);
    }
  });
  const seconds = (performance.now() - started) / 1000;

  const guardNames = [];
  for (const { outcomes } of byScenario.values()) for (const o of outcomes) if (!guardNames.includes(o[0])) guardNames.push(o[0]);
  const results = [];
  for (const s of scenarios) {
    const outcomes = byScenario.get(s.name).outcomes;
    for (const g of guardNames) {
      const mine = outcomes.filter((o) => o[0] === g);
      if (mine.length > 0) results.push(aggregate(s, g, mine));
    }
  }

  console.log('');
  if (args.sweep) {
    console.log(sweepTable(scenarios, results));
    console.log('');
    console.log(
      `Each row: the canary stage's error-rate gate alone, its alpha the stage's divided by the ${sim.CANARY_SEQUENTIAL_GATES} sequential gates of the canary stage (or as given), with guardedDecide and the SRM check.`,
    );
  } else {
    console.log(mainTable(scenarios, results));
    console.log('');
    if (scenarios.some((s) => s.errorMultiplier !== undefined)) {
      console.log('rollgate, by the canary traffic when the error rate changed:\n');
      console.log(byTrafficTable(scenarios, byScenario));
      console.log('');
    }
    for (const s of scenarios.filter((x) => (x.onsetMinute ?? 0) > 0)) {
      const early = results.filter((r) => r.scenario === s.name).map((r) => `${r.guard} ${pct(r.actedBeforeOnset)}`);
      console.log(`${s.name}: first action before the onset (a false alarm; not counted as a detection): ${early.join('; ')}\n`);
    }
    for (const line of targets(results)) console.log(line);
  }
  console.log(`\n${(seconds / 60).toFixed(1)} min wall time (simulated time is what the results measure).`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ args, seed, seconds, results }, null, 2)}\n`);
}

if (isMainThread) await main();
