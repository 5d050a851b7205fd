/**
 * `rollgate demo`: Rollgate on a fresh in-memory database and an accelerated
 * clock, a demo project with two flags in staged rollouts, and simulated
 * users evaluating them through the real Node SDK. One rollout is healthy and
 * reaches GA; the other carries an injected regression that its rollback
 * triggers catch. The terminal shows both live, then the decisions' reasons
 * and numbers.
 */
import { createClient, type RollgateClient } from '@rollgate/sdk';
import { defaultConfig, startServer, type RunningServer } from '@rollgate/server';
import { ApiClient } from '../internal/api-client.js';
import { CliError, EXIT } from '../internal/errors.js';
import { formatTime } from '../internal/format.js';
import type { Printer } from '../internal/output.js';
import { statusLines, type DecisionEntry, type RolloutDetail } from '../commands/rollout.js';
import { createDemoScenario, DEMO_ENVIRONMENT, DEMO_PROJECT, HEALTHY_FLAG, REGRESSION_FLAG, startDemoRollout } from './demo-scenario.js';
import { TrafficSimulator, type Regression } from './traffic-simulator.js';

export interface DemoOptions {
  port: number;
  /** Times faster than real time. */
  speed: number;
  /** Requests per real second at the daily peak. */
  traffic: number;
  seed: number;
  regression: Regression;
  /** Stop when both rollouts have ended (CI, scripts) instead of serving until Ctrl-C. */
  exitWhenDone: boolean;
  /** Give up after this many real seconds. */
  timeoutSeconds: number;
}

interface Rollback {
  at: string;
  kind: string;
  trigger: string;
  reason: string;
  fromPercentage: number | null;
  toPercentage: number | null;
  metrics: { metric: string; treatment: number | null; control: number | null; threshold: string; summary: string }[];
}

/** What the demo ended with (the --json output). */
export interface DemoOutcome {
  url: string;
  healthy: { flag: string; rollout: string; status: string; decisions: DecisionEntry[] };
  regression: { flag: string; rollout: string | null; status: string; kind: Regression; decisions: DecisionEntry[]; rollbacks: Rollback[] };
  traffic: { requests: number; errors: number; droppedMetrics: number; droppedExposures: number };
  realSeconds: number;
  simulatedMinutes: number;
  /** The healthy rollout completed and the regression (if any) was rolled back. */
  asExpected: boolean;
}

const TERMINAL = new Set(['completed', 'rolled_back', 'aborted']);

export async function runDemo(options: DemoOptions, printer: Printer, signals: NodeJS.EventEmitter): Promise<number> {
  const io = printer.io;
  let interrupted = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    interrupted = true;
    wake();
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);

  let server: RunningServer | undefined;
  let sdk: RollgateClient | undefined;
  let simulator: TrafficSimulator | undefined;
  const startedReal = Date.now();
  try {
    printer.progress('Starting Rollgate on a fresh in-memory database...');
    server = await startServer(
      defaultConfig({
        port: options.port,
        host: '127.0.0.1',
        logLevel: 'error',
        mode: 'demo',
        timeScale: options.speed,
        // One decision per simulated minute, half a second of real time at the default speed.
        rolloutTickMs: 60_000,
      }),
    ).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${options.port} is in use: pick another with rollgate demo --port 4343`);
      throw e;
    });
    const adminToken = server.adminToken as string;
    const api = new ApiClient(server.url, adminToken);
    const health = await api.get<{ time: string }>('/healthz');
    const simStart = Date.parse(health.time);
    const realStart = Date.now();
    const simNow = () => new Date(simStart + (Date.now() - realStart) * options.speed);

    printer.progress('Creating the demo project, flags, segments and plan...');
    const scenario = await createDemoScenario(api);
    sdk = createClient({ url: server.url, token: scenario.sdkToken, metrics: { flushIntervalMs: 250, maxQueue: 200_000 }, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    await sdk.ready(10_000);
    simulator = new TrafficSimulator({ client: sdk, traffic: options.traffic, seed: options.seed, regression: options.regression, now: simNow });
    simulator.start();

    const base = `/api/projects/${DEMO_PROJECT}/rollouts`;
    const intro = [
      printer.paint('Rollgate demo', 'bold') + ` at ${server.url}  (clock ${options.speed}x: one real second is ${formatSimulated(options.speed)})`,
      `  Admin token: ${adminToken}`,
      `  Look at:     ${server.url}/docs (the API), and from another terminal:`,
      `               rollgate login --url ${server.url} --token ${adminToken} --project ${DEMO_PROJECT} --environment ${DEMO_ENVIRONMENT}`,
      `               rollgate rollout watch ${REGRESSION_FLAG}`,
      `  Two flags, one after the other, in the same staged plan (internal, pilot, 25%, 50%, GA): ${HEALTHY_FLAG} is healthy;`,
      `  ${REGRESSION_FLAG}'s treatment ${options.regression === 'errors' ? 'fails twice as often' : options.regression === 'latency' ? 'answers 1.8 times slower' : 'is healthy too (--regression none)'}. ${options.traffic} simulated requests a second at peak, seed ${options.seed}.`,
      `  (One after the other: at once, both would serve the internal team and pilot users, and each flag's errors would count in the other's cohorts.)`,
    ];
    if (!printer.json) for (const line of intro) io.out(line);

    const seen = new Map<string, number>();
    const ids: { healthy: string; regression: string | undefined } = { healthy: scenario.healthyRollout, regression: undefined };
    let details: { healthy: RolloutDetail; regression: RolloutDetail | undefined } | undefined;
    const deadline = startedReal + options.timeoutSeconds * 1000;
    while (!interrupted) {
      const healthy = await api.get<RolloutDetail>(`${base}/${ids.healthy}`);
      if (ids.regression === undefined && TERMINAL.has(healthy.status)) ids.regression = await startDemoRollout(api, REGRESSION_FLAG);
      const regression = ids.regression === undefined ? undefined : await api.get<RolloutDetail>(`${base}/${ids.regression}`);
      details = { healthy, regression };
      for (const r of regression === undefined ? [healthy] : [healthy, regression]) {
        const decisions = await api.get<{ items: DecisionEntry[] }>(`${base}/${r.id}/decisions`, { limit: 20 });
        for (const d of [...decisions.items].reverse()) {
          if (d.seq <= (seen.get(r.id) ?? 0)) continue;
          seen.set(r.id, d.seq);
          if (!printer.json && !(printer.tty && io.redraw !== undefined)) io.out(`[${formatTime(d.at)}] ${r.flagKey}: ${d.kind}${d.toPercentage !== null && d.fromPercentage !== d.toPercentage ? ` to ${d.toPercentage}%` : ''}: ${d.reason}`);
        }
      }
      if (printer.tty && io.redraw !== undefined && !printer.json) {
        const traffic = `Traffic: ${Math.round(simulator.stats.rate)} requests/s now (time of day ${formatTime(simNow().toISOString()).slice(11, 16)} UTC on the demo clock), ${simulator.stats.requests} requests, ${simulator.stats.errors} errors`;
        const second = regression === undefined ? [`○ ${REGRESSION_FLAG}: starts when ${HEALTHY_FLAG} has finished`] : statusLines(regression, printer);
        io.redraw([...intro, '', ...statusLines(healthy, printer), '', ...second, '', printer.paint(traffic, 'dim'), printer.paint('Ctrl-C stops the demo.', 'dim')]);
      }
      if (TERMINAL.has(healthy.status) && regression !== undefined && TERMINAL.has(regression.status)) break;
      if (Date.now() > deadline) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
    }

    const outcome = await outcomeOf(api, server.url, ids, options, simulator, sdk, details, startedReal);
    if (printer.json) printer.printJson(outcome);
    else if (!interrupted) for (const line of outcomeLines(outcome, printer, Date.now() > deadline)) io.out(line);
    if (interrupted) return EXIT.interrupted;
    if (!options.exitWhenDone) {
      simulator.stop();
      io.err(`The server keeps running at ${server.url} so you can look around (token above). Ctrl-C stops it.`);
      while (!interrupted) await new Promise<void>((resolve) => (wake = resolve));
      return EXIT.ok;
    }
    return outcome.asExpected ? EXIT.ok : EXIT.failed;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
    simulator?.stop();
    await sdk?.close().catch(() => undefined);
    if (server !== undefined) {
      io.err('Stopping the demo server...');
      await server.close().catch(() => undefined);
    }
  }
}

function formatSimulated(speed: number): string {
  if (speed >= 3600) return `${Math.round(speed / 3600)} hours`;
  if (speed >= 60) return `${Math.round(speed / 60)} minute${Math.round(speed / 60) === 1 ? '' : 's'}`;
  return `${speed} seconds`;
}

async function outcomeOf(
  api: ApiClient,
  url: string,
  ids: { healthy: string; regression: string | undefined },
  options: DemoOptions,
  simulator: TrafficSimulator,
  sdk: RollgateClient,
  details: { healthy: RolloutDetail; regression: RolloutDetail | undefined } | undefined,
  startedReal: number,
): Promise<DemoOutcome> {
  const base = `/api/projects/${DEMO_PROJECT}/rollouts`;
  const none = { items: [] };
  const [hd, rd, rb] = await Promise.all([
    api.get<{ items: DecisionEntry[] }>(`${base}/${ids.healthy}/decisions`, { limit: 100 }),
    ids.regression === undefined ? none : api.get<{ items: DecisionEntry[] }>(`${base}/${ids.regression}/decisions`, { limit: 100 }),
    ids.regression === undefined ? none : api.get<{ items: Rollback[] }>(`${base}/${ids.regression}/rollbacks`),
  ]);
  const healthyStatus = details?.healthy.status ?? 'unknown';
  const regressionStatus = details?.regression?.status ?? 'not started';
  const realSeconds = Math.round((Date.now() - startedReal) / 1000);
  return {
    url,
    healthy: { flag: HEALTHY_FLAG, rollout: ids.healthy, status: healthyStatus, decisions: hd.items },
    regression: { flag: REGRESSION_FLAG, rollout: ids.regression ?? null, status: regressionStatus, kind: options.regression, decisions: rd.items, rollbacks: rb.items },
    traffic: { requests: simulator.stats.requests, errors: simulator.stats.errors, droppedMetrics: sdk.droppedMetrics, droppedExposures: sdk.droppedExposures },
    realSeconds,
    simulatedMinutes: Math.round((realSeconds * options.speed) / 60),
    asExpected: healthyStatus === 'completed' && (options.regression === 'none' ? regressionStatus === 'completed' : regressionStatus === 'rolled_back'),
  };
}

function outcomeLines(o: DemoOutcome, printer: Printer, timedOut: boolean): string[] {
  const lines = ['', printer.paint(`After ${o.realSeconds} real seconds (${Math.round(o.simulatedMinutes / 6) / 10} hours on the demo clock):`, 'bold')];
  const advance = o.healthy.decisions.filter((d) => d.kind === 'advance' || d.kind === 'complete').reverse();
  lines.push(`  ${printer.paint('●', o.healthy.status === 'completed' ? 'green' : 'yellow')} ${o.healthy.flag}: ${o.healthy.status}${o.healthy.status === 'completed' ? ', at 100% (GA)' : ''}`);
  for (const d of advance) lines.push(`      ${formatTime(d.at)} ${d.kind}${d.toPercentage !== null ? ` to ${d.toPercentage}%` : ''}: ${d.reason}`);
  lines.push(`  ${printer.paint('●', o.regression.status === 'rolled_back' ? 'red' : 'yellow')} ${o.regression.flag}: ${o.regression.status}`);
  for (const r of o.regression.rollbacks) {
    lines.push(`      ${formatTime(r.at)} ${r.kind} from ${r.fromPercentage ?? '?'}% to ${r.toPercentage ?? 0}%, trigger ${r.trigger}: ${r.reason}`);
    for (const m of r.metrics) lines.push(`        ${m.summary}`);
  }
  lines.push(`  Traffic: ${o.traffic.requests} requests, ${o.traffic.errors} errors; the SDK dropped ${o.traffic.droppedMetrics} metrics and ${o.traffic.droppedExposures} exposures.`);
  if (timedOut) lines.push(printer.paint('  Stopped at --timeout before both rollouts ended.', 'yellow'));
  lines.push(o.asExpected ? 'As expected: the healthy rollout reached GA and the regression was rolled back automatically.' : 'Not as expected: see the decisions above (rollgate rollout decisions <flag>).');
  return lines;
}
