/**
 * What the browser entry points pull into an application bundle (esbuild, as
 * bench/size/run.js measures them): no node: module, not the core evaluator,
 * not the server client; and the core browser entry within its 8 KB gzipped
 * target. The React and web provider entries leave their peers to the page.
 */
import { describe, expect, it } from 'vitest';
import { measure as bundle } from '../../../bench/size/run.js';

describe('the browser bundles', () => {
  it.each([
    ['packages/sdk/src/browser.ts', []],
    ['packages/sdk/src/react.ts', ['react']],
    ['packages/sdk/src/openfeature-web.ts', ['@openfeature/web-sdk']],
  ])('%s: no node: module, no core evaluator, no server client; only its peers stay imports', async (file, peers) => {
    const b = await bundle(file);
    expect(b.imports.sort()).toEqual(peers);
    expect(b.code).not.toMatch(/["']node:/);
    for (const input of b.inputs) {
      expect(input, `${input} is in the bundle of ${file}`).not.toMatch(/^packages\/core\//);
      expect(input).not.toMatch(/node_modules/);
      expect(input).not.toMatch(/packages\/sdk\/src\/(client|http|metrics|overrides|openfeature)\.ts$/);
    }
    // The shared pieces are in it.
    expect(b.inputs).toContain('packages/sdk/src/browser.ts');
    expect(b.inputs).toContain('packages/sdk/src/sse-parser.ts');
  });

  it('keeps the core browser entry within 8 KB gzipped', async () => {
    const b = await bundle('packages/sdk/src/browser.ts');
    expect(b.gzip).toBeLessThanOrEqual(8 * 1024);
    // Sanity: it is the client, not an empty module.
    expect(b.code).toContain('api/frontend/evaluate');
    expect(b.code).toContain('api/frontend/stream');
  });
});
