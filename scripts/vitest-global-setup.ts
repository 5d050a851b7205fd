import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests start the real server process from the compiled packages,
 * so the suite builds them once before any test file runs. Set
 * ROLLGATE_TEST_SKIP_BUILD=1 to run unit tests without building (the
 * end-to-end tests then use whatever dist holds).
 */
export function setup(): void {
  if (process.env.ROLLGATE_TEST_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
