/**
 * `rollgate export` and `rollgate import`: a whole project as one versioned
 * JSON document. Other formats plug into `import` as subcommands: an
 * importer is a CommandModule registered on the `import` command (see
 * commands/index.ts, IMPORTERS).
 */
import { writeFile } from 'node:fs/promises';
import type { CommandModule } from '../internal/context.js';
import { EXIT, UsageError } from '../internal/errors.js';
import { readJsonFile } from '../internal/files.js';
import { exportProject, importProject, projectDocumentSchema, PROJECT_DOCUMENT_FORMAT, PROJECT_DOCUMENT_VERSION, type ImportChange } from '../internal/project-document.js';

function summarise(changes: readonly ImportChange[]): string {
  const count = (a: ImportChange['action']) => changes.filter((c) => c.action === a).length;
  const parts = [`${count('created')} created`, `${count('updated')} updated`, `${count('unchanged')} unchanged`];
  if (count('change-request') > 0) parts.push(`${count('change-request')} waiting for approval`);
  return parts.join(', ');
}

export function transferCommands(importers: readonly CommandModule[]): CommandModule {
  return {
    register(program, ctx) {
      program
        .command('export')
        .description('Export a whole project (environments, segments, flags with their configuration, plans) as one JSON document')
        .option('-o, --output <file>', 'write to this file (default: stdout)')
        .addHelpText(
          'after',
          `
The document (format "${PROJECT_DOCUMENT_FORMAT}", formatVersion ${PROJECT_DOCUMENT_VERSION}) leaves out what is not
configuration: rollouts and the rules they own, archived flags and plans, tokens,
users, the audit log and metric definitions (their headers hold secrets).

Examples:
  rollgate export --project shop -o shop.json
  rollgate export --project shop | rollgate import - --project shop-copy`,
        )
        .action(
          ctx.action(async (command) => {
            const o = command.opts<{ output?: string }>();
            const printer = ctx.printer(command);
            const doc = await exportProject(await ctx.client(command), await ctx.project(command), new Date(), (what) => printer.progress(`reading ${what}...`));
            const text = `${JSON.stringify(doc, null, 2)}\n`;
            if (o.output === undefined) ctx.io.out(text.trimEnd());
            else {
              await writeFile(o.output, text);
              const counts = `${doc.environments.length} environments, ${doc.segments.length} segments, ${doc.flags.length} flags, ${doc.plans.length} plans`;
              if (printer.json) printer.printJson({ file: o.output, project: doc.project.key, environments: doc.environments.length, segments: doc.segments.length, flags: doc.flags.length, plans: doc.plans.length });
              else printer.line(`Exported project ${doc.project.key} (${counts}) to ${o.output}.`);
            }
          }),
        );

      const importCommand = program
        .command('import')
        .description('Import a project document (from rollgate export), or another tool\'s export (see the subcommands)')
        .argument('[file]', 'the document (- for stdin)')
        .option('--dry-run', 'say what would change, change nothing')
        .addHelpText(
          'after',
          `
Matches everything by key: what the project lacks is created, what differs is
updated, what is equal is left alone, so importing the same document twice
changes nothing the second time. The project is --project, else the document's.
Where an environment needs approval, a flag's configuration becomes a change
request. A running rollout's rules are kept.

Examples:
  rollgate import shop.json --dry-run
  rollgate import shop.json --project shop-staging --json`,
        )
        .action(
          ctx.action(async (command) => {
            const [file] = command.processedArgs as [string | undefined];
            if (file === undefined) throw new UsageError('import needs a file: rollgate import <file> (or a format: rollgate import --help)');
            const o = command.opts<{ dryRun?: boolean }>();
            const parsed = projectDocumentSchema.safeParse(await readJsonFile(file));
            if (!parsed.success) {
              const first = parsed.error.issues[0];
              throw new UsageError(
                `${file} is not a ${PROJECT_DOCUMENT_FORMAT} document of formatVersion ${PROJECT_DOCUMENT_VERSION}: ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}${parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : ''}. Nothing was imported.`,
              );
            }
            const settings = await ctx.settings(command);
            const printer = ctx.printer(command);
            const changes = await importProject(await ctx.client(command), parsed.data, {
              ...(settings.project !== undefined ? { projectKey: settings.project } : {}),
              dryRun: o.dryRun === true,
              progress: (what) => printer.progress(`importing ${what}...`),
            });
            const projectKey = settings.project ?? parsed.data.project.key;
            if (printer.json) return printer.printJson({ project: projectKey, dryRun: o.dryRun === true, changes });
            for (const c of changes.filter((x) => x.action !== 'unchanged' || x.detail !== undefined)) {
              printer.line(`${o.dryRun === true ? 'would be ' : ''}${c.action.padEnd(14)} ${c.resource} ${c.key}${c.detail !== undefined ? ` (${c.detail})` : ''}`);
            }
            printer.line(`${o.dryRun === true ? 'Dry run, nothing changed: ' : ''}project ${projectKey}: ${summarise(changes)}.`);
            return EXIT.ok;
          }),
        );
      for (const importer of importers) importer.register(importCommand, ctx);
    },
  };
}
