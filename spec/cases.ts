/**
 * Loader and checker of the conformance suite (`spec/cases/*.json`, format in
 * `spec/README.md`). Every Rollgate evaluator runs these cases: the core, the
 * SDKs and the server. This module knows nothing about any evaluator; it reads
 * and validates the files and compares a result with an expectation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The only format version this loader reads. */
export const SPEC_VERSION = 1;

/** Any JSON value. */
export type SpecJson = null | boolean | number | string | SpecJson[] | { [key: string]: SpecJson };

/** OpenFeature reasons an evaluation can return. */
export type SpecReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

/** OpenFeature error codes an evaluation can return. */
export type SpecErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'PARSE_ERROR' | 'GENERAL';

/** The kinds of case, each checked against one function of the evaluator. */
export type SpecCaseKind = 'evaluate' | 'hash' | 'bucket' | 'unleashHash' | 'pattern';

export interface EvaluateInput {
  flag: string;
  context: { [attribute: string]: SpecJson };
  /** The caller's default; absent means `undefined`. */
  default?: SpecJson;
  /**
   * Replaces the file's snapshot for this case when the key is present, even
   * when its value is `null` (use {@link snapshotFor} to resolve it).
   */
  snapshot?: SpecJson;
  /** When present, the evaluation's random source returns this number. */
  random?: number;
}

/**
 * The expected result. `value` absent means `undefined`; `variant` absent means
 * `undefined`; `ruleId`, `errorCode` and `prerequisite` absent mean they must
 * be absent from the result. `errorMessage` is never compared.
 */
export interface EvaluateExpected {
  value?: SpecJson;
  variant?: string;
  reason: SpecReason;
  ruleId?: string;
  errorCode?: SpecErrorCode;
  prerequisite?: string;
}

interface CaseBase {
  /** Unique within its file. */
  name: string;
  description?: string;
}

export interface EvaluateCase extends CaseBase {
  kind: 'evaluate';
  input: EvaluateInput;
  expected: EvaluateExpected;
}

export interface HashCase extends CaseBase {
  kind: 'hash';
  /** `utf8`: murmur3 x86 32 over UTF-8 bytes; `charCodes`: over the low byte of each UTF-16 code unit. */
  input: { key: string; seed: number; encoding: 'utf8' | 'charCodes' };
  expected: { hash: number };
}

export interface BucketCase extends CaseBase {
  kind: 'bucket';
  input: { salt: string; value: string };
  expected: { bucket: number };
}

export interface UnleashHashCase extends CaseBase {
  kind: 'unleashHash';
  /** `normalizer` and `seed` absent mean the function's defaults (100 and 0). */
  input: { id: string; groupId: string; normalizer?: number; seed?: number };
  expected: { value: number };
}

export interface PatternCase extends CaseBase {
  kind: 'pattern';
  input: { pattern: string };
  expected: { valid: boolean };
}

export type SpecCase = EvaluateCase | HashCase | BucketCase | UnleashHashCase | PatternCase;

export interface SpecFile {
  specVersion: 1;
  /** Equal to the file's base name without `.json`. */
  name: string;
  description: string;
  /** The snapshot evaluate cases use unless they bring their own. */
  snapshot?: SpecJson;
  cases: SpecCase[];
  /** Absolute path of the file that was read. */
  path: string;
}

/** The fields of an evaluation result that the suite looks at. */
export interface EvaluationOutcome {
  readonly value?: unknown;
  readonly variant?: unknown;
  readonly reason?: unknown;
  readonly ruleId?: unknown;
  readonly errorCode?: unknown;
  readonly prerequisite?: unknown;
  readonly errorMessage?: unknown;
}

const CASES_DIR = fileURLToPath(new URL('./cases/', import.meta.url));

const REASONS: readonly SpecReason[] = ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR'];
const ERROR_CODES: readonly SpecErrorCode[] = ['FLAG_NOT_FOUND', 'TYPE_MISMATCH', 'PARSE_ERROR', 'GENERAL'];
const KINDS: readonly SpecCaseKind[] = ['evaluate', 'hash', 'bucket', 'unleashHash', 'pattern'];

/**
 * Reads and validates every `spec/cases/*.json`, sorted by file name.
 * Throws an error naming the file (and the case) on anything malformed: bad
 * JSON, a `specVersion` other than 1, an unknown kind, a duplicate case name
 * within a file, a missing or mistyped field, or an unknown key (so that a
 * misspelt expectation cannot silently go unchecked).
 *
 * @example
 * for (const file of loadSpecCases()) for (const c of file.cases) console.log(file.name, c.name);
 */
export function loadSpecCases(): SpecFile[] {
  const names = readdirSync(CASES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
  if (names.length === 0) throw new Error(`spec: no case files in ${CASES_DIR}`);
  return names.map((name) => {
    const path = join(CASES_DIR, name);
    const where = `spec/cases/${name}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new SpecFormatError(`${where}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return parseSpecFile(parsed, name.slice(0, -'.json'.length), path, where);
  });
}

/**
 * The snapshot an evaluate case runs against: its own `input.snapshot` when
 * that key is present (whatever its value, `null` included), else the file's.
 */
export function snapshotFor(file: SpecFile, testCase: EvaluateCase): SpecJson | undefined {
  return Object.hasOwn(testCase.input, 'snapshot') ? testCase.input.snapshot : file.snapshot;
}

/**
 * Compares an evaluation result with a case's expectation and returns one
 * human-readable line per mismatch; an empty array means it conforms.
 * `value` (deep equality), `variant` and `reason` are always compared;
 * `ruleId`, `errorCode` and `prerequisite` must equal the expectation when it
 * has them and be `undefined` when it does not. `errorMessage` is ignored.
 *
 * @example
 * compareEvaluation({ value: true, variant: 'on', reason: 'STATIC' }, result); // [] when it conforms
 */
export function compareEvaluation(expected: EvaluateExpected, actual: EvaluationOutcome | null | undefined): string[] {
  if (typeof actual !== 'object' || actual === null) {
    return [`result: expected an object, got ${describe(actual)}`];
  }
  const mismatches: string[] = [];
  if (!jsonEqual(expected.value, actual.value)) {
    mismatches.push(`value: expected ${describe(expected.value)}, got ${describe(actual.value)}`);
  }
  for (const field of ['variant', 'reason', 'ruleId', 'errorCode', 'prerequisite'] as const) {
    const want = expected[field];
    const got = actual[field];
    if (want !== got) {
      const wanted = want === undefined ? 'absent' : describe(want);
      mismatches.push(`${field}: expected ${wanted}, got ${got === undefined ? 'absent' : describe(got)}`);
    }
  }
  return mismatches;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Deep equality of JSON values; `undefined` equals only `undefined`, and -0 equals 0 as in JSON. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => left[key] !== undefined);
  const otherKeys = Object.keys(right).filter((key) => right[key] !== undefined);
  if (keys.length !== otherKeys.length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}

// ---------------------------------------------------------------------------
// Validation. Each check throws with the file and the case it is about.

class SpecFormatError extends Error {
  override name = 'SpecFormatError';
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJson(value: unknown, depth = 0): value is SpecJson {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (isRecord(value)) return Object.values(value).every((item) => isJson(item, depth + 1));
  return false;
}

function onlyKeys(value: Json, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new SpecFormatError(`${where}: unknown key(s) ${unknown.map((key) => JSON.stringify(key)).join(', ')} (allowed: ${allowed.join(', ')})`);
  }
}

function record(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new SpecFormatError(`${where}: expected an object, got ${describe(value)}`);
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new SpecFormatError(`${where}: expected a string, got ${describe(value)}`);
  return value;
}

function nonEmptyString(value: unknown, where: string): string {
  const text = string(value, where);
  if (text.trim() === '') throw new SpecFormatError(`${where}: must not be empty`);
  return text;
}

function integer(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SpecFormatError(`${where}: expected an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

function optional<T>(container: Json, key: string, where: string, read: (value: unknown, where: string) => T): T | undefined {
  return Object.hasOwn(container, key) ? read(container[key], `${where}.${key}`) : undefined;
}

function json(value: unknown, where: string): SpecJson {
  if (!isJson(value)) throw new SpecFormatError(`${where}: not a JSON value`);
  return value;
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: unknown, where: string): T => {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new SpecFormatError(`${where}: expected one of ${allowed.join(', ')}, got ${describe(value)}`);
    }
    return value as T;
  };
}

function parseSpecFile(raw: unknown, baseName: string, path: string, where: string): SpecFile {
  try {
    const file = record(raw, 'file');
    onlyKeys(file, ['specVersion', 'name', 'description', 'snapshot', 'cases'], 'file');
    if (file.specVersion !== SPEC_VERSION) {
      throw new SpecFormatError(`specVersion: this loader reads version ${SPEC_VERSION}, got ${describe(file.specVersion)}`);
    }
    const name = nonEmptyString(file.name, 'name');
    if (name !== baseName) throw new SpecFormatError(`name: must equal the file's base name ${JSON.stringify(baseName)}, got ${JSON.stringify(name)}`);
    const description = nonEmptyString(file.description, 'description');
    const snapshot = optional(file, 'snapshot', 'file', json);
    if (!Array.isArray(file.cases) || file.cases.length === 0) throw new SpecFormatError('cases: expected a non-empty array');
    const seen = new Set<string>();
    const cases = file.cases.map((rawCase: unknown, index: number): SpecCase => {
      const label = isRecord(rawCase) && typeof rawCase.name === 'string' ? `cases[${index}] (${JSON.stringify(rawCase.name)})` : `cases[${index}]`;
      const parsed = parseCase(rawCase, label);
      if (seen.has(parsed.name)) throw new SpecFormatError(`${label}: duplicate case name in this file`);
      seen.add(parsed.name);
      if (parsed.kind === 'evaluate' && !Object.hasOwn(parsed.input, 'snapshot') && snapshot === undefined) {
        throw new SpecFormatError(`${label}: an evaluate case needs input.snapshot or a file-level snapshot`);
      }
      return parsed;
    });
    const result: SpecFile = { specVersion: SPEC_VERSION, name, description, cases, path };
    if (snapshot !== undefined) result.snapshot = snapshot;
    return result;
  } catch (error) {
    if (error instanceof SpecFormatError) throw new SpecFormatError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

function parseCase(raw: unknown, where: string): SpecCase {
  const testCase = record(raw, where);
  onlyKeys(testCase, ['name', 'kind', 'description', 'input', 'expected'], where);
  const name = nonEmptyString(testCase.name, `${where}.name`);
  const kind = oneOf(KINDS)(testCase.kind, `${where}.kind`);
  const description = optional(testCase, 'description', where, string);
  const input = record(testCase.input, `${where}.input`);
  const expected = record(testCase.expected, `${where}.expected`);
  const base: CaseBase = description === undefined ? { name } : { name, description };
  const inWhere = `${where}.input`;
  const exWhere = `${where}.expected`;
  switch (kind) {
    case 'evaluate':
      return { ...base, kind, input: parseEvaluateInput(input, inWhere), expected: parseEvaluateExpected(expected, exWhere) };
    case 'hash': {
      onlyKeys(input, ['key', 'seed', 'encoding'], inWhere);
      onlyKeys(expected, ['hash'], exWhere);
      return {
        ...base,
        kind,
        input: {
          key: string(input.key, `${inWhere}.key`),
          seed: integer(input.seed, `${inWhere}.seed`, 0, 0xffffffff),
          encoding: oneOf(['utf8', 'charCodes'] as const)(input.encoding, `${inWhere}.encoding`),
        },
        expected: { hash: integer(expected.hash, `${exWhere}.hash`, 0, 0xffffffff) },
      };
    }
    case 'bucket':
      onlyKeys(input, ['salt', 'value'], inWhere);
      onlyKeys(expected, ['bucket'], exWhere);
      return {
        ...base,
        kind,
        input: { salt: string(input.salt, `${inWhere}.salt`), value: string(input.value, `${inWhere}.value`) },
        expected: { bucket: integer(expected.bucket, `${exWhere}.bucket`, 0, 99_999) },
      };
    case 'unleashHash': {
      onlyKeys(input, ['id', 'groupId', 'normalizer', 'seed'], inWhere);
      onlyKeys(expected, ['value'], exWhere);
      const parsed: UnleashHashCase['input'] = { id: string(input.id, `${inWhere}.id`), groupId: string(input.groupId, `${inWhere}.groupId`) };
      const normalizer = optional(input, 'normalizer', inWhere, (value, at) => integer(value, at, 1, 0xffffffff));
      const seed = optional(input, 'seed', inWhere, (value, at) => integer(value, at, 0, 0xffffffff));
      if (normalizer !== undefined) parsed.normalizer = normalizer;
      if (seed !== undefined) parsed.seed = seed;
      return { ...base, kind, input: parsed, expected: { value: integer(expected.value, `${exWhere}.value`, 1, 0xffffffff) } };
    }
    case 'pattern':
      onlyKeys(input, ['pattern'], inWhere);
      onlyKeys(expected, ['valid'], exWhere);
      if (typeof expected.valid !== 'boolean') throw new SpecFormatError(`${exWhere}.valid: expected a boolean, got ${describe(expected.valid)}`);
      return { ...base, kind, input: { pattern: string(input.pattern, `${inWhere}.pattern`) }, expected: { valid: expected.valid } };
  }
}

function parseEvaluateInput(input: Json, where: string): EvaluateInput {
  onlyKeys(input, ['flag', 'context', 'default', 'snapshot', 'random'], where);
  const context = record(input.context, `${where}.context`);
  const parsed: EvaluateInput = { flag: string(input.flag, `${where}.flag`), context: json(context, `${where}.context`) as EvaluateInput['context'] };
  if (Object.hasOwn(input, 'default')) parsed.default = json(input.default, `${where}.default`);
  if (Object.hasOwn(input, 'snapshot')) parsed.snapshot = json(input.snapshot, `${where}.snapshot`);
  if (Object.hasOwn(input, 'random')) {
    const random = input.random;
    if (typeof random !== 'number' || !(random >= 0 && random < 1)) {
      throw new SpecFormatError(`${where}.random: expected a number in [0, 1), got ${describe(random)}`);
    }
    parsed.random = random;
  }
  return parsed;
}

function parseEvaluateExpected(expected: Json, where: string): EvaluateExpected {
  onlyKeys(expected, ['value', 'variant', 'reason', 'ruleId', 'errorCode', 'prerequisite'], where);
  const parsed: EvaluateExpected = { reason: oneOf(REASONS)(expected.reason, `${where}.reason`) };
  if (Object.hasOwn(expected, 'value')) parsed.value = json(expected.value, `${where}.value`);
  const variant = optional(expected, 'variant', where, string);
  const ruleId = optional(expected, 'ruleId', where, string);
  const errorCode = optional(expected, 'errorCode', where, oneOf(ERROR_CODES));
  const prerequisite = optional(expected, 'prerequisite', where, string);
  if (variant !== undefined) parsed.variant = variant;
  if (ruleId !== undefined) parsed.ruleId = ruleId;
  if (errorCode !== undefined) parsed.errorCode = errorCode;
  if (prerequisite !== undefined) parsed.prerequisite = prerequisite;
  if ((parsed.reason === 'ERROR') !== (errorCode !== undefined)) {
    throw new SpecFormatError(`${where}: errorCode must be given exactly when reason is ERROR`);
  }
  return parsed;
}
