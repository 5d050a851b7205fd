/** `rollgate segments`: list, get, create, update, delete (archive). */
import type { CommandModule } from '../internal/context.js';
import { UsageError } from '../internal/errors.js';
import { readDataFile } from '../internal/files.js';

export interface Segment {
  key: string;
  name: string;
  description: string;
  definition: { attribute?: string; included?: string[]; excluded?: string[]; rules?: unknown[] };
  version: number;
}

const segmentPath = (project: string, key?: string) => `/api/projects/${encodeURIComponent(project)}/segments${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

function describeDefinition(d: Segment['definition']): string {
  const parts: string[] = [];
  if (d.included?.length) parts.push(`${d.included.length} included`);
  if (d.excluded?.length) parts.push(`${d.excluded.length} excluded`);
  if (d.rules?.length) parts.push(`${d.rules.length} rule${d.rules.length === 1 ? '' : 's'}`);
  return parts.length === 0 ? 'empty' : `${parts.join(', ')}${d.attribute ? ` (by ${d.attribute})` : ''}`;
}

/** The segment fields of a file: { key?, name?, description?, definition } or a bare definition. */
async function segmentFile(file: string): Promise<{ key?: string; name?: string; description?: string; definition: Segment['definition'] }> {
  const data = await readDataFile(file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${file} must hold a segment: { name, definition: { included, excluded, rules } }`);
  const record = data as Record<string, unknown>;
  if ('definition' in record) return record as { definition: Segment['definition'] };
  return { definition: record as Segment['definition'] };
}

export const segmentsCommand: CommandModule = {
  register(program, ctx) {
    const segments = program
      .command('segments')
      .description('List, create and change segments (named audiences shared by every environment)')
      .addHelpText('after', '\nExamples:\n  rollgate segments list\n  rollgate segments create internal-team --name "Internal team" --include alice@example.com bob@example.com\n  rollgate segments update beta --file beta.yaml');

    segments
      .command('list')
      .description('List the segments of the project')
      .addHelpText('after', '\nExample:\n  rollgate segments list --json')
      .action(
        ctx.action(async (command) => {
          const items = await (await ctx.client(command)).all<Segment>(segmentPath(await ctx.project(command)));
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(items);
          printer.table(items, [
            { header: 'key', value: (s) => s.key },
            { header: 'name', value: (s) => s.name },
            { header: 'members', value: (s) => describeDefinition(s.definition) },
          ], 'No segments yet: rollgate segments create <key> --name <name> --include <id...>');
        }),
      );

    segments
      .command('get')
      .description('Show a segment')
      .argument('<key>', 'the segment key')
      .addHelpText('after', '\nExample:\n  rollgate segments get internal-team')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const s = await (await ctx.client(command)).get<Segment>(segmentPath(await ctx.project(command), key));
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(s);
          printer.fields([
            ['key', s.key],
            ['name', s.name],
            ['description', s.description || undefined],
            ['members', describeDefinition(s.definition)],
            ['included', s.definition.included?.join(', ')],
            ['excluded', s.definition.excluded?.join(', ')],
            ['rules', s.definition.rules === undefined ? undefined : JSON.stringify(s.definition.rules)],
            ['version', String(s.version)],
          ]);
        }),
      );

    segments
      .command('create')
      .description('Create a segment from ids, or from a JSON or YAML file')
      .argument('<key>', 'the segment key')
      .option('--name <name>', 'a name people read (default: the key)')
      .option('--description <text>', 'who is in it')
      .option('--include <id...>', 'context ids (userId unless --attribute says otherwise) that are in it')
      .option('--exclude <id...>', 'context ids that are never in it')
      .option('--attribute <name>', 'the context attribute the ids are matched against (default userId)')
      .option('--file <file>', 'the segment: { name, description, definition: { included, excluded, rules } }')
      .addHelpText('after', '\nExamples:\n  rollgate segments create internal-team --include alice bob\n  rollgate segments create pilot-users --file pilot.yaml')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ name?: string; description?: string; include?: string[]; exclude?: string[]; attribute?: string; file?: string }>();
          const fromFile = o.file === undefined ? undefined : await segmentFile(o.file);
          const definition = fromFile?.definition ?? {
            ...(o.attribute !== undefined ? { attribute: o.attribute } : {}),
            ...(o.include !== undefined ? { included: o.include } : {}),
            ...(o.exclude !== undefined ? { excluded: o.exclude } : {}),
          };
          const body = { key, name: o.name ?? fromFile?.name ?? key, description: o.description ?? fromFile?.description ?? '', definition };
          const s = await (await ctx.client(command)).post<Segment>(segmentPath(await ctx.project(command)), body);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(s);
          printer.line(`Created segment ${s.key}: ${describeDefinition(s.definition)}.`);
        }),
      );

    segments
      .command('update')
      .description('Change a segment: its name, description, or definition (from a file)')
      .argument('<key>', 'the segment key')
      .option('--name <name>', 'a new name')
      .option('--description <text>', 'a new description')
      .option('--file <file>', 'the new definition (or { name, description, definition })')
      .addHelpText('after', '\nExample:\n  rollgate segments update pilot-users --file pilot.yaml')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const o = command.opts<{ name?: string; description?: string; file?: string }>();
          const fromFile = o.file === undefined ? undefined : await segmentFile(o.file);
          const client = await ctx.client(command);
          const path = segmentPath(await ctx.project(command), key);
          const current = await client.get<Segment>(path);
          const body = {
            version: current.version,
            ...((o.name ?? fromFile?.name) !== undefined ? { name: o.name ?? fromFile?.name } : {}),
            ...((o.description ?? fromFile?.description) !== undefined ? { description: o.description ?? fromFile?.description } : {}),
            ...(fromFile !== undefined ? { definition: fromFile.definition } : {}),
          };
          if (Object.keys(body).length === 1) throw new UsageError('nothing to change: pass --name, --description or --file');
          const s = await client.patch<Segment>(path, body);
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(s);
          printer.line(`Updated segment ${s.key} (version ${s.version}): ${describeDefinition(s.definition)}.`);
        }),
      );

    segments
      .command('delete')
      .description('Delete (archive) a segment; refused while an active flag uses it')
      .argument('<key>', 'the segment key')
      .addHelpText('after', '\nExample:\n  rollgate segments delete old-beta')
      .action(
        ctx.action(async (command) => {
          const [key] = command.processedArgs as [string];
          const result = await (await ctx.client(command)).delete(segmentPath(await ctx.project(command), key));
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(result ?? { deleted: key });
          printer.line(`Deleted segment ${key}.`);
        }),
      );
  },
};
