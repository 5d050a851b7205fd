/**
 * `rollgate rollout`: start a plan on a flag, see and watch its state, and
 * act on it as a person (advance, hold, resume, roll back, disable, approve,
 * reject, tick a checklist item, go / no-go).
 */
import type { Command } from 'commander';
import type { ApiClient } from '../internal/api-client.js';
import type { CommandContext, CommandModule } from '../internal/context.js';
import { CliError, EXIT, UsageError } from '../internal/errors.js';
import { formatDuration, formatTime } from '../internal/format.js';
import { statusColour, type Printer } from '../internal/output.js';

export interface RolloutDetail {
  id: string;
  flagKey: string;
  environmentKey: string;
  planKey: string;
  planVersion: number;
  variation: string;
  status: string;
  stageIndex: number;
  version: number;
  updatedAt: string;
  plan: { name?: string; stages: { id: string; name: string; checklist?: { id: string; label?: string; text?: string }[] }[] };
  statusSummary: {
    status: string;
    health: 'green' | 'yellow' | 'red';
    phase: number;
    phases: number;
    stageName?: string;
    environment?: string;
    percentage: number;
    segments: string[];
    startDate?: string;
    daysInPhase: number;
    waitingFor: Record<string, unknown>[];
    summary: string;
    decision: string;
    gates?: { gateId: string; metric: string; role: string; verdict: string; estimate?: number; summary: string }[];
  };
}

export interface DecisionEntry {
  seq: number;
  at: string;
  kind: string;
  actor: { kind: string; id: string };
  reason: string;
  fromStage: number | null;
  toStage: number | null;
  fromPercentage: number | null;
  toPercentage: number | null;
}

const TERMINAL = new Set(['completed', 'rolled_back', 'aborted']);

const rolloutsPath = (project: string) => `/api/projects/${encodeURIComponent(project)}/rollouts`;

/** A rollout id, or a flag key: then the newest rollout of that flag in the environment (if one is set). */
async function resolveRollout(ctx: CommandContext, command: Command, client: ApiClient, ref: string): Promise<string> {
  if (/^rol_/.test(ref)) return ref;
  const project = await ctx.project(command);
  const environment = (await ctx.settings(command)).environment;
  const page = await client.get<{ items: { id: string }[] }>(rolloutsPath(project), { flagKey: ref, environmentKey: environment, limit: 1 });
  const first = page.items[0];
  if (first === undefined) throw new CliError(`no rollout of flag ${ref}${environment === undefined ? '' : ` in ${environment}`}: start one with rollgate rollout start ${ref} --plan <plan>`, EXIT.notFound);
  return first.id;
}

function waitingText(w: Record<string, unknown>): string {
  switch (w.kind) {
    case 'time':
      return `time: ${formatDuration(Number(w.remainingMs))} more`;
    case 'samples':
      return `samples of ${String(w.metric)} (${String(w.cohort)}): ${String(w.samples)} of ${String(w.required)}`;
    case 'data':
      return `data of ${String(w.metric)} (${String(w.cohort)})`;
    case 'criteria':
      return `success criteria: ${(w.gateIds as string[]).join(', ')}`;
    case 'checklist':
      return `checklist: ${(w.itemIds as string[]).join(', ')} (rollgate rollout check <id> <item>)`;
    case 'approval':
      return `approvals: ${String(w.approvals)} of ${String(w.required)} (${String(w.role)}; rollgate rollout approve <id>)`;
    case 'decision':
      return `a go / no-go decision on ${(w.gateIds as string[]).join(', ')} (rollgate rollout go|no-go <id>)`;
    case 'resume':
      return 'a person to resume it (rollgate rollout resume <id>)';
    case 'start':
      return 'the pre-start checklist';
    default:
      return JSON.stringify(w);
  }
}

const VERDICT_MARK: Record<string, string> = { pass: '✓', fail: '✗', inconclusive: '…', no_data: '?', breach: '✗' };

/** The lines of `rollout status` and `rollout watch`. */
export function statusLines(r: RolloutDetail, printer: Printer): string[] {
  const s = r.statusSummary;
  const light = printer.paint('●', statusColour(s.health));
  const audience = [...s.segments, `${s.percentage}%`].join(' + ');
  const lines = [
    `${light} ${printer.paint(s.health, statusColour(s.health))}  ${printer.paint(r.status, statusColour(r.status))}  ${r.flagKey} in ${r.environmentKey}  (${r.id})`,
    `  Plan:     ${r.plan.name ?? r.planKey} (${r.planKey} v${r.planVersion}), serving ${r.variation}`,
    `  Stage:    ${s.phase}/${s.phases} ${s.stageName ?? ''}, audience ${audience}${s.daysInPhase > 0 ? `, ${s.daysInPhase} day${s.daysInPhase === 1 ? '' : 's'} in phase` : ''}`,
    `  Now:      ${s.summary}`,
  ];
  if (!TERMINAL.has(r.status) && s.waitingFor.length > 0) lines.push(`  Waits for: ${s.waitingFor.map(waitingText).join('; ')}`);
  if (s.gates !== undefined && s.gates.length > 0 && !TERMINAL.has(r.status)) {
    lines.push('  Gates:');
    for (const g of s.gates) lines.push(`    ${printer.paint(`${VERDICT_MARK[g.verdict] ?? '-'} ${g.verdict.padEnd(12)}`, statusColour(g.verdict))} ${g.summary}`);
  }
  return lines;
}

function decisionLine(d: DecisionEntry): string {
  const move = d.fromPercentage !== null && d.toPercentage !== null && d.fromPercentage !== d.toPercentage ? ` ${d.fromPercentage}% → ${d.toPercentage}%` : '';
  return `${formatTime(d.at)}  ${d.kind}${move}  (${d.actor.kind === 'controller' ? 'controller' : d.actor.id}): ${d.reason}`;
}

async function act(ctx: CommandContext, command: Command, action: string, body: Record<string, unknown>): Promise<number> {
  const client = await ctx.client(command);
  const [ref] = command.processedArgs as [string];
  const id = await resolveRollout(ctx, command, client, ref);
  const project = await ctx.project(command);
  const path = `${rolloutsPath(project)}/${encodeURIComponent(id)}/${action}`;
  await client.post(path, body);
  const detail = await client.get<RolloutDetail>(`${rolloutsPath(project)}/${encodeURIComponent(id)}`);
  const printer = ctx.printer(command);
  if (printer.json) printer.printJson(detail);
  else for (const line of statusLines(detail, printer)) printer.line(line);
  return EXIT.ok;
}

/** Polls the rollout and prints it again when it changed, until it ends or a signal stops it. */
async function watch(ctx: CommandContext, command: Command, intervalMs: number): Promise<number> {
  const client = await ctx.client(command);
  const [ref] = command.processedArgs as [string];
  const id = await resolveRollout(ctx, command, client, ref);
  const project = await ctx.project(command);
  const printer = ctx.printer(command);
  let stopped = false;
  const stop = () => (stopped = true);
  ctx.signals.once('SIGINT', stop);
  ctx.signals.once('SIGTERM', stop);
  let last = '';
  let lastSeq = 0;
  try {
    for (;;) {
      const detail = await client.get<RolloutDetail>(`${rolloutsPath(project)}/${encodeURIComponent(id)}`);
      const decisions = await client.get<{ items: DecisionEntry[] }>(`${rolloutsPath(project)}/${encodeURIComponent(id)}/decisions`, { limit: 20 });
      const fresh = decisions.items.filter((d) => d.seq > lastSeq).reverse();
      if (fresh.length > 0) lastSeq = Math.max(...fresh.map((d) => d.seq));
      if (printer.json) {
        // One JSON document per change: scripts read it line by line.
        const doc = JSON.stringify({ rollout: detail, decisions: fresh });
        if (doc !== last) ctx.io.out(doc);
        last = doc;
      } else if (printer.tty && ctx.io.redraw !== undefined) {
        const recent = decisions.items.slice(0, 8).map(decisionLine);
        const screen = [...statusLines(detail, printer), '', printer.paint('Decisions (newest first):', 'bold'), ...recent.map((l) => `  ${l}`), '', printer.paint(`Refreshing every ${intervalMs / 1000}s; Ctrl-C to stop watching.`, 'dim')];
        const text = screen.join('\n');
        if (text !== last) ctx.io.redraw(screen);
        last = text;
      } else {
        for (const d of fresh) printer.line(decisionLine(d));
        const state = `${detail.status} stage ${detail.statusSummary.phase}/${detail.statusSummary.phases} ${detail.statusSummary.percentage}% ${detail.statusSummary.health}: ${detail.statusSummary.summary}`;
        if (state !== last) printer.line(state);
        last = state;
      }
      if (TERMINAL.has(detail.status)) return detail.status === 'completed' ? EXIT.ok : EXIT.rolledBack;
      if (stopped) return EXIT.interrupted;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        const wake = () => (clearTimeout(timer), resolve());
        ctx.signals.once('SIGINT', wake);
        setTimeout(() => ctx.signals.off('SIGINT', wake), intervalMs + 10);
      });
      if (stopped) return EXIT.interrupted;
    }
  } finally {
    ctx.signals.off('SIGINT', stop);
    ctx.signals.off('SIGTERM', stop);
  }
}

export const rolloutCommand: CommandModule = {
  register(program, ctx) {
    const rollout = program
      .command('rollout')
      .description('Run a plan on a flag: start it, watch it, and act on it')
      .addHelpText(
        'after',
        `
A rollout is named by its id (rol_...) or by its flag key (the newest rollout of
that flag in --environment).

Examples:
  rollgate rollout start new-checkout --plan staged --environment production
  rollgate rollout watch new-checkout
  rollgate rollout approve new-checkout --comment "metrics look good"
  rollgate rollout rollback new-checkout --to zero --reason "checkout errors"
  rollgate rollout status new-checkout --json | jq .statusSummary.health`,
      );

    rollout
      .command('start')
      .description('Start a plan on a flag in an environment')
      .argument('<flag>', 'the flag key')
      .requiredOption('--plan <key>', 'the plan to run')
      .option('--plan-version <n>', 'a version of the plan (default: the current one)')
      .option('--variation <key>', 'the variation the rollout serves (default: the flag\'s "on" variation)')
      .option('--check <item...>', 'pre-start checklist items ticked now (with every required one, it runs at once)')
      .addHelpText('after', '\nExample:\n  rollgate rollout start new-checkout --plan staged --environment production --check backup-taken')
      .action(
        ctx.action(async (command) => {
          const [flagKey] = command.processedArgs as [string];
          const o = command.opts<{ plan: string; planVersion?: string; variation?: string; check?: string[] }>();
          const client = await ctx.client(command);
          const project = await ctx.project(command);
          const environmentKey = await ctx.environment(command);
          const planVersion = o.planVersion === undefined ? undefined : Number(o.planVersion);
          if (planVersion !== undefined && !Number.isInteger(planVersion)) throw new UsageError(`--plan-version must be a whole number (got ${o.planVersion})`);
          const started = await client.post<{ id: string }>(rolloutsPath(project), {
            flagKey,
            environmentKey,
            planKey: o.plan,
            ...(planVersion !== undefined ? { planVersion } : {}),
            ...(o.variation !== undefined ? { variation: o.variation } : {}),
            preStartChecklist: o.check ?? [],
          });
          const detail = await client.get<RolloutDetail>(`${rolloutsPath(project)}/${started.id}`);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(detail);
          for (const line of statusLines(detail, printer)) printer.line(line);
          printer.line('');
          printer.line(`Watch it: rollgate rollout watch ${detail.id}`);
        }),
      );

    rollout
      .command('list')
      .description('List rollouts, newest first')
      .option('--status <status>', 'draft, running, held, awaiting_approval, completed, rolled_back or aborted')
      .option('--flag <key>', 'only rollouts of this flag')
      .option('--limit <n>', 'at most this many', '50')
      .addHelpText('after', '\nExample:\n  rollgate rollout list --status running')
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ status?: string; flag?: string; limit: string }>();
          const client = await ctx.client(command);
          const page = await client.get<{ items: (Omit<RolloutDetail, 'plan' | 'statusSummary'> & { createdAt: string })[] }>(rolloutsPath(await ctx.project(command)), {
            status: o.status,
            flagKey: o.flag,
            environmentKey: (await ctx.settings(command)).environment,
            limit: o.limit,
          });
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(page.items);
          printer.table(page.items, [
            { header: 'id', value: (r) => r.id },
            { header: 'flag', value: (r) => r.flagKey },
            { header: 'env', value: (r) => r.environmentKey },
            { header: 'plan', value: (r) => `${r.planKey} v${r.planVersion}` },
            { header: 'status', value: (r) => r.status, colour: (r) => statusColour(r.status) },
            { header: 'stage', value: (r) => String(r.stageIndex + 1) },
            { header: 'updated', value: (r) => formatTime(r.updatedAt) },
          ], 'No rollouts: rollgate rollout start <flag> --plan <plan>');
        }),
      );

    rollout
      .command('status')
      .description('Show a rollout: status light, stage, percentage, what it waits for, each gate with its numbers')
      .argument('<rollout>', 'a rollout id, or a flag key')
      .addHelpText('after', '\nExample:\n  rollgate rollout status new-checkout --environment production')
      .action(
        ctx.action(async (command) => {
          const client = await ctx.client(command);
          const id = await resolveRollout(ctx, command, client, (command.processedArgs as [string])[0]);
          const detail = await client.get<RolloutDetail>(`${rolloutsPath(await ctx.project(command))}/${encodeURIComponent(id)}`);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(detail);
          for (const line of statusLines(detail, printer)) printer.line(line);
        }),
      );

    rollout
      .command('watch')
      .description('Follow a rollout live until it completes or is rolled back')
      .argument('<rollout>', 'a rollout id, or a flag key')
      .option('--interval <seconds>', 'how often to look', '1')
      .addHelpText(
        'after',
        `
On a terminal it redraws the status and the latest decisions; piped, it prints a
line per decision and per change of state; with --json, one JSON document per
change ({rollout, decisions}). Exits 0 when the rollout completes, 7 when it is
rolled back or aborted, 130 on Ctrl-C.

Example:
  rollgate rollout watch new-checkout`,
      )
      .action(
        ctx.action(async (command) => {
          const seconds = Number(command.opts<{ interval: string }>().interval);
          if (!(seconds >= 0.1 && seconds <= 3600)) throw new UsageError('--interval must be a number of seconds from 0.1 to 3600');
          return watch(ctx, command, seconds * 1000);
        }),
      );

    rollout
      .command('decisions')
      .description("A rollout's decision log, newest first: the controller's decisions and people's actions, with reasons")
      .argument('<rollout>', 'a rollout id, or a flag key')
      .option('--limit <n>', 'at most this many', '50')
      .addHelpText('after', '\nExample:\n  rollgate rollout decisions new-checkout --json')
      .action(
        ctx.action(async (command) => {
          const client = await ctx.client(command);
          const id = await resolveRollout(ctx, command, client, (command.processedArgs as [string])[0]);
          const page = await client.get<{ items: DecisionEntry[] }>(`${rolloutsPath(await ctx.project(command))}/${encodeURIComponent(id)}/decisions`, { limit: command.opts<{ limit: string }>().limit });
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(page.items);
          for (const d of page.items) printer.line(decisionLine(d));
        }),
      );

    const simple: [name: string, description: string, options: [flags: string, text: string][], body: (o: Record<string, unknown>) => Record<string, unknown>, example: string][] = [
      ['advance', 'Advance now: skip the rest of the stage\'s wait (not its checklist or approvals)', [['--force', 'admins: also override criteria, checklist and approvals (never rollback triggers or missing data; audited)'], ['--comment <text>', 'why']], (o) => ({ force: o.force === true, ...(o.comment !== undefined ? { comment: o.comment } : {}) }), 'rollgate rollout advance new-checkout --comment "pilot feedback is good"'],
      ['hold', 'Hold: nothing moves until a person resumes (rollback triggers still act)', [['--reason <text>', 'why (required)']], (o) => ({ reason: o.reason }), 'rollgate rollout hold new-checkout --reason "waiting for the support team"'],
      ['resume', 'Resume a held rollout', [['--comment <text>', 'why']], (o) => (o.comment !== undefined ? { comment: o.comment } : {}), 'rollgate rollout resume new-checkout'],
      ['rollback', 'Roll back to the previous stage, or to 0%', [['--to <where>', 'previous or zero (default previous)'], ['--reason <text>', 'why']], (o) => ({ to: o.to ?? 'previous', ...(o.reason !== undefined ? { reason: o.reason } : {}) }), 'rollgate rollout rollback new-checkout --to zero --reason "checkout errors"'],
      ['disable', "Full disable: turn the flag's kill switch off", [['--comment <text>', 'why']], (o) => (o.comment !== undefined ? { comment: o.comment } : {}), 'rollgate rollout disable new-checkout --comment "data loss"'],
      ['abort', 'Abort: remove the rules of the rollout, so the flag serves its own configuration again (off again where the rollout turned it on)', [['--comment <text>', 'why']], (o) => (o.comment !== undefined ? { comment: o.comment } : {}), 'rollgate rollout abort new-checkout'],
      ['restart', 'Restart a rolled-back rollout from its first stage', [['--comment <text>', 'why']], (o) => (o.comment !== undefined ? { comment: o.comment } : {}), 'rollgate rollout restart new-checkout'],
      ['approve', 'Approve advancing the current stage (not your own rollout)', [['--comment <text>', 'why']], (o) => ({ comment: o.comment ?? '' }), 'rollgate rollout approve new-checkout --comment "looks good"'],
      ['reject', 'Reject advancing the current stage; it blocks until you approve', [['--comment <text>', 'why']], (o) => ({ comment: o.comment ?? '' }), 'rollgate rollout reject new-checkout --comment "latency too high"'],
      ['go', 'Go on an escalation: continue the stage', [['--comment <text>', 'why']], (o) => ({ comment: o.comment ?? '' }), 'rollgate rollout go new-checkout --comment "known noisy metric"'],
      ['no-go', 'No-go on an escalation: roll back to 0%', [['--comment <text>', 'why']], (o) => ({ comment: o.comment ?? '' }), 'rollgate rollout no-go new-checkout --comment "real regression"'],
    ];
    for (const [name, description, options, body, example] of simple) {
      const sub = rollout.command(name).description(description).argument('<rollout>', 'a rollout id, or a flag key');
      for (const [flags, text] of options) sub.option(flags, text);
      sub.addHelpText('after', `\nExample:\n  ${example}`).action(
        ctx.action(async (command) => {
          const o = command.opts<Record<string, unknown>>();
          if (name === 'hold' && typeof o.reason !== 'string') throw new UsageError('hold needs --reason <text>: people reading the rollout see it');
          if (name === 'rollback' && o.to !== undefined && o.to !== 'previous' && o.to !== 'zero') throw new UsageError('--to is previous or zero');
          return act(ctx, command, name, body(o));
        }),
      );
    }

    rollout
      .command('check')
      .description('Tick a checklist item: a pre-start item of a draft, or a go / no-go item of the current stage')
      .argument('<rollout>', 'a rollout id, or a flag key')
      .argument('<item>', 'the checklist item id (rollgate rollout status shows what it waits for)')
      .option('--comment <text>', 'a note')
      .addHelpText('after', '\nExample:\n  rollgate rollout check new-checkout pilot.support-briefed')
      .action(
        ctx.action(async (command) => {
          const [, item] = command.processedArgs as [string, string];
          const o = command.opts<{ comment?: string }>();
          return act(ctx, command, `checklist/${encodeURIComponent(item)}`, o.comment !== undefined ? { comment: o.comment } : {});
        }),
      );
  },
};
