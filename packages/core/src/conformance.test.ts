/**
 * Runs the conformance suite (spec/cases/*.json, format in spec/README.md)
 * against the core: one test per case. The SDKs and the server run the same files.
 */
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { compareEvaluation, loadSpecCases, snapshotFor } from '../../../spec/cases.js';
import type { EvaluateCase, SpecCase, SpecFile } from '../../../spec/cases.js';
import { bucket, checkRegexPattern, compileSnapshot, evaluate, murmur3, murmur3CharCodes, unleashNormalizedHash } from './index.js';
import type { EvaluationContext, JsonValue, Snapshot } from './types.js';

const files = loadSpecCases();

/** One compiled snapshot per snapshot object, as an evaluator would keep it. */
const compiledCache = new Map<object, ReturnType<typeof compileSnapshot>>();

function compiledFor(snapshot: Snapshot): ReturnType<typeof compileSnapshot> {
  let compiled = compiledCache.get(snapshot);
  if (compiled === undefined) {
    compiled = compileSnapshot(snapshot, { regex: RE2JS });
    compiledCache.set(snapshot, compiled);
  }
  return compiled;
}

/** Whether the input is shaped like a snapshot at all, so that compiling it up front is meaningful. */
function looksLikeSnapshot(value: unknown): value is Snapshot {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as { flags?: unknown }).flags);
}

function runEvaluate(file: SpecFile, testCase: EvaluateCase): void {
  const { flag, context, random } = testCase.input;
  const snapshot = snapshotFor(file, testCase) as unknown as Snapshot;
  const defaultValue = testCase.input.default as JsonValue;
  const options = random === undefined ? { regex: RE2JS } : { random: () => random, regex: RE2JS };
  const plain = evaluate(snapshot, flag, context as EvaluationContext, defaultValue, options);
  const mismatches = compareEvaluation(testCase.expected, plain);
  if (looksLikeSnapshot(snapshot)) {
    // The same answer must come from a snapshot compiled ahead of time.
    const compiled = evaluate(compiledFor(snapshot), flag, context as EvaluationContext, defaultValue, options);
    mismatches.push(...compareEvaluation(testCase.expected, compiled).map((line) => `compiled snapshot: ${line}`));
  }
  expect(mismatches, `result ${JSON.stringify(plain)}`).toEqual([]);
}

function runCase(file: SpecFile, testCase: SpecCase): void {
  switch (testCase.kind) {
    case 'evaluate':
      runEvaluate(file, testCase);
      return;
    case 'hash': {
      const { key, seed, encoding } = testCase.input;
      const hash = encoding === 'utf8' ? murmur3(key, seed) : murmur3CharCodes(key, seed);
      expect(hash).toBe(testCase.expected.hash);
      return;
    }
    case 'bucket':
      expect(bucket(testCase.input.salt, testCase.input.value)).toBe(testCase.expected.bucket);
      return;
    case 'unleashHash': {
      const { id, groupId, normalizer, seed } = testCase.input;
      expect(unleashNormalizedHash(id, groupId, normalizer, seed)).toBe(testCase.expected.value);
      return;
    }
    case 'pattern': {
      const check = checkRegexPattern(testCase.input.pattern, RE2JS);
      expect(check.ok).toBe(testCase.expected.valid);
      if (!check.ok) expect(check.reason, 'a refused pattern says why').toMatch(/\S/);
      return;
    }
  }
}

describe('conformance suite', () => {
  it('has at least 250 cases', () => {
    const total = files.reduce((sum, file) => sum + file.cases.length, 0);
    expect(total).toBeGreaterThanOrEqual(250);
  });
});

for (const file of files) {
  describe(`spec/cases/${file.name}.json`, () => {
    for (const testCase of file.cases) {
      it(testCase.name, () => runCase(file, testCase));
    }
  });
}
