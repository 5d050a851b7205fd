import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorBodySchema } from './errors.js';

const DOC = new URL('../../../docs/errors.md', import.meta.url);
const doc = readFileSync(DOC, 'utf8');

/** The `## CODE` sections of docs/errors.md, with their text. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const [heading = '', ...body] = part.split('\n');
    found.set(heading.trim(), body.join('\n'));
  }
  return found;
}

describe('the error-code registry', () => {
  const registry = Object.keys(ERROR_CODES);
  const documented = sections(doc);

  it('has a "## CODE" section in docs/errors.md for every code', () => {
    const missing = registry.filter((code) => !documented.has(code));
    expect(missing, `add a "## CODE" section to docs/errors.md for: ${missing.join(', ')}`).toEqual([]);
  });

  it('documents no code that is not in the registry', () => {
    const stale = [...documented.keys()].filter((heading) => !(heading in ERROR_CODES));
    expect(stale, `docs/errors.md documents codes the registry does not have: ${stale.join(', ')}`).toEqual([]);
  });

  it('documents each code once', () => {
    const headings = [...doc.matchAll(/^## (.+)$/gm)].map((m) => (m[1] as string).trim());
    const twice = headings.filter((h, i) => headings.indexOf(h) !== i);
    expect(twice, `docs/errors.md has more than one section for: ${twice.join(', ')}`).toEqual([]);
  });

  it('gives each code its HTTP status, a cause and a fix', () => {
    for (const [code, definition] of Object.entries(ERROR_CODES)) {
      const text = documented.get(code) ?? '';
      expect(text, code).toMatch(new RegExp(`\\*\\*HTTP status:\\*\\* ${definition.status}\\b`));
      expect(text, code).toMatch(/\*\*Cause:\*\* \S/);
      expect(text, code).toMatch(/\*\*Fix:\*\* \S/);
    }
  });

  it('gives every code an error status, a title and a fix', () => {
    for (const [code, definition] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z_]*[A-Z]$/);
      expect(definition.status, code).toBeGreaterThanOrEqual(400);
      expect(definition.status, code).toBeLessThan(600);
      expect(definition.title.length, code).toBeGreaterThan(0);
      expect(definition.fix.length, code).toBeGreaterThan(0);
    }
  });

  it('accepts error bodies with a registered code only', () => {
    const body = { code: 'NOT_FOUND', message: 'No project "x"', details: { resource: 'project' }, requestId: 'r1' };
    expect(errorBodySchema.parse(body)).toEqual(body);
    expect(errorBodySchema.safeParse({ ...body, code: 'NO_SUCH_CODE' }).success).toBe(false);
  });
});
