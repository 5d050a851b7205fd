/**
 * The conformance suite (spec/cases/*.json) through the SDK: every evaluate
 * case, on an offline client bootstrapped with the case's snapshot (from a
 * file when the snapshot is a string, since a string bootstrap is a path).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareEvaluation, loadSpecCases, snapshotFor } from '../../../spec/cases.js';
import type { EvaluateCase, SpecFile } from '../../../spec/cases.js';
import { createClient } from './index.js';

const files = loadSpecCases();
const dir = mkdtempSync(join(tmpdir(), 'rollgate-sdk-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function run(file: SpecFile, testCase: EvaluateCase): void {
  const { flag, context, random } = testCase.input;
  let bootstrap: unknown = snapshotFor(file, testCase);
  if (typeof bootstrap === 'string') {
    const path = join(dir, `snapshot-${fileCount++}.json`);
    writeFileSync(path, JSON.stringify(bootstrap));
    bootstrap = path;
  }
  const client = createClient({ offline: true, bootstrap: bootstrap ?? null, env: {}, ...(random === undefined ? {} : { random: () => random }) });
  expect(client.isReady).toBe(true);
  const result = client.evaluate(flag, context, testCase.input.default);
  const mismatches = compareEvaluation(testCase.expected, result);
  // The typed helpers agree with the full result.
  if (typeof testCase.input.default === 'boolean') {
    const enabled = client.isEnabled(flag, context, testCase.input.default);
    if (enabled !== result.value) mismatches.push(`isEnabled: ${enabled}, evaluate: ${JSON.stringify(result.value)}`);
  }
  if (testCase.input.default === undefined && client.variant(flag, context) !== result.variant) mismatches.push('variant() differs from evaluate().variant');
  client.close();
  expect(mismatches, `result ${JSON.stringify(result)}`).toEqual([]);
}

let total = 0;
for (const file of files) {
  const cases = file.cases.filter((c): c is EvaluateCase => c.kind === 'evaluate');
  if (cases.length === 0) continue;
  total += cases.length;
  describe(`SDK: spec/cases/${file.name}.json`, () => {
    for (const testCase of cases) it(testCase.name, () => run(file, testCase));
  });
}

describe('SDK conformance', () => {
  it('runs every evaluate case', () => {
    expect(total).toBeGreaterThan(150);
  });
});
