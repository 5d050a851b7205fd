/**
 * The project document of `rollgate export` and `rollgate import`: a whole
 * project (environments, segments, flags with their configuration in every
 * environment, plans) as one versioned JSON document. Import matches by key,
 * so importing the same document twice changes nothing the second time.
 */
import { z } from 'zod';
import { flagEnvironmentConfigSchema, segmentDefinitionSchema, variationSchema } from '@rollgate/contract';
import type { ApiClient } from './api-client.js';
import { CliError, EXIT } from './errors.js';

export const PROJECT_DOCUMENT_FORMAT = 'rollgate-project';
export const PROJECT_DOCUMENT_VERSION = 1;

/** Rules a rollout adds to a flag (and removes when it ends): runtime state, never exported. */
export const OWNED_RULE_PREFIX = 'rollout:';

const key = z.string().min(1).max(100);

export const projectDocumentSchema = z.strictObject({
  format: z.literal(PROJECT_DOCUMENT_FORMAT),
  formatVersion: z.literal(PROJECT_DOCUMENT_VERSION),
  exportedAt: z.string().optional(),
  project: z.strictObject({ key, name: z.string(), description: z.string().default('') }),
  environments: z.array(z.strictObject({ key, name: z.string(), requiresApproval: z.boolean().default(false) })),
  segments: z.array(z.strictObject({ key, name: z.string(), description: z.string().default(''), definition: segmentDefinitionSchema })),
  flags: z.array(
    z.strictObject({
      key,
      name: z.string(),
      description: z.string().default(''),
      type: z.enum(['boolean', 'string', 'number', 'json']),
      variations: z.array(variationSchema),
      tags: z.array(z.string()).default([]),
      environments: z.record(z.string(), flagEnvironmentConfigSchema),
    }),
  ),
  plans: z.array(z.strictObject({ key, name: z.string(), description: z.string().default(''), definition: z.record(z.string(), z.unknown()) })),
});

export type ProjectDocument = z.infer<typeof projectDocumentSchema>;
type FlagConfig = ProjectDocument['flags'][number]['environments'][string];

/** JSON with sorted keys: equal documents compare equal whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const withoutOwnedRules = (config: FlagConfig): FlagConfig => ({ ...config, rules: (config.rules ?? []).filter((r) => !r.id?.startsWith(OWNED_RULE_PREFIX)) });

const base = (project: string) => `/api/projects/${encodeURIComponent(project)}`;

/** Reads a whole project into a document. */
export async function exportProject(client: ApiClient, projectKey: string, now: Date, progress: (what: string) => void = () => undefined): Promise<ProjectDocument> {
  const p = base(projectKey);
  const project = await client.get<{ key: string; name: string; description: string }>(p);
  progress('environments');
  const environments = (await client.get<{ items: { key: string; name: string; requiresApproval: boolean }[] }>(`${p}/environments`)).items;
  progress('segments');
  const segments = await client.all<{ key: string; name: string; description: string; definition: ProjectDocument['segments'][number]['definition'] }>(`${p}/segments`);
  progress('flags');
  const flags = await client.all<{ key: string; name: string; description: string; type: ProjectDocument['flags'][number]['type']; variations: ProjectDocument['flags'][number]['variations']; tags: string[]; environments: Record<string, { config: FlagConfig }> }>(`${p}/flags`);
  progress('plans');
  const planList = await client.all<{ key: string }>(`${p}/plans`);
  const plans: ProjectDocument['plans'] = [];
  for (const summary of planList) {
    const plan = await client.get<{ key: string; name: string; description: string; definition: Record<string, unknown> }>(`${p}/plans/${encodeURIComponent(summary.key)}`);
    plans.push({ key: plan.key, name: plan.name, description: plan.description, definition: plan.definition });
  }
  return {
    format: PROJECT_DOCUMENT_FORMAT,
    formatVersion: PROJECT_DOCUMENT_VERSION,
    exportedAt: now.toISOString(),
    project: { key: project.key, name: project.name, description: project.description },
    environments: environments.map((e) => ({ key: e.key, name: e.name, requiresApproval: e.requiresApproval })),
    segments: segments.map((s) => ({ key: s.key, name: s.name, description: s.description, definition: s.definition })),
    flags: flags.map((f) => ({
      key: f.key,
      name: f.name,
      description: f.description,
      type: f.type,
      variations: f.variations,
      tags: f.tags,
      environments: Object.fromEntries(Object.entries(f.environments).map(([env, e]) => [env, withoutOwnedRules(e.config)])),
    })),
    plans,
  };
}

/** One line of an import's outcome. */
export interface ImportChange {
  resource: 'project' | 'environment' | 'segment' | 'flag' | 'flag-config' | 'plan';
  key: string;
  action: 'created' | 'updated' | 'unchanged' | 'change-request';
  detail?: string;
}

const isNotFound = (e: unknown) => e instanceof CliError && e.exitCode === EXIT.notFound;

async function getOrUndefined<T>(client: ApiClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Creates what the project lacks and updates what differs, by key, in an
 * order where every reference exists first (segments and environments before
 * flags and plans, every flag before any configuration that may name it as a
 * prerequisite). With `dryRun` it only reads and says what it would do.
 */
export async function importProject(
  client: ApiClient,
  doc: ProjectDocument,
  options: { projectKey?: string; dryRun?: boolean; progress?: (what: string) => void } = {},
): Promise<ImportChange[]> {
  const dry = options.dryRun === true;
  const progress = options.progress ?? (() => undefined);
  const projectKey = options.projectKey ?? doc.project.key;
  const p = base(projectKey);
  const changes: ImportChange[] = [];
  const note = (c: ImportChange) => changes.push(c);

  const project = await getOrUndefined<{ name: string; description: string; version: number }>(client, p);
  if (project === undefined) {
    if (!dry) await client.post('/api/projects', { key: projectKey, name: doc.project.name, description: doc.project.description });
    note({ resource: 'project', key: projectKey, action: 'created' });
  } else if (project.name !== doc.project.name || project.description !== doc.project.description) {
    if (!dry) await client.patch(p, { version: project.version, name: doc.project.name, description: doc.project.description });
    note({ resource: 'project', key: projectKey, action: 'updated' });
  } else note({ resource: 'project', key: projectKey, action: 'unchanged' });
  const fresh = project === undefined;

  progress('environments');
  const envs = fresh ? [] : (await client.get<{ items: { key: string; name: string; requiresApproval: boolean; version: number }[] }>(`${p}/environments`)).items;
  for (const e of doc.environments) {
    const current = envs.find((x) => x.key === e.key);
    if (current === undefined) {
      if (!dry) await client.post(`${p}/environments`, { key: e.key, name: e.name, requiresApproval: e.requiresApproval });
      note({ resource: 'environment', key: e.key, action: 'created' });
    } else if (current.name !== e.name || current.requiresApproval !== e.requiresApproval) {
      if (!dry) await client.patch(`${p}/environments/${encodeURIComponent(e.key)}`, { version: current.version, name: e.name, requiresApproval: e.requiresApproval });
      note({ resource: 'environment', key: e.key, action: 'updated' });
    } else note({ resource: 'environment', key: e.key, action: 'unchanged' });
  }

  progress('segments');
  const segments = fresh ? [] : await client.all<{ key: string; name: string; description: string; definition: unknown; version: number }>(`${p}/segments`);
  for (const s of doc.segments) {
    const current = segments.find((x) => x.key === s.key);
    if (current === undefined) {
      if (!dry) await client.post(`${p}/segments`, s);
      note({ resource: 'segment', key: s.key, action: 'created' });
    } else if (current.name !== s.name || current.description !== s.description || canonical(current.definition) !== canonical(s.definition)) {
      if (!dry) await client.patch(`${p}/segments/${encodeURIComponent(s.key)}`, { version: current.version, name: s.name, description: s.description, definition: s.definition });
      note({ resource: 'segment', key: s.key, action: 'updated' });
    } else note({ resource: 'segment', key: s.key, action: 'unchanged' });
  }

  progress('flags');
  type ServerFlag = { key: string; name: string; description: string; type: string; variations: unknown; tags: string[]; version: number; environments: Record<string, { version: number; config: FlagConfig }> };
  const existing = fresh ? [] : await client.all<ServerFlag>(`${p}/flags`);
  const archived = fresh ? [] : await client.all<ServerFlag>(`${p}/flags`, { archived: true });
  for (const f of doc.flags) {
    const current = existing.find((x) => x.key === f.key);
    if (archived.some((x) => x.key === f.key)) {
      note({ resource: 'flag', key: f.key, action: 'unchanged', detail: 'archived in the project: unarchive it to import its configuration' });
      continue;
    }
    if (current === undefined) {
      if (!dry) await client.post(`${p}/flags`, { key: f.key, name: f.name, description: f.description, type: f.type, variations: f.variations, tags: f.tags });
      note({ resource: 'flag', key: f.key, action: 'created' });
    } else if (current.type !== f.type) {
      throw new CliError(`flag ${f.key} is a ${current.type} flag in project ${projectKey} and a ${f.type} flag in the document: a flag's type cannot change; rename one of them`, EXIT.conflict);
    } else if (current.name !== f.name || current.description !== f.description || canonical(current.variations) !== canonical(f.variations) || canonical(current.tags) !== canonical(f.tags)) {
      if (!dry) await client.patch(`${p}/flags/${encodeURIComponent(f.key)}`, { version: current.version, name: f.name, description: f.description, variations: f.variations, tags: f.tags });
      note({ resource: 'flag', key: f.key, action: 'updated' });
    } else note({ resource: 'flag', key: f.key, action: 'unchanged' });
  }
  const knownEnvironments = new Set([...envs.map((e) => e.key), ...doc.environments.map((e) => e.key)]);
  for (const f of doc.flags) {
    if (archived.some((x) => x.key === f.key)) continue;
    for (const [env, config] of Object.entries(f.environments)) {
      if (!knownEnvironments.has(env)) continue;
      const where = `${f.key}/${env}`;
      if (dry && existing.every((x) => x.key !== f.key)) {
        note({ resource: 'flag-config', key: where, action: 'updated' });
        continue;
      }
      const current = dry
        ? existing.find((x) => x.key === f.key)?.environments[env]
        : await getOrUndefined<{ version: number; config: FlagConfig }>(client, `${p}/flags/${encodeURIComponent(f.key)}/environments/${encodeURIComponent(env)}`);
      if (current === undefined) {
        note({ resource: 'flag-config', key: where, action: 'updated' });
        continue;
      }
      if (canonical(withoutOwnedRules(current.config)) === canonical(withoutOwnedRules(config))) {
        note({ resource: 'flag-config', key: where, action: 'unchanged' });
        continue;
      }
      // A running rollout's rules stay in front: importing a configuration never takes a rollout's audience away.
      const owned = (current.config.rules ?? []).filter((r) => r.id?.startsWith(OWNED_RULE_PREFIX));
      const next = { ...config, rules: [...owned, ...(withoutOwnedRules(config).rules ?? [])] };
      if (dry) {
        note({ resource: 'flag-config', key: where, action: 'updated' });
        continue;
      }
      const res = await client.put<{ config?: unknown; id?: string; status?: string }>(`${p}/flags/${encodeURIComponent(f.key)}/environments/${encodeURIComponent(env)}`, {
        version: current.version,
        config: next,
        comment: 'rollgate import',
      });
      note(res.config !== undefined ? { resource: 'flag-config', key: where, action: 'updated' } : { resource: 'flag-config', key: where, action: 'change-request', detail: `${env} needs approval: change request ${res.id ?? ''}` });
    }
  }

  progress('plans');
  const plans = fresh ? [] : await client.all<{ key: string }>(`${p}/plans`);
  for (const plan of doc.plans) {
    if (plans.every((x) => x.key !== plan.key)) {
      if (!dry) await client.post(`${p}/plans`, plan);
      note({ resource: 'plan', key: plan.key, action: 'created' });
      continue;
    }
    const current = await client.get<{ name: string; description: string; definition: unknown; version: number }>(`${p}/plans/${encodeURIComponent(plan.key)}`);
    if (current.name !== plan.name || current.description !== plan.description || canonical(current.definition) !== canonical(plan.definition)) {
      if (!dry) await client.patch(`${p}/plans/${encodeURIComponent(plan.key)}`, { version: current.version, name: plan.name, description: plan.description, definition: plan.definition });
      note({ resource: 'plan', key: plan.key, action: 'updated' });
    } else note({ resource: 'plan', key: plan.key, action: 'unchanged' });
  }
  return changes;
}
