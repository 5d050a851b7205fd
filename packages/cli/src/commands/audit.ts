/** `rollgate audit`: the append-only audit log, newest first, with filters. */
import type { CommandModule } from '../internal/context.js';
import { UsageError } from '../internal/errors.js';
import { formatTime } from '../internal/format.js';

interface AuditEvent {
  seq: number;
  at: string;
  actor: { kind: string; id: string; name?: string };
  action: string;
  resourceType: string;
  resourceKey: string | null;
  resourceId: string;
  projectKey: string | null;
  environmentKey: string | null;
}

/** "2h", "3d", "15m" → an ISO time that long ago. */
function since(value: string, now = Date.now()): string {
  const match = /^(\d+)([mhd])$/.exec(value);
  if (match !== null) return new Date(now - Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd']).toISOString();
  if (!Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new UsageError(`--since takes a duration (15m, 2h, 7d) or a time (2026-03-01T00:00:00Z); got ${value}`);
}

export const auditCommand: CommandModule = {
  register(program, ctx) {
    program
      .command('audit')
      .description('Read the audit log, newest first')
      .option('--action <action>', 'only this action, e.g. flag.updated')
      .option('--resource <type>', 'only this resource type: flag, segment, plan, rollout, ...')
      .option('--actor <id>', 'only changes by this user or token id')
      .option('--since <when>', 'only since then: 15m, 2h, 7d, or an ISO time')
      .option('--all-projects', 'not only the current project')
      .option('--limit <n>', 'at most this many', '50')
      .addHelpText('after', '\nExamples:\n  rollgate audit --since 1d\n  rollgate audit --resource rollout --json | jq \'.[] | .action\'')
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ action?: string; resource?: string; actor?: string; since?: string; allProjects?: boolean; limit: string }>();
          const client = await ctx.client(command);
          const settings = await ctx.settings(command);
          const page = await client.get<{ items: AuditEvent[] }>('/api/audit', {
            projectKey: o.allProjects === true ? undefined : settings.project,
            environmentKey: settings.environment,
            action: o.action,
            resourceType: o.resource,
            actorId: o.actor,
            since: o.since === undefined ? undefined : since(o.since),
            limit: o.limit,
          });
          const printer = ctx.printer(command);
          if (printer.json) return printer.printJson(page.items);
          printer.table(page.items, [
            { header: 'at', value: (e) => formatTime(e.at) },
            { header: 'actor', value: (e) => e.actor.name ?? e.actor.id },
            { header: 'action', value: (e) => e.action },
            { header: 'resource', value: (e) => `${e.resourceType} ${e.resourceKey ?? e.resourceId}` },
            { header: 'where', value: (e) => [e.projectKey, e.environmentKey].filter((x) => x !== null).join('/') },
          ], 'No audit events match.');
        }),
      );
  },
};
