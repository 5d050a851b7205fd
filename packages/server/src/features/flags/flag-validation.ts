/**
 * Checks of flag configurations against the rest of the project: the core's
 * validation of one flag, plus what spans flags (prerequisites that name real
 * flags and variations, no cycles, no over-deep chains). Pure functions over
 * what the service read in its transaction.
 */
import { RE2JS } from 're2js';
import type { FlagEnvironmentConfig } from '@rollgate/contract';
import { findPrerequisiteProblems, validateFlag, type FlagConfig, type FlagType, type Prerequisite, type Variation } from '@rollgate/core';
import { ApiError } from '../../http/errors.js';

/** One problem, located by a path from the request body. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** What a configuration is checked against, as read in the writing transaction. */
export interface ConfigCheckContext {
  /** Keys of the project's segments that are not archived. */
  segments: ReadonlySet<string>;
  /** The project's active flags, by key, with their variations. */
  activeFlags: ReadonlyMap<string, readonly Variation[]>;
  /** Prerequisites of every active flag in the environment, by flag key (the flag being checked included or not). */
  environmentPrerequisites: ReadonlyMap<string, readonly Prerequisite[] | undefined>;
}

function prefix(base: string, path: string): string {
  if (path === '') return base;
  return path.startsWith('[') ? `${base}${path}` : `${base}.${path}`;
}

/** The configuration as the core sees it. */
export function toFlagConfig(flag: { key: string; type: FlagType; variations: readonly Variation[] }, config: FlagEnvironmentConfig): FlagConfig {
  return { key: flag.key, type: flag.type, variations: flag.variations, ...config };
}

/**
 * Every problem of `config` for `flag` in one environment; paths start at
 * `base` (`config` for a request body).
 */
export function checkFlagConfig(
  flag: { key: string; type: FlagType; variations: readonly Variation[] },
  config: FlagEnvironmentConfig,
  context: ConfigCheckContext,
  base = 'config',
): ConfigIssue[] {
  const issues: ConfigIssue[] = validateFlag(toFlagConfig(flag, config), { segments: context.segments, regex: RE2JS }).map((i) => ({
    path: /^(key|type|variations)\b/.test(i.path) ? i.path : prefix(base, i.path),
    message: i.message,
  }));
  const prerequisites = config.prerequisites ?? [];
  prerequisites.forEach((p, i) => {
    const path = `${base}.prerequisites[${i}]`;
    if (p.flag === flag.key) return; // a cycle of one: reported below
    const variations = context.activeFlags.get(p.flag);
    if (variations === undefined) {
      issues.push({ path: `${path}.flag`, message: `no active flag ${JSON.stringify(p.flag)} in this project (it does not exist or is archived)` });
      return;
    }
    const keys = new Set(variations.map((v) => v.key));
    p.variations.forEach((v, j) => {
      if (!keys.has(v)) issues.push({ path: `${path}.variations[${j}]`, message: `flag ${JSON.stringify(p.flag)} has no variation ${JSON.stringify(v)}` });
    });
  });
  if (prerequisites.length > 0) {
    // Only new problems count: a change that adds prerequisites is what can close a cycle or deepen a chain.
    const before = findPrerequisiteProblems(new Map([...context.environmentPrerequisites].map(([k, prerequisites]) => [k, { prerequisites }])));
    const after = new Map([...context.environmentPrerequisites].map(([k, prerequisites]) => [k, { prerequisites }]));
    after.set(flag.key, { prerequisites });
    for (const [key, message] of findPrerequisiteProblems(after)) {
      if (before.get(key) === message) continue;
      issues.push({ path: `${base}.prerequisites`, message: key === flag.key ? message : `${message} (flag ${JSON.stringify(key)})` });
    }
  }
  return issues;
}

/** The 400 for a configuration with problems. */
export function invalidConfiguration(issues: ConfigIssue[], what = 'configuration'): ApiError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new ApiError('INVALID_CONFIGURATION', `Invalid ${what}${first ? `: ${first.path ? `${first.path}: ` : ''}${first.message}` : ''}${more}`, { issues });
}
