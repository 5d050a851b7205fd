// ESLint flat config. The package import table of docs/architecture.md is enforced here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const relativeOnly = { regex: '^(?!\\.{1,2}/)', message: 'packages/core imports nothing: it is the pure domain (docs/architecture.md).' };

/** Workspace packages each package may not import, per the table in docs/architecture.md. */
const forbiddenWorkspaceImports = {
  contract: ['server', 'sdk', 'web', 'cli'],
  server: ['sdk', 'web', 'cli'],
  sdk: ['contract', 'server', 'web', 'cli'],
  web: ['server', 'sdk', 'cli'],
  cli: ['web'],
};

const importRules = [
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [relativeOnly] }] },
  },
  ...Object.entries(forbiddenWorkspaceImports).map(([pkg, banned]) => ({
    files: [`packages/${pkg}/src/**/*.ts`, `packages/${pkg}/src/**/*.tsx`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^@rollgate/(${banned.join('|')})(/|$)`,
              message: `packages/${pkg} may not import this package (docs/architecture.md).`,
            },
            { regex: '^@rollgate/[a-z]+/', message: 'Import workspace packages by their public entry points only.' },
          ],
        },
      ],
    },
  })),
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.rollgate/**', 'packages/cli/test-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (CONVENTIONS.md 9).' },
        { selector: "ExportSpecifier[exported.name='default']", message: 'Named exports only (CONVENTIONS.md 9).' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', globalThis: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly' },
    },
  },
  ...importRules,
  {
    // Tests read JSON response bodies whose shape the assertions check.
    files: ['**/*.test.ts', '**/*.test-helpers.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tool configuration files are loaded by their tools through a default export.
    files: ['eslint.config.js', 'vitest.config.ts', '**/vite.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
