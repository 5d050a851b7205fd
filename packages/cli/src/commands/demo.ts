/** `rollgate demo`: a whole staged rollout, a healthy one and a caught regression, in about two minutes. */
import { runDemo } from '../demo/run-demo.js';
import type { Regression } from '../demo/traffic-simulator.js';
import type { CommandModule } from '../internal/context.js';
import { UsageError } from '../internal/errors.js';

function numberOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max} (got ${raw})`);
  return n;
}

export const demoCommand: CommandModule = {
  register(program, ctx) {
    program
      .command('demo')
      .description('See a whole staged rollout in two minutes: simulated users, an accelerated clock, a regression caught and rolled back')
      .option('--port <n>', 'port of the demo server (0: any free port)', '4242')
      .option('--speed <x>', 'how many times faster than real time the clock runs', '120')
      .option('--traffic <n>', 'simulated requests per second at the daily peak', '500')
      .option('--seed <n>', 'seed of the simulated users and requests', '1')
      .option('--regression <kind>', 'what the second flag breaks: errors (twice as many), latency (1.8 times slower) or none', 'errors')
      .option('--exit-when-done', 'stop when both rollouts have ended, exit 0 if the outcome is the expected one, else 1')
      .option('--timeout <seconds>', 'give up after this many real seconds', '600')
      .addHelpText(
        'after',
        `
Starts Rollgate on a fresh in-memory database with the clock running --speed
times faster, creates a project with two flags and a plan from seed 001
(internal, pilot, 25%, 50%, GA), and simulates users of a shop evaluating both
flags through the Node SDK and reporting errors and latencies with track().
The first rollout reaches GA; the second flag's regression is caught by the
plan's rollback triggers and rolled back automatically. It prints the URL and
the admin token; the server stays up for you to look around until Ctrl-C.
Nothing is written to disk.

Examples:
  rollgate demo
  rollgate demo --regression latency --speed 180
  rollgate demo --port 0 --exit-when-done --json   # CI: the outcome as JSON`,
      )
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ port: string; speed: string; traffic: string; seed: string; regression: string; exitWhenDone?: boolean; timeout: string }>();
          if (!['errors', 'latency', 'none'].includes(o.regression)) throw new UsageError(`--regression is errors, latency or none (got ${o.regression})`);
          return runDemo(
            {
              port: numberOption('port', o.port, 0, 65_535),
              speed: numberOption('speed', o.speed, 1, 3600),
              traffic: numberOption('traffic', o.traffic, 10, 20_000),
              seed: Math.trunc(numberOption('seed', o.seed, 0, 2 ** 31)),
              regression: o.regression as Regression,
              exitWhenDone: o.exitWhenDone === true,
              timeoutSeconds: numberOption('timeout', o.timeout, 5, 86_400),
            },
            ctx.printer(command),
            ctx.signals,
          );
        }),
      );
  },
};
