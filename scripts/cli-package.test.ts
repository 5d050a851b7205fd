import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url);
const manifest = (pkg: string) => JSON.parse(readFileSync(new URL(`packages/${pkg}/package.json`, root), 'utf8')) as Record<string, any>;

describe('the @rollgate/cli package (scripts/check-cli-package.js installs it for real)', () => {
  const cli = manifest('cli');

  it('depends on every package the bundled workspace code imports, with the same ranges, and on no workspace package', () => {
    for (const pkg of ['server', 'contract', 'sdk', 'core']) {
      for (const [name, range] of Object.entries<string>(manifest(pkg).dependencies ?? {})) {
        if (name.startsWith('@rollgate/')) continue;
        expect(cli.dependencies[name], `${name} (from @rollgate/${pkg})`).toBe(range);
      }
    }
    expect(Object.keys(cli.dependencies).filter((name) => name.startsWith('@rollgate/'))).toEqual([]);
  });

  it('has a bin that is in git and executable, so npm links it before the build', () => {
    expect(cli.bin).toEqual({ rollgate: './bin/rollgate.js' });
    const path = new URL('packages/cli/bin/rollgate.js', root);
    expect(statSync(path).mode & 0o111).not.toBe(0);
    const staged = execFileSync('git', ['ls-files', '-s', 'packages/cli/bin/rollgate.js'], { cwd: root, encoding: 'utf8' });
    expect(staged).toMatch(/^100755 /);
  });
});
