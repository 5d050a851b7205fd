import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findFlagReferences, flagCleanupReport, scanSourceTree, type ProjectFlag } from './scan-source.js';

const tree = fileURLToPath(new URL('../../test-fixtures/scan-tree', import.meta.url));

const on = { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } };
const split = { enabled: true, offVariation: 'off', fallthrough: { rollout: { percentage: 50, variation: 'on' } } };
const FLAGS: ProjectFlag[] = [
  { key: 'new-checkout', archived: false, environments: { production: split, staging: on } },
  { key: 'dark-mode', archived: false, environments: { production: on, staging: { ...split, fallthrough: { rollout: { percentage: 100, variation: 'on' } } } } },
  { key: 'banner-text', archived: false, environments: { production: { ...on, rules: [{ id: 'r' }] }, staging: on } },
  { key: 'search-v2', archived: true, environments: { production: split } },
  { key: 'new-invoices', archived: false, environments: { production: { ...on, enabled: false }, staging: { ...on, enabled: false } } },
  { key: 'promo-banner', archived: false, environments: { production: split } },
  { key: 'forgotten', archived: false, environments: { production: split } },
];

describe('scanSourceTree', () => {
  it('finds SDK calls in JS/TS, Python, Go and Java, custom patterns and known keys in any file, skipping node_modules', async () => {
    const refs = await scanSourceTree(tree, { knownKeys: FLAGS.map((f) => f.key), patterns: [String.raw`feature\$\(\s*'([\w.-]+)'`] });
    const found = refs.map((r) => `${r.file}:${r.line}:${r.column} ${r.key} ${r.kind}`);
    expect(found).toEqual([
      'api/handlers.py:5:27 new-checkout call',
      'api/handlers.py:7:34 typo-flag call',
      'billing/src/main/java/shop/Billing.java:5:36 new-invoices call',
      'billing/src/main/java/shop/Billing.java:5:79 legacy-export call',
      'config/flags.yaml:3:12 search-v2 string',
      'svc/main.go:4:37 search-v2 call',
      'svc/main.go:5:24 dark-mode call',
      'web/src/checkout.tsx:4:28 new-checkout call',
      'web/src/checkout.tsx:5:41 banner-text call',
      'web/src/checkout.tsx:6:25 dark-mode call',
      'web/src/custom.ts:2:28 promo-banner pattern',
      'web/src/custom.ts:2:57 new-checkout call',
    ]);
  });

  it('reports flags ready to remove with where they are still used, and keys the project does not have', async () => {
    const refs = await scanSourceTree(tree, { knownKeys: FLAGS.map((f) => f.key), patterns: [String.raw`feature\$\(\s*'([\w.-]+)'`] });
    const report = flagCleanupReport(refs, FLAGS);
    expect(report.readyToRemove).toEqual([
      { key: 'dark-mode', reason: 'served-to-everyone', detail: 'serves "on" to everyone in every environment', usedAt: ['svc/main.go:5', 'web/src/checkout.tsx:6'] },
      { key: 'forgotten', reason: 'unused', detail: 'not referenced in the scanned code', usedAt: [] },
      { key: 'new-invoices', reason: 'served-to-everyone', detail: 'serves "off" to everyone in every environment', usedAt: ['billing/src/main/java/shop/Billing.java:5'] },
      { key: 'search-v2', reason: 'archived', detail: 'archived in the project', usedAt: ['config/flags.yaml:3', 'svc/main.go:4'] },
    ]);
    expect(report.unknownKeys).toEqual([
      { key: 'legacy-export', usedAt: ['billing/src/main/java/shop/Billing.java:5'] },
      { key: 'typo-flag', usedAt: ['api/handlers.py:7'] },
    ]);
    expect(report.inUse.map((f) => f.key)).toEqual(['banner-text', 'new-checkout', 'promo-banner']);
  });

  it('matches known keys in string literals only when asked, and never counts them as unknown keys', () => {
    const files = [{ path: 'a.json', content: '{"flag": "dark-mode", "other": "x"}' }];
    expect(findFlagReferences(files, { knownKeys: ['dark-mode'] })).toEqual([{ key: 'dark-mode', file: 'a.json', line: 1, column: 11, kind: 'string' }]);
    expect(findFlagReferences(files, { knownKeys: ['dark-mode'], genericStrings: false })).toEqual([]);
    expect(flagCleanupReport(findFlagReferences([{ path: 'b.txt.json', content: '"nope"' }], { knownKeys: ['x'] }), []).unknownKeys).toEqual([]);
  });

  it('refuses an invalid pattern with a message', () => {
    expect(() => findFlagReferences([], { patterns: ['('] })).toThrow(/scan pattern "\(" is not a valid regular expression/);
  });
});
