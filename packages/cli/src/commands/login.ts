/** `rollgate login`: checks a server URL and token and stores them in the config file (0600). */
import { readStoredSettings, writeStoredSettings, configFilePath } from '../config.js';
import { ApiClient } from '../internal/api-client.js';
import type { CommandModule } from '../internal/context.js';
import { EXIT, UsageError } from '../internal/errors.js';

interface Me {
  user?: { id: string; name: string; email: string; role: string };
  id?: string;
  name?: string;
  role?: string;
}

export const loginCommand: CommandModule = {
  register(program, ctx) {
    program
      .command('login')
      .description('Store the server URL and an admin token (and a default project and environment) in the config file')
      .addHelpText(
        'after',
        `
Checks the token against the server (GET /api/me), then writes the config file
(ROLLGATE_CONFIG, else ~/.config/rollgate/config.json), readable by you only
(mode 0600). Flags override it, and ROLLGATE_URL, ROLLGATE_TOKEN,
ROLLGATE_PROJECT and ROLLGATE_ENVIRONMENT override it too.

Examples:
  rollgate login --url http://127.0.0.1:4242 --token rg_admin_... --project shop --environment production
  rollgate login --project checkout          # change the default project only
  rollgate login --json                      # {"url": ..., "user": ..., "configFile": ...}`,
      )
      .action(
        ctx.action(async (command) => {
          const o = ctx.options(command);
          const file = configFilePath(ctx.env);
          const stored = await readStoredSettings(file);
          const next = {
            ...stored,
            ...(o.url !== undefined ? { url: o.url.replace(/\/+$/, '') } : {}),
            ...(o.token !== undefined ? { token: o.token } : {}),
            ...(o.project !== undefined ? { project: o.project } : {}),
            ...(o.environment !== undefined ? { environment: o.environment } : {}),
          };
          if (next.token === undefined) throw new UsageError('login needs --token <admin token> (printed by rollgate start on the first start)');
          const url = next.url ?? 'http://127.0.0.1:4242';
          const me = await new ApiClient(url, next.token).get<Me>('/api/me');
          if (next.project !== undefined) await new ApiClient(url, next.token).get(`/api/projects/${encodeURIComponent(next.project)}`);
          await writeStoredSettings(file, { ...next, url });
          const user = me.user ?? { id: me.id ?? '', name: me.name ?? '', role: me.role ?? '' };
          const printer = ctx.printer(command);
          if (printer.json) printer.printJson({ url, user, project: next.project ?? null, environment: next.environment ?? null, configFile: file });
          else {
            printer.line(`Logged in to ${url} as ${user.name} (${user.role}).`);
            if (next.project !== undefined) printer.line(`Default project: ${next.project}${next.environment !== undefined ? `, environment: ${next.environment}` : ''}`);
            printer.line(`Saved to ${file} (readable by you only).`);
          }
          return EXIT.ok;
        }),
      );
  },
};
