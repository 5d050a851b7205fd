/**
 * Every command of `rollgate`, in the order `--help` lists them. A new
 * command is one file exporting a CommandModule, added here; a new import
 * format (e.g. `import unleash`) is one file added to IMPORTERS.
 */
import type { CommandModule } from '../internal/context.js';
import { auditCommand } from './audit.js';
import { demoCommand } from './demo.js';
import { flagsCommand } from './flags.js';
import { localCommands } from './local.js';
import { loginCommand } from './login.js';
import { metricsCommand } from './metrics.js';
import { plansCommand } from './plans.js';
import { rolloutCommand } from './rollout.js';
import { segmentsCommand } from './segments.js';
import { startCommand } from './start.js';
import { transferCommands } from './transfer.js';

/** Subcommands of `rollgate import`, one per foreign format. */
export const IMPORTERS: readonly CommandModule[] = [];

export const COMMANDS: readonly CommandModule[] = [
  startCommand,
  demoCommand,
  loginCommand,
  flagsCommand,
  segmentsCommand,
  plansCommand,
  rolloutCommand,
  metricsCommand,
  auditCommand,
  transferCommands(IMPORTERS),
  localCommands,
];
