// Builds the publishable form of @rollgate/cli (run by its prepack script):
// dist/bundle/rollgate.js holds the command with the workspace packages
// (core, contract, server, sdk) inlined, and migrations/ the server's SQL
// migrations, which the bundled server reads at ../../migrations from
// there. Every other package stays an import, listed in the CLI's
// dependencies (scripts/cli-package.test.ts keeps that list complete).
// `node scripts/bundle-cli.js --clean` removes both again (postpack).
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = fileURLToPath(new URL('../packages/cli/', import.meta.url));
const bundleDir = `${cli}dist/bundle`;
const migrations = `${cli}migrations`;

rmSync(bundleDir, { recursive: true, force: true });
rmSync(migrations, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  await build({
    entryPoints: [`${cli}dist/bin.js`],
    outfile: `${bundleDir}/rollgate.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-except-workspace',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@rollgate/') ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
  cpSync(fileURLToPath(new URL('../packages/server/migrations/', import.meta.url)), migrations, { recursive: true });
}
