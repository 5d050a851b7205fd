/** `rollgate plans`: list, show, create and update from a YAML or JSON file, validate locally and against the project. */
import type { Command } from 'commander';
import { validatePlan, type PlanValidationContext } from '@rollgate/core';
import type { ApiClient } from '../internal/api-client.js';
import type { CommandContext, CommandModule } from '../internal/context.js';
import { EXIT, UsageError } from '../internal/errors.js';
import { readDataFile } from '../internal/files.js';
import { formatDuration } from '../internal/format.js';

export interface PlanSummary {
  key: string;
  name: string;
  description: string;
  source: string | null;
  stageCount: number;
  version: number;
  archived: boolean;
}

export interface PlanResource extends PlanSummary {
  definition: PlanDefinition;
}

export interface PlanDefinition {
  stages: {
    id: string;
    name: string;
    audience?: { percentage?: number; segments?: string[] };
    minDuration: number;
    maxDuration?: number;
    gates?: { id: string; metric: string; role: string }[];
    approvals?: { count: number };
    checklist?: unknown[];
  }[];
  [key: string]: unknown;
}

const planPath = (project: string, key?: string) => `/api/projects/${encodeURIComponent(project)}/plans${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

/** A plan file: { name, description, definition } or the definition itself ({ stages, ... }). */
export async function readPlanFile(file: string): Promise<{ name?: string; description?: string; definition: PlanDefinition }> {
  const data = await readDataFile(file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${file} must hold a plan: { name, definition: { stages: [...] } } or { stages: [...] }`);
  const record = data as Record<string, unknown>;
  if ('definition' in record) {
    const { name, description, definition } = record as { name?: string; description?: string; definition: PlanDefinition };
    return { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), definition };
  }
  const { name, description, ...definition } = record as { name?: string; description?: string } & PlanDefinition;
  return { ...(typeof name === 'string' ? { name } : {}), ...(typeof description === 'string' ? { description } : {}), definition: definition as PlanDefinition };
}

/** What the server checks a plan against: the project's segments, environments and metrics. */
async function projectContext(client: ApiClient, project: string): Promise<Required<PlanValidationContext>> {
  const base = `/api/projects/${encodeURIComponent(project)}`;
  const [segments, environments, metrics] = await Promise.all([
    client.all<{ key: string }>(`${base}/segments`),
    client.get<{ items: { key: string }[] }>(`${base}/environments`),
    client.get<{ items: { key: string }[] }>(`${base}/metrics`),
  ]);
  return { knownSegments: segments.map((s) => s.key), knownEnvironments: environments.items.map((e) => e.key), knownMetrics: metrics.items.map((m) => m.key) };
}

function stageLine(stage: PlanDefinition['stages'][number], i: number): string {
  const who = [...(stage.audience?.segments ?? []), ...(stage.audience?.percentage !== undefined ? [`${stage.audience.percentage}%`] : [])].join(' + ') || 'nobody';
  const gates = stage.gates?.length ?? 0;
  return `${i + 1}. ${stage.name} (${stage.id}): ${who}, at least ${formatDuration(stage.minDuration)}${stage.maxDuration !== undefined ? `, at most ${formatDuration(stage.maxDuration)}` : ''}; ${gates} gate${gates === 1 ? '' : 's'}${stage.approvals ? `, ${stage.approvals.count} approval${stage.approvals.count === 1 ? '' : 's'}` : ''}${stage.checklist?.length ? `, ${stage.checklist.length} checklist item${stage.checklist.length === 1 ? '' : 's'}` : ''}`;
}

async function save(ctx: CommandContext, command: Command, key: string, mode: 'create' | 'update'): Promise<number> {
  const o = command.opts<{ file?: string; template?: string; name?: string; description?: string }>();
  const client = await ctx.client(command);
  const project = await ctx.project(command);
  const printer = ctx.printer(command);
  let plan: PlanResource;
  if (mode === 'create' && o.template !== undefined) {
    if (o.file !== undefined) throw new UsageError('pass --file or --template, not both');
    plan = await client.post<PlanResource>(planPath(project), { key, fromTemplate: o.template, ...(o.name !== undefined ? { name: o.name } : {}) });
  } else {
    if (o.file === undefined) throw new UsageError(`plans ${mode} needs --file <plan.yaml|plan.json>${mode === 'create' ? ' or --template <id> (rollgate plans templates)' : ''}`);
    const file = await readPlanFile(o.file);
    const name = o.name ?? file.name;
    const description = o.description ?? file.description;
    if (mode === 'create') {
      plan = await client.post<PlanResource>(planPath(project), { key, name: name ?? key, ...(description !== undefined ? { description } : {}), definition: file.definition });
    } else {
      const current = await client.get<PlanResource>(planPath(project, key));
      plan = await client.patch<PlanResource>(planPath(project, key), { version: current.version, ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), definition: file.definition });
    }
  }
  if (printer.json) printer.printJson(plan);
  else printer.line(`${mode === 'create' ? 'Created' : 'Updated'} plan ${plan.key} (version ${plan.version}, ${plan.stageCount} stage${plan.stageCount === 1 ? '' : 's'}).`);
  return EXIT.ok;
}

export const plansCommand: CommandModule = {
  register(program, ctx) {
    const plans = program
      .command('plans')
      .description('Rollout plans: list, show, create and update from YAML or JSON, validate')
      .addHelpText('after', '\nExamples:\n  rollgate plans templates\n  rollgate plans create staged --template seed-001-staged-rollout\n  rollgate plans validate plan.yaml\n  rollgate plans create checkout-plan --file plan.yaml\n  rollgate plans show checkout-plan');

    plans
      .command('list')
      .description('List the plans of the project')
      .option('--archived', 'list archived plans instead')
      .addHelpText('after', '\nExample:\n  rollgate plans list --json')
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ archived?: boolean }>();
          const items = await (await ctx.client(command)).all<PlanSummary>(planPath(await ctx.project(command)), { archived: o.archived === true ? true : undefined });
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(items);
          printer.table(items, [
            { header: 'key', value: (p) => p.key },
            { header: 'name', value: (p) => p.name },
            { header: 'stages', value: (p) => String(p.stageCount) },
            { header: 'version', value: (p) => String(p.version) },
            { header: 'source', value: (p) => p.source ?? '' },
          ], 'No plans yet: rollgate plans create <key> --template seed-001-staged-rollout');
        }),
      );

    plans
      .command('templates')
      .description('List the built-in plan templates (from the seed documents)')
      .addHelpText('after', '\nExample:\n  rollgate plans templates')
      .action(
        ctx.action(async (command) => {
          const res = await (await ctx.client(command)).get<{ items: { key: string; name: string; seed: string | null; missing: { segments: string[]; environments: string[] } }[] }>(
            `/api/projects/${encodeURIComponent(await ctx.project(command))}/plan-templates`,
          );
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(res.items);
          printer.table(res.items, [
            { header: 'key', value: (t) => t.key },
            { header: 'name', value: (t) => t.name },
            { header: 'seed', value: (t) => t.seed ?? '' },
            {
              header: 'project lacks',
              value: (t) => [...t.missing.segments.map((s) => `segment ${s}`), ...t.missing.environments.map((e) => `environment ${e}`)].join(', '),
            },
          ]);
        }),
      );

    plans
      .command('show')
      .description('Show a plan: its stages, gates, approvals and checklists')
      .argument('<key>', 'the plan key')
      .option('--plan-version <n>', 'an earlier version')
      .addHelpText('after', '\nExamples:\n  rollgate plans show checkout-plan\n  rollgate plans show checkout-plan --json | jq .definition > plan.json')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ planVersion?: string }>();
          const client = await ctx.client(command);
          const project = await ctx.project(command);
          const plan = await client.get<PlanResource>(o.planVersion === undefined ? planPath(project, key) : `${planPath(project, key)}/versions/${encodeURIComponent(o.planVersion)}`);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(plan);
          printer.line(`${plan.name} (${key}, version ${plan.version})`);
          if (plan.description) printer.line(plan.description);
          plan.definition.stages.forEach((s, i) => printer.line(`  ${stageLine(s, i)}`));
        }),
      );

    plans
      .command('create')
      .description('Create a plan from a YAML or JSON file, or from a built-in template')
      .argument('<key>', 'the plan key')
      .option('--file <file>', 'the plan: { name, description, definition: { stages } } or { stages } (- for stdin)')
      .option('--template <key>', 'a built-in template (rollgate plans templates)')
      .option('--name <name>', 'the plan name (default: the file\'s, or the key)')
      .option('--description <text>', 'a description')
      .addHelpText('after', '\nThe server validates the plan against the project (segments, environments, metrics).\n\nExamples:\n  rollgate plans create checkout-plan --file plan.yaml\n  rollgate plans create staged --template seed-001-staged-rollout')
      .action(ctx.action(async (command) => save(ctx, command, (command.processedArgs as [string])[0], 'create')));

    plans
      .command('update')
      .description('Save a new version of a plan from a YAML or JSON file (running rollouts keep theirs)')
      .argument('<key>', 'the plan key')
      .requiredOption('--file <file>', 'the plan (- for stdin)')
      .option('--name <name>', 'a new name')
      .option('--description <text>', 'a new description')
      .addHelpText('after', '\nExample:\n  rollgate plans update checkout-plan --file plan.yaml')
      .action(ctx.action(async (command) => save(ctx, command, (command.processedArgs as [string])[0], 'update')));

    plans
      .command('validate')
      .description('Validate a plan file: locally, and against the project when logged in')
      .argument('<file>', 'the plan (YAML or JSON)')
      .option('--local', 'only the checks that need no server (skip segments, environments and project metrics)')
      .addHelpText('after', '\nExits 1 when there is any problem.\n\nExamples:\n  rollgate plans validate plan.yaml\n  rollgate plans validate plan.yaml --local --json')
      .action(
        ctx.action(async (command) => {
          const [path] = command.processedArgs as [string];
          const o = command.opts<{ local?: boolean }>();
          const file = await readPlanFile(path);
          const settings = await ctx.settings(command);
          const againstProject = o.local !== true && settings.token !== undefined && settings.project !== undefined;
          const context = againstProject ? await projectContext(await ctx.client(command), settings.project as string) : {};
          const plan = { id: 'file', version: 1, name: file.name ?? path, ...(file.description !== undefined ? { description: file.description } : {}), ...file.definition };
          const issues = validatePlan(plan, context);
          const printer = ctx.printer(command);
          const checked = againstProject ? `against project ${settings.project}` : 'locally (pass --project and log in to check segments, environments and metrics too)';
          if (printer.json) printer.printJson({ valid: issues.length === 0, checked: againstProject ? 'project' : 'local', issues });
          else if (issues.length === 0) printer.line(`${path}: valid, ${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}; checked ${checked}`);
          else {
            for (const i of issues) ctx.io.err(`${path}: ${i.path || '(plan)'}: ${i.message}`);
            ctx.io.err(`${issues.length} problem${issues.length === 1 ? '' : 's'}; checked ${checked}`);
          }
          return issues.length === 0 ? EXIT.ok : EXIT.failed;
        }),
      );

    for (const [name, description] of [
      ['archive', 'Archive a plan: it can no longer start rollouts or change'],
      ['unarchive', 'Unarchive a plan'],
    ] as const) {
      plans
        .command(name)
        .description(description)
        .argument('<key>', 'the plan key')
        .addHelpText('after', `\nExample:\n  rollgate plans ${name} old-plan`)
        .action(
          ctx.action(async (command) => {
            const [key] = command.processedArgs as [string];
            const client = await ctx.client(command);
            const path = planPath(await ctx.project(command), key);
            const current = await client.get<PlanResource>(path);
            const plan = await client.post<PlanResource>(`${path}/${name}`, { version: current.version });
            const printer = ctx.printer(command);
            if (printer.json) return printer.printJson(plan);
            printer.line(`${name === 'archive' ? 'Archived' : 'Unarchived'} plan ${key}.`);
          }),
        );
    }
  },
};
