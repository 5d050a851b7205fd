/** `rollgate flags`: list, get, create, set (an environment's configuration), toggle, archive. */
import type { Command } from 'commander';
import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { CommandContext, CommandModule } from '../internal/context.js';
import { EXIT, UsageError } from '../internal/errors.js';
import { parseJsonOption, readDataFile } from '../internal/files.js';

interface FlagEnvironment {
  environmentKey: string;
  version: number;
  config: FlagEnvironmentConfig;
  updatedAt: string;
}

export interface Flag {
  key: string;
  name: string;
  description: string;
  type: string;
  variations: { key: string; value: unknown; name?: string }[];
  tags: string[];
  archived: boolean;
  version: number;
  environments: Record<string, FlagEnvironment>;
}

const flagPath = (project: string, key?: string) => `/api/projects/${encodeURIComponent(project)}/flags${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

/** What a flag serves in one environment, in a few words. */
export function describeServing(env: FlagEnvironment | undefined): string {
  if (env === undefined) return '-';
  if (!env.config.enabled) return `off (serves ${env.config.offVariation})`;
  const rules = env.config.rules?.length ?? 0;
  const fall = 'variation' in env.config.fallthrough ? env.config.fallthrough.variation : 'a rollout';
  return `on, ${rules} rule${rules === 1 ? '' : 's'}, else ${fall}`;
}

async function writeConfig(ctx: CommandContext, command: Command, key: string, change: (current: FlagEnvironment) => FlagEnvironmentConfig, comment?: string): Promise<number> {
  const client = await ctx.client(command);
  const project = await ctx.project(command);
  const environment = await ctx.environment(command);
  const path = `${flagPath(project, key)}/environments/${encodeURIComponent(environment)}`;
  const current = await client.get<FlagEnvironment>(path);
  const result = await client.put<FlagEnvironment | { id: string; status: string }>(path, { version: current.version, config: change(current), ...(comment === undefined ? {} : { comment }) });
  const printer = ctx.printer(command);
  if (printer.json) {
    printer.printJson(result);
    return EXIT.ok;
  }
  if ('config' in result) printer.line(`${key} in ${environment}: ${describeServing(result)} (version ${result.version})`);
  else printer.line(`${environment} needs approval: made change request ${result.id} (${result.status}). Another person approves it in the dashboard or the API.`);
  return EXIT.ok;
}

export const flagsCommand: CommandModule = {
  register(program, ctx) {
    const flags = program
      .command('flags')
      .description('List, create and change feature flags')
      .addHelpText(
        'after',
        `
Examples:
  rollgate flags list --project shop
  rollgate flags create new-checkout --name "New checkout"
  rollgate flags toggle new-checkout --environment staging --on
  rollgate flags get new-checkout --json | jq .environments.production.config`,
      );

    flags
      .command('list')
      .description('List the flags of the project, with what each serves in the environment')
      .option('--archived', 'list archived flags instead')
      .option('--tag <tag>', 'only flags with this tag')
      .addHelpText('after', '\nExample:\n  rollgate flags list --environment production')
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ archived?: boolean; tag?: string }>();
          const client = await ctx.client(command);
          const project = await ctx.project(command);
          const environment = (await ctx.settings(command)).environment;
          const items = await client.all<Flag>(flagPath(project), { archived: o.archived === true ? true : undefined, tag: o.tag });
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(items);
          const envs = environment !== undefined ? [environment] : [...new Set(items.flatMap((f) => Object.keys(f.environments)))];
          printer.table(items, [
            { header: 'key', value: (f) => f.key },
            { header: 'name', value: (f) => f.name },
            { header: 'type', value: (f) => f.type },
            ...envs.map((e) => ({
              header: e,
              value: (f: Flag) => describeServing(f.environments[e]),
              colour: (f: Flag) => (f.environments[e]?.config.enabled ? ('green' as const) : ('dim' as const)),
            })),
          ], 'No flags yet: rollgate flags create <key> --name <name>');
        }),
      );

    flags
      .command('get')
      .description('Show a flag and its configuration in every environment')
      .argument('<key>', 'the flag key')
      .addHelpText('after', '\nExample:\n  rollgate flags get new-checkout --json')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const flag = await (await ctx.client(command)).get<Flag>(flagPath(await ctx.project(command), key));
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(flag);
          printer.fields([
            ['key', flag.key],
            ['name', flag.name],
            ['description', flag.description || undefined],
            ['type', flag.type],
            ['variations', flag.variations.map((v) => `${v.key}=${JSON.stringify(v.value)}`).join(', ')],
            ['tags', flag.tags.length > 0 ? flag.tags.join(', ') : undefined],
            ['archived', flag.archived ? 'yes' : undefined],
            ['version', String(flag.version)],
            ...Object.values(flag.environments).map((e): [string, string] => [e.environmentKey, describeServing(e)]),
          ]);
        }),
      );

    flags
      .command('create')
      .description('Create a flag (disabled, serving its off variation, in every environment)')
      .argument('<key>', 'the flag key (lowercase letters, digits, - and _)')
      .option('--name <name>', 'a name people read (default: the key)')
      .option('--description <text>', 'what the flag is for')
      .option('--type <type>', 'boolean, string, number or json', 'boolean')
      .option('--variations <json>', 'the variations, e.g. \'[{"key":"a","value":"a"},{"key":"b","value":"b"}]\' (default for boolean: on and off)')
      .option('--tag <tag...>', 'tags')
      .addHelpText('after', '\nExamples:\n  rollgate flags create new-checkout --name "New checkout" --tag checkout\n  rollgate flags create theme --type string --variations \'[{"key":"light","value":"light"},{"key":"dark","value":"dark"}]\'')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ name?: string; description?: string; type: string; variations?: string; tag?: string[] }>();
          const body = {
            key,
            name: o.name ?? key,
            type: o.type,
            ...(o.description !== undefined ? { description: o.description } : {}),
            ...(o.variations !== undefined ? { variations: parseJsonOption('variations', o.variations) } : {}),
            ...(o.tag !== undefined ? { tags: o.tag } : {}),
          };
          const flag = await (await ctx.client(command)).post<Flag>(flagPath(await ctx.project(command)), body);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(flag);
          printer.line(`Created flag ${flag.key} (${flag.type}; ${flag.variations.map((v) => v.key).join(', ')}). It is off everywhere until you turn it on or start a rollout.`);
        }),
      );

    flags
      .command('set')
      .description("Replace a flag's configuration in one environment from a JSON or YAML file")
      .argument('<key>', 'the flag key')
      .requiredOption('--file <file>', 'the configuration: { enabled, offVariation, rules, fallthrough, ... } (- for stdin)')
      .option('--comment <text>', 'why (kept in the audit log and any change request)')
      .addHelpText('after', '\nWhere the environment needs approval this makes a change request instead.\n\nExample:\n  rollgate flags get new-checkout --json | jq .environments.staging.config > c.json  # edit c.json\n  rollgate flags set new-checkout --environment staging --file c.json')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ file: string; comment?: string }>();
          const config = await readDataFile(o.file);
          if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new UsageError(`${o.file} must hold one configuration object`);
          return writeConfig(ctx, command, key, () => config as FlagEnvironmentConfig, o.comment);
        }),
      );

    flags
      .command('toggle')
      .description('Turn a flag on or off in one environment (the kill switch)')
      .argument('<key>', 'the flag key')
      .option('--on', 'turn it on')
      .option('--off', 'turn it off')
      .option('--comment <text>', 'why')
      .addHelpText('after', '\nWithout --on or --off it flips the current state.\n\nExample:\n  rollgate flags toggle new-checkout --environment production --off --comment "errors in checkout"')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ on?: boolean; off?: boolean; comment?: string }>();
          if (o.on === true && o.off === true) throw new UsageError('pass --on or --off, not both');
          return writeConfig(ctx, command, key, (current) => ({ ...current.config, enabled: o.on === true ? true : o.off === true ? false : !current.config.enabled }), o.comment);
        }),
      );

    for (const [name, description] of [
      ['archive', 'Archive a flag: it leaves every snapshot and its configuration is frozen'],
      ['unarchive', 'Unarchive a flag: it is back in every snapshot'],
    ] as const) {
      flags
        .command(name)
        .description(description)
        .argument('<key>', 'the flag key')
        .addHelpText('after', `\nExample:\n  rollgate flags ${name} old-banner`)
        .action(
          ctx.action(async (command) => {
            const [key] = command.processedArgs as [string];
            const client = await ctx.client(command);
            const path = flagPath(await ctx.project(command), key);
            const current = await client.get<Flag>(path);
            const flag = await client.post<Flag>(`${path}/${name}`, { version: current.version });
            const printer = ctx.printer(command);
            if (printer.json) return printer.printJson(flag);
            printer.line(`${name === 'archive' ? 'Archived' : 'Unarchived'} flag ${key}.`);
          }),
        );
    }
  },
};
