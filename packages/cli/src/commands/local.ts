/** Commands that need no server: evaluate and validate run the core on local files. */
import { evaluate, validateSnapshot, type EvaluationContext } from '@rollgate/core';
import { RE2JS } from 're2js';
import type { CommandModule } from '../internal/context.js';
import { EXIT, UsageError } from '../internal/errors.js';
import { parseJsonOption, readJsonFile } from '../internal/files.js';

export const localCommands: CommandModule = {
  register(program, ctx) {
    program
      .command('evaluate')
      .description('Evaluate a flag locally from a snapshot file, with the same evaluator as the server and SDKs')
      .option('--snapshot <file>', 'a snapshot of one environment (JSON: { flags, segments })')
      .option('--flag <key>', 'the flag to evaluate')
      .option('--context <json>', 'the context, e.g. \'{"userId":"user-42","country":"US"}\'', '{}')
      .option('--default <json>', 'the default value, returned on errors')
      .addHelpText(
        'after',
        `
Prints the result as JSON: value, variant, reason, ruleId, errorCode. Exits 1 when the reason is ERROR.

Example:
  rollgate evaluate --snapshot prod.json --flag new-checkout --context '{"userId":"u1","country":"CA"}'`,
      )
      .action(
        ctx.action(async (command) => {
          const o = command.opts<{ snapshot?: string; flag?: string; context: string; default?: string }>();
          if (o.snapshot === undefined || o.flag === undefined) throw new UsageError('evaluate needs --snapshot <file> and --flag <key> (see rollgate evaluate --help)');
          const context = parseJsonOption('context', o.context);
          if (typeof context !== 'object' || context === null || Array.isArray(context)) throw new UsageError('--context must be a JSON object');
          const snapshot = await readJsonFile(o.snapshot);
          const result = evaluate(snapshot, o.flag, context as EvaluationContext, parseJsonOption('default', o.default), { regex: RE2JS });
          ctx.io.out(JSON.stringify(result, null, 2));
          return result.reason === 'ERROR' ? EXIT.failed : EXIT.ok;
        }),
      );

    program
      .command('validate')
      .description('Check a snapshot file and list every problem')
      .argument('<snapshot-file>', 'a snapshot of one environment (JSON)')
      .addHelpText(
        'after',
        `
Checks every flag and segment (variations, rules, operators, regular expressions,
rollouts, prerequisite cycles) and lists each problem with its path. Exits 1 when
there is any.

Example:
  rollgate validate prod.json
  rollgate validate prod.json --json   # {"valid": false, "issues": [{"path": ..., "message": ...}]}`,
      )
      .action(
        ctx.action(async (command) => {
          const [file] = command.processedArgs as [string];
          const issues = validateSnapshot(await readJsonFile(file), { regex: RE2JS });
          const printer = ctx.printer(command);
          if (printer.json) {
            printer.printJson({ valid: issues.length === 0, issues });
            return issues.length === 0 ? EXIT.ok : EXIT.failed;
          }
          if (issues.length === 0) {
            printer.line(`${file}: valid`);
            return EXIT.ok;
          }
          for (const issue of issues) ctx.io.err(`${file}: ${issue.path || '(root)'}: ${issue.message}`);
          ctx.io.err(`${issues.length} problem${issues.length === 1 ? '' : 's'}`);
          return EXIT.failed;
        }),
      );
  },
};
