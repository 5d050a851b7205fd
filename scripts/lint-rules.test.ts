import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The package import table of docs/architecture.md, as lint enforces it.
const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? 'parse-error');
}

const cases: [string, string, boolean][] = [
  ['packages/core/src/x.ts', "import { a } from './a.js';\nexport const b = a;\n", true],
  ['packages/core/src/x.ts', "import { z } from 'zod';\nexport const b = z;\n", false],
  ['packages/core/src/x.ts', "import { readFile } from 'node:fs';\nexport const b = readFile;\n", false],
  ['packages/core/src/x.ts', "import { a } from '@rollgate/contract';\nexport const b = a;\n", false],
  ['packages/contract/src/x.ts', "import { evaluate } from '@rollgate/core';\nexport const b = evaluate;\n", true],
  ['packages/contract/src/x.ts', "import { a } from '@rollgate/server';\nexport const b = a;\n", false],
  ['packages/sdk/src/x.ts', "import { evaluate } from '@rollgate/core';\nexport const b = evaluate;\n", true],
  ['packages/sdk/src/x.ts', "import { a } from '@rollgate/contract';\nexport const b = a;\n", false],
  ['packages/sdk/src/x.ts', "import { a } from '@rollgate/server';\nexport const b = a;\n", false],
  ['packages/server/src/x.ts', "import { a } from '@rollgate/contract';\nexport const b = a;\n", true],
  ['packages/server/src/x.ts', "import { a } from '@rollgate/sdk';\nexport const b = a;\n", false],
  ['packages/web/src/x.ts', "import { a } from '@rollgate/server';\nexport const b = a;\n", false],
  ['packages/cli/src/x.ts', "import { a } from '@rollgate/server';\nexport const b = a;\n", true],
  ['packages/cli/src/x.ts', "import { a } from '@rollgate/sdk';\nexport const b = a;\n", true],
  ['packages/cli/src/x.ts', "import { a } from '@rollgate/web';\nexport const b = a;\n", false],
  ['packages/cli/src/x.ts', "import { a } from '@rollgate/core/src/evaluate.js';\nexport const b = a;\n", false],
];

describe('lint', () => {
  it.each(cases)('%s: %s allowed=%s', async (file, code, allowed) => {
    const ids = await ruleIds(file, code);
    expect(ids.includes('no-restricted-imports')).toBe(!allowed);
  });

  it('refuses default exports', async () => {
    expect(await ruleIds('packages/core/src/x.ts', 'const a = 1;\nexport default a;\n')).toContain('no-restricted-syntax');
    expect(await ruleIds('packages/core/src/x.ts', 'const a = 1;\nexport { a as default };\n')).toContain('no-restricted-syntax');
  });
});
