/** `rollgate metrics push`: send exposures and metric observations from a file, as any app can. */
import { createHash } from 'node:crypto';
import { sdkToken } from '../config.js';
import { ApiClient } from '../internal/api-client.js';
import type { CommandModule } from '../internal/context.js';
import { CliError, EXIT, UsageError } from '../internal/errors.js';
import { readText } from '../internal/files.js';

/** The server's limit of items per batch. */
const BATCH = 1000;

/** Items of a file: {batchId?, items}, an array of items, or one item per line (NDJSON). */
export function parseMetricsFile(path: string, text: string): { batchId?: string; items: unknown[] } {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError(`${path} is empty`);
  try {
    const data = JSON.parse(trimmed) as unknown;
    if (Array.isArray(data)) return { items: data };
    if (typeof data === 'object' && data !== null && Array.isArray((data as { items?: unknown }).items)) {
      const { batchId, items } = data as { batchId?: unknown; items: unknown[] };
      return { ...(typeof batchId === 'string' ? { batchId } : {}), items };
    }
    return { items: [data] };
  } catch {
    const items: unknown[] = [];
    trimmed.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        items.push(JSON.parse(line) as unknown);
      } catch (e) {
        throw new UsageError(`${path}:${i + 1} is not JSON: ${(e as Error).message}`);
      }
    });
    return { items };
  }
}

export const metricsCommand: CommandModule = {
  register(program, ctx) {
    const metrics = program.command('metrics').description('Send metrics to Rollgate');
    metrics
      .command('push')
      .description('Send exposures and metric observations from a JSON or NDJSON file (POST /api/client/metrics)')
      .argument('<file>', 'items: {batchId, items}, an array, or one item per line (- for stdin)')
      .option('--sdk-token <token>', 'a server SDK token of the environment (or ROLLGATE_SDK_TOKEN)')
      .option('--batch-id <id>', 'the batch id (default: a hash of the items, so pushing the same file twice counts once)')
      .addHelpText(
        'after',
        `
Items are those of docs/server.md ("Metrics ingestion"), e.g.
  {"kind":"metric","flag":"new-checkout","metric":"error-rate","cohort":"treatment","value":0.02,"at":"2026-03-01T12:00:00Z"}
More than 1,000 items go in several batches. Exits 1 when the server rejected any item.

Examples:
  rollgate metrics push errors.ndjson --sdk-token rg_server_...
  my-exporter | rollgate metrics push - --json`,
      )
      .action(
        ctx.action(async (command) => {
          const [path] = command.processedArgs as [string];
          const o = command.opts<{ sdkToken?: string; batchId?: string }>();
          const token = sdkToken(o.sdkToken, ctx.env);
          if (token === undefined) throw new CliError('metrics push needs a server SDK token: --sdk-token rg_server_... or ROLLGATE_SDK_TOKEN (create one with POST /api/tokens, kind server)', EXIT.auth);
          const parsed = parseMetricsFile(path, await readText(path));
          const baseId = o.batchId ?? parsed.batchId ?? `cli-${createHash('sha256').update(JSON.stringify(parsed.items)).digest('hex').slice(0, 32)}`;
          const settings = await ctx.settings(command);
          const client = new ApiClient(settings.url ?? 'http://127.0.0.1:4242', token);
          const printer = ctx.printer(command);
          let accepted = 0;
          let duplicates = 0;
          const rejected: { index: number; reason: string }[] = [];
          const batches = Math.ceil(parsed.items.length / BATCH);
          for (let b = 0; b < batches; b++) {
            const items = parsed.items.slice(b * BATCH, (b + 1) * BATCH);
            const batchId = batches === 1 ? baseId : `${baseId.slice(0, 90)}-${b + 1}`;
            const res = await client.post<{ accepted: number; rejected: { index: number; reason: string }[]; duplicate?: boolean }>('/api/client/metrics', { batchId, items });
            accepted += res.accepted;
            if (res.duplicate === true) duplicates++;
            for (const r of res.rejected) rejected.push({ index: r.index + b * BATCH, reason: r.reason });
            printer.progress(`sent batch ${b + 1} of ${batches}`);
          }
          if (printer.json) printer.printJson({ batchId: baseId, items: parsed.items.length, accepted, rejected, duplicateBatches: duplicates });
          else {
            printer.line(`Sent ${parsed.items.length} item${parsed.items.length === 1 ? '' : 's'}: ${accepted} accepted, ${rejected.length} rejected${duplicates > 0 ? ` (${duplicates} batch${duplicates === 1 ? ' was' : 'es were'} already counted: same batch id)` : ''}.`);
            for (const r of rejected.slice(0, 20)) ctx.io.err(`  item ${r.index}: ${r.reason}`);
            if (rejected.length > 20) ctx.io.err(`  ... and ${rejected.length - 20} more`);
          }
          return rejected.length === 0 ? EXIT.ok : EXIT.failed;
        }),
      );
  },
};
