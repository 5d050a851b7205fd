import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { PlanDefinition, planSchema, planSummarySchema, planTemplateSchema, planVersionSchema } from '@rollgate/contract';
import { PLAN_TEMPLATES, planWarnings, segmentsUsedBy, validatePlan, type Plan, type PlanValidationContext } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { Project, ProjectStore } from '../projects/project-store.js';
import { corePlan, planValidationContext, type PlanContent, type PlanStore, type StoredPlan, type StoredPlanVersion } from './plan-store.js';

export type PlanView = z.infer<typeof planSchema>;
export type PlanSummaryView = z.infer<typeof planSummarySchema>;
export type PlanVersionView = z.infer<typeof planVersionSchema>;
export type PlanTemplateView = z.infer<typeof planTemplateSchema>;

/** The API's definition of stored content: without name and description, which the resource holds itself. */
function definitionOf(content: PlanContent | Plan): PlanDefinition {
  // A deep copy without the plan-level fields (the templates are frozen).
  const { id: _id, version: _version, name: _name, description: _description, ...definition } = JSON.parse(JSON.stringify(content)) as Plan;
  return definition as PlanDefinition;
}

/** Stored content from the resource's fields; an empty description is left out of the core plan. */
function contentOf(name: string, description: string, definition: PlanDefinition): PlanContent {
  return { name, ...(description === '' ? {} : { description }), ...definition };
}

const summaryOf = (p: StoredPlan): PlanSummaryView => ({
  id: p.id,
  projectKey: p.projectKey,
  key: p.key,
  name: p.name,
  description: p.description,
  source: p.content.source ?? null,
  stageCount: Array.isArray(p.content.stages) ? p.content.stages.length : 0,
  version: p.version,
  archived: p.archivedAt !== null,
  archivedAt: p.archivedAt,
  createdAt: p.createdAt,
  updatedAt: p.updatedAt,
});

const viewOf = (p: StoredPlan): PlanView => ({
  ...summaryOf(p),
  definition: definitionOf(p.content),
  warnings: planWarnings(p.content as unknown as Plan).map((w) => ({ path: apiPath(w.path), message: w.message })),
});

const versionViewOf = (p: StoredPlan, v: StoredPlanVersion): PlanVersionView => ({
  projectKey: p.projectKey,
  planKey: p.key,
  version: v.version,
  name: v.content.name,
  description: v.content.description ?? '',
  definition: definitionOf(v.content),
  createdBy: v.createdBy,
  createdAt: v.createdAt,
});

/** Paths of core issues as the API body names them: the definition's fields under `definition.`. */
function apiPath(path: string): string {
  if (path === 'id') return 'key';
  if (path === 'name' || path === 'description' || path === 'version') return path;
  if (path === '') return 'definition';
  return `definition${path.startsWith('[') ? '' : '.'}${path}`;
}

const quoteList = (items: readonly string[]): string => items.map((s) => JSON.stringify(s)).join(', ');

/** The segments and environments a plan names that the project lacks. */
function missingOf(plan: { stages: readonly { environment?: string; audience?: { segments?: readonly string[] } }[] }, context: Required<PlanValidationContext>) {
  const segments = new Set(context.knownSegments);
  const environments = new Set(context.knownEnvironments);
  const usedEnvironments = [...new Set(plan.stages.flatMap((s) => (typeof s.environment === 'string' && s.environment !== '' ? [s.environment] : [])))];
  return {
    segments: segmentsUsedBy(plan).filter((s) => !segments.has(s)),
    environments: usedEnvironments.filter((e) => !environments.has(e)),
  };
}

/** Throws INVALID_CONFIGURATION (nothing written) unless the core accepts the plan in this project. */
function checkPlan(plan: Plan, context: Required<PlanValidationContext>, what: string): void {
  const issues = validatePlan(plan, context).map((i) => ({ path: apiPath(i.path), message: i.message }));
  if (issues.length === 0) return;
  const missing = missingOf(plan, context);
  const first = issues[0] as { path: string; message: string };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  const needs = [
    ...(missing.segments.length > 0 ? [`segment${missing.segments.length > 1 ? 's' : ''} ${quoteList(missing.segments)}`] : []),
    ...(missing.environments.length > 0 ? [`environment${missing.environments.length > 1 ? 's' : ''} ${quoteList(missing.environments)}`] : []),
  ];
  const missingCount = missing.segments.length + missing.environments.length;
  const isMissingReference = (i: { path: string; message: string }) =>
    (/\.audience\.segments\[\d+\]$/.test(i.path) && i.message.startsWith('unknown segment')) || (/\.environment$/.test(i.path) && i.message.startsWith('unknown environment'));
  const others = issues.filter((i) => !isMissingReference(i)).length;
  const message =
    missingCount > 0
      ? `Invalid ${what}: it names ${needs.join(' and ')} that the project does not have: create ${missingCount > 1 ? 'them' : 'it'} first` +
        (others > 0 ? ` (details.issues lists ${others} other problem${others > 1 ? 's' : ''})` : '')
      : `Invalid ${what}: ${first.path}: ${first.message}${more}`;
  throw new ApiError('INVALID_CONFIGURATION', message, { issues, missingSegments: missing.segments, missingEnvironments: missing.environments });
}

/** The seed number a template's source names (`seed 001 ...`). */
function seedOf(source: string | undefined): string | null {
  return /\bseed (\d+)/.exec(source ?? '')?.[1] ?? null;
}

export interface CreatePlanInput {
  key: string;
  name?: string;
  description?: string;
  definition?: PlanDefinition;
  fromTemplate?: string;
}

export interface UpdatePlanInput {
  version: number;
  name?: string;
  description?: string;
  definition?: PlanDefinition;
}

/**
 * Rollout plans: reusable, versioned lists of stages. Every change of a
 * plan's name, description or definition is saved as a new version; versions
 * are never changed, so a rollout runs the version it started with. A
 * definition is validated by the core against the project's segments and
 * environments and the metric catalog before anything is written.
 */
export class PlanService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly store: PlanStore,
  ) {}

  private async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  private async plan(sql: Sql, project: Project, key: string, forUpdate = false): Promise<StoredPlan> {
    const plan = await this.store.getByKey(sql, project.id, key, { forUpdate });
    if (plan === undefined) throw notFound('plan', `${project.key}/${key}`);
    return plan;
  }

  /** The built-in templates, with what each needs that this project lacks. */
  async templates(projectKey: string): Promise<PlanTemplateView[]> {
    const project = await this.project(this.db, projectKey);
    const context = await planValidationContext(this.db, project.id);
    return PLAN_TEMPLATES.map((t) => {
      const environments = [...new Set(t.stages.flatMap((s) => (s.environment === undefined ? [] : [s.environment])))];
      return {
        key: t.id,
        name: t.name,
        description: t.description ?? '',
        source: t.source ?? '',
        seed: seedOf(t.source),
        requires: { segments: segmentsUsedBy(t), environments },
        missing: missingOf(t, context),
        definition: definitionOf(t),
      };
    });
  }

  async list(projectKey: string, filter: { archived: boolean; limit: number; afterKey?: string }): Promise<PlanSummaryView[]> {
    const project = await this.project(this.db, projectKey);
    return (await this.store.list(this.db, project.id, filter)).map(summaryOf);
  }

  async get(projectKey: string, key: string): Promise<PlanView> {
    return viewOf(await this.plan(this.db, await this.project(this.db, projectKey), key));
  }

  async getVersion(projectKey: string, key: string, version: number): Promise<PlanVersionView> {
    const plan = await this.plan(this.db, await this.project(this.db, projectKey), key);
    const stored = await this.store.getVersion(this.db, plan.id, version);
    if (stored === undefined) {
      throw new ApiError('NOT_FOUND', `Plan ${key} has no version ${version}; its versions are 1 to ${plan.version}`, { resource: 'plan version', key: `${projectKey}/${key}`, version, currentVersion: plan.version });
    }
    return versionViewOf(plan, stored);
  }

  async create(meta: WriteMeta, projectKey: string, input: CreatePlanInput): Promise<PlanView> {
    let content: PlanContent;
    if (input.fromTemplate !== undefined) {
      const template = PLAN_TEMPLATES.find((t) => t.id === input.fromTemplate);
      if (template === undefined) {
        const message = `unknown template ${JSON.stringify(input.fromTemplate)}; the templates are ${quoteList(PLAN_TEMPLATES.map((t) => t.id))}`;
        throw new ApiError('VALIDATION_FAILED', `Invalid body: fromTemplate: ${message}`, { where: 'body', issues: [{ path: 'fromTemplate', message }] });
      }
      content = contentOf(input.name ?? template.name, input.description ?? template.description ?? '', definitionOf(template));
    } else {
      // The schema requires name and definition when there is no template.
      content = contentOf(input.name ?? '', input.description ?? '', input.definition as PlanDefinition);
    }
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const existing = await this.store.getByKey(tx, project.id, input.key);
      if (existing !== undefined) {
        throw new ApiError(
          'ALREADY_EXISTS',
          `Project ${projectKey} already has a plan ${JSON.stringify(input.key)}${existing.archivedAt === null ? '' : ' (archived; archived plans keep their key)'}`,
          { key: input.key },
        );
      }
      checkPlan(corePlan(input.key, 1, content), await planValidationContext(tx, project.id), input.fromTemplate === undefined ? 'plan' : `plan from template ${input.fromTemplate}`);
      const plan = await this.store.insert(tx, { id: newId('pln'), projectId: project.id, key: input.key, content }, meta.actor.id);
      const view = viewOf(plan);
      await recordAudit(tx, meta, {
        action: 'plan.created',
        resourceType: 'plan',
        resourceId: plan.id,
        resourceKey: plan.key,
        projectId: project.id,
        after: { ...view, ...(input.fromTemplate === undefined ? {} : { fromTemplate: input.fromTemplate }) },
      });
      return view;
    });
  }

  /** Saves a change as a new version; a change that changes nothing returns the plan as it is. */
  async update(meta: WriteMeta, projectKey: string, key: string, input: UpdatePlanInput): Promise<PlanView> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const before = await this.plan(tx, project, key, true);
      if (before.version !== input.version) throw versionConflict('plan', before.version, viewOf(before));
      if (before.archivedAt !== null) {
        throw new ApiError('INVALID_STATE', `Plan ${key} is archived: it cannot change. Unarchive it first.`, { state: 'archived' });
      }
      const content = contentOf(input.name ?? before.name, input.description ?? before.description, input.definition ?? definitionOf(before.content));
      if (isDeepStrictEqual(JSON.parse(JSON.stringify(content)), JSON.parse(JSON.stringify(before.content)))) return viewOf(before);
      if (input.definition !== undefined) checkPlan(corePlan(key, before.version + 1, content), await planValidationContext(tx, project.id), 'plan');
      const after = await this.store.saveVersion(tx, before.id, before.version, content, meta.actor.id);
      if (after === undefined) throw versionConflict('plan', before.version, viewOf(before));
      const view = viewOf(after);
      await recordAudit(tx, meta, { action: 'plan.updated', resourceType: 'plan', resourceId: after.id, resourceKey: after.key, projectId: project.id, before: viewOf(before), after: view });
      return view;
    });
  }

  /** Archived plans cannot start rollouts; they stay readable, and running rollouts keep their version. */
  async setArchived(meta: WriteMeta, projectKey: string, key: string, version: number, archived: boolean): Promise<PlanView> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const before = await this.plan(tx, project, key, true);
      if (before.version !== version) throw versionConflict('plan', before.version, viewOf(before));
      if ((before.archivedAt !== null) === archived) {
        throw new ApiError('INVALID_STATE', `Plan ${key} is ${archived ? 'already archived' : 'not archived'}`, { state: before.archivedAt === null ? 'active' : 'archived' });
      }
      const after = await this.store.setArchived(tx, before.id, archived);
      const view = viewOf(after);
      await recordAudit(tx, meta, {
        action: archived ? 'plan.archived' : 'plan.unarchived',
        resourceType: 'plan',
        resourceId: after.id,
        resourceKey: after.key,
        projectId: project.id,
        before: viewOf(before),
        after: view,
      });
      return view;
    });
  }
}
