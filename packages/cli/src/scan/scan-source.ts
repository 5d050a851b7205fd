/**
 * Finds the flag keys a source tree references, and compares them with a
 * project's flags: which flags are ready to remove (served the same to
 * everyone, archived, or not referenced at all), where each is still used,
 * and which keys the code uses that the project does not have.
 *
 * Matching is by pattern, not by parsing: calls of the usual SDK methods in
 * JavaScript/TypeScript, Python, Go and Java (Rollgate's, OpenFeature's and
 * Unleash's names), your own patterns, and, for the project's known keys,
 * any string literal holding one (generic matches, in any text file).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

/** One place a flag key appears. */
export interface FlagReference {
  key: string;
  /** Path relative to the scanned directory, with `/` separators. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  /** `call`: an SDK call pattern of the file's language; `pattern`: one of yours; `string`: a string literal equal to a known key. */
  kind: 'call' | 'pattern' | 'string';
}

export interface ScanOptions {
  /** Extra patterns, each a regular expression whose first capture group is the flag key, e.g. `flagOn\\(\\s*"([\\w.-]+)"`. */
  patterns?: readonly string[];
  /** Keys whose string literals count as references anywhere (usually the project's flag keys). */
  knownKeys?: Iterable<string>;
  /** Also match string literals equal to a known key (default true). */
  genericStrings?: boolean;
  /** File extensions scanned, with the dot; default the languages below plus common config formats. */
  extensions?: readonly string[];
  /** Directory names skipped anywhere in the tree; default node_modules, .git, dist, build, vendor, target, coverage. */
  ignoreDirectories?: readonly string[];
  /** Files larger than this many bytes are skipped (default 1 MB). */
  maxFileBytes?: number;
}

const JS_LIKE = ['.js', '.jsx', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts', '.vue', '.svelte'];
const DEFAULT_EXTENSIONS = [...JS_LIKE, '.py', '.go', '.java', '.kt', '.json', '.yaml', '.yml', '.toml', '.properties', '.html'];
const DEFAULT_IGNORED = ['node_modules', '.git', 'dist', 'build', 'vendor', 'target', 'coverage', '.venv', '__pycache__'];
const KEY = '[A-Za-z0-9][A-Za-z0-9._-]{0,99}';

/** SDK call patterns per language; the key is the last capture group. */
const CALLS: readonly { extensions: readonly string[]; pattern: RegExp }[] = [
  {
    // isEnabled('k'), getVariant("k"), evaluate(`k`), useFlag('k'), client.getBooleanValue('k', ...), variation('k', ...)
    extensions: JS_LIKE,
    pattern: new RegExp(
      String.raw`\b(?:isEnabled|getVariant|evaluate|variation|useFlag|useFlagValue|useFlags?Details?|get(?:Boolean|String|Number|Object)(?:Value|Details))\s*(?:<[^>()]*>)?\(\s*(['"\x60])(${KEY})\1`,
      'g',
    ),
  },
  {
    extensions: ['.py'],
    pattern: new RegExp(String.raw`\b(?:is_enabled|get_variant|evaluate|variation|get_(?:boolean|string|integer|float|object)_(?:value|details))\s*\(\s*(['"])(${KEY})\1`, 'g'),
  },
  {
    // IsEnabled("k"), GetVariant("k"), client.BooleanValue(ctx, "k", false, evalCtx)
    extensions: ['.go'],
    pattern: new RegExp(String.raw`\b(?:IsEnabled|GetVariant|Evaluate|(?:Boolean|String|Int|Float|Object)Value(?:Details)?)\s*\(\s*(?:[A-Za-z_][\w.]*\s*,\s*)?(")(${KEY})"`, 'g'),
  },
  {
    extensions: ['.java', '.kt'],
    pattern: new RegExp(String.raw`\b(?:isEnabled|getVariant|evaluate|variation|get(?:Boolean|String|Integer|Double|Object)(?:Value|Details))\s*\(\s*(")(${KEY})"`, 'g'),
  },
];

const STRING_LITERAL = /(['"`])([A-Za-z0-9][A-Za-z0-9._-]{0,99})\1/g;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function position(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
}

/**
 * Finds flag references in files already read. Pure: the same files give the
 * same references, in file order then position. A place matched by several
 * patterns is reported once, with the most specific kind (call, pattern, string).
 *
 * @example
 * findFlagReferences([{ path: 'src/app.ts', content: "if (client.isEnabled('new-checkout')) {}" }]);
 * // [{ key: 'new-checkout', file: 'src/app.ts', line: 1, column: 22, kind: 'call' }]
 */
export function findFlagReferences(files: readonly { path: string; content: string }[], options: ScanOptions = {}): FlagReference[] {
  const custom = (options.patterns ?? []).map((p) => {
    try {
      return new RegExp(p, 'g');
    } catch (e) {
      throw new Error(`scan pattern ${JSON.stringify(p)} is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  });
  const known = new Set(options.knownKeys ?? []);
  const generic = options.genericStrings !== false && known.size > 0;
  const out: FlagReference[] = [];
  for (const file of files) {
    const ext = extname(file.path).toLowerCase();
    const starts = lineStarts(file.content);
    const seen = new Set<number>();
    const add = (key: string, offset: number, kind: FlagReference['kind']) => {
      if (seen.has(offset)) return;
      seen.add(offset);
      out.push({ key, file: file.path, ...position(starts, offset), kind });
    };
    for (const call of CALLS) {
      if (!call.extensions.includes(ext)) continue;
      for (const m of file.content.matchAll(call.pattern)) {
        const key = m[2] as string;
        add(key, (m.index ?? 0) + m[0].lastIndexOf(key), 'call');
      }
    }
    for (const re of custom) {
      for (const m of file.content.matchAll(re)) {
        const key = m[1];
        if (key === undefined || key === '') continue;
        add(key, (m.index ?? 0) + Math.max(0, m[0].indexOf(key)), 'pattern');
      }
    }
    if (generic) {
      for (const m of file.content.matchAll(STRING_LITERAL)) {
        const key = m[2] as string;
        if (known.has(key)) add(key, (m.index ?? 0) + 1, 'string');
      }
    }
  }
  out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  return out;
}

/**
 * Reads a source tree and finds its flag references (see {@link findFlagReferences}).
 *
 * @example
 * const refs = await scanSourceTree('./src', { knownKeys: flags.map((f) => f.key) });
 */
export async function scanSourceTree(directory: string, options: ScanOptions = {}): Promise<FlagReference[]> {
  const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
  const ignored = new Set(options.ignoreDirectories ?? DEFAULT_IGNORED);
  const maxBytes = options.maxFileBytes ?? 1_000_000;
  const files: { path: string; content: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!ignored.has(entry.name)) await walk(full);
      } else if (entry.isFile() && extensions.has(extname(entry.name).toLowerCase())) {
        if ((await stat(full)).size > maxBytes) continue;
        files.push({ path: relative(directory, full).split(sep).join('/'), content: await readFile(full, 'utf8') });
      }
    }
  };
  await walk(directory);
  return findFlagReferences(files, options);
}

/** What the scan needs to know of one of the project's flags. */
export interface ProjectFlag {
  key: string;
  archived: boolean;
  /** Its configuration per environment (the server API's shape). */
  environments: Record<
    string,
    {
      enabled: boolean;
      offVariation: string;
      prerequisites?: readonly unknown[];
      targets?: readonly unknown[];
      rules?: readonly unknown[];
      fallthrough: { variation?: string; rollout?: { percentage: number; variation?: string; variants?: readonly { variation: string; weight: number }[] } };
    }
  >;
}

/** Why a flag can go. */
export type RemovalReason = 'archived' | 'served-to-everyone' | 'unused';

export interface CleanupReport {
  /** Flags that can be removed from the code (and then the project), with where they are still used. */
  readyToRemove: { key: string; reason: RemovalReason; detail: string; usedAt: string[] }[];
  /** Keys used in the code that the project does not have. */
  unknownKeys: { key: string; usedAt: string[] }[];
  /** Flags still in use and still deciding something, with where they are used. */
  inUse: { key: string; usedAt: string[] }[];
}

/** The one variation a configuration serves to every context, if it does. */
function servedToEveryone(config: ProjectFlag['environments'][string]): string | undefined {
  if (!config.enabled) return config.offVariation;
  if ((config.prerequisites?.length ?? 0) > 0 || (config.targets?.length ?? 0) > 0 || (config.rules?.length ?? 0) > 0) return undefined;
  const f = config.fallthrough;
  if (f.variation !== undefined) return f.variation;
  const r = f.rollout;
  if (r === undefined || r.percentage < 100) return undefined;
  if (r.variation !== undefined) return r.variation;
  const weighted = (r.variants ?? []).filter((v) => v.weight > 0);
  return weighted.length === 1 ? weighted[0]?.variation : undefined;
}

/**
 * Compares references with the project's flags.
 *
 * @example
 * const report = flagCleanupReport(await scanSourceTree('.', { knownKeys }), flags);
 * for (const f of report.readyToRemove) console.log(f.key, f.reason, f.usedAt.join(', '));
 */
export function flagCleanupReport(references: readonly FlagReference[], flags: readonly ProjectFlag[]): CleanupReport {
  const usedAt = new Map<string, string[]>();
  const calledKeys = new Set<string>();
  for (const r of references) {
    const list = usedAt.get(r.key) ?? [];
    list.push(`${r.file}:${r.line}`);
    usedAt.set(r.key, list);
    if (r.kind !== 'string') calledKeys.add(r.key);
  }
  const known = new Set(flags.map((f) => f.key));
  const report: CleanupReport = { readyToRemove: [], unknownKeys: [], inUse: [] };
  for (const flag of [...flags].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const where = usedAt.get(flag.key) ?? [];
    if (flag.archived) {
      report.readyToRemove.push({ key: flag.key, reason: 'archived', detail: 'archived in the project', usedAt: where });
      continue;
    }
    const served = Object.entries(flag.environments).map(([env, config]) => [env, servedToEveryone(config)] as const);
    const variations = new Set(served.map(([, v]) => v));
    const single = served.length > 0 && variations.size === 1 ? served[0]?.[1] : undefined;
    if (single !== undefined) {
      report.readyToRemove.push({ key: flag.key, reason: 'served-to-everyone', detail: `serves ${JSON.stringify(single)} to everyone in every environment`, usedAt: where });
    } else if (where.length === 0) {
      report.readyToRemove.push({ key: flag.key, reason: 'unused', detail: 'not referenced in the scanned code', usedAt: [] });
    } else {
      report.inUse.push({ key: flag.key, usedAt: where });
    }
  }
  for (const key of [...calledKeys].sort()) {
    if (!known.has(key)) report.unknownKeys.push({ key, usedAt: usedAt.get(key) ?? [] });
  }
  return report;
}
