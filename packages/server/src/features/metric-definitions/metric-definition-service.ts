import type { z } from 'zod';
import type { metricDefinitionSchema, metricReadingSchema, MetricSource, projectMetricSchema } from '@rollgate/contract';
import { METRIC_CATALOG, metricDefinition, metricsObservedBy, type CohortAggregate, type MetricDirection, type MetricKind, type MetricUnit, type Plan, type Stage } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import type { Clock } from '../../internal/time.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { EnvironmentStore } from '../environments/environment-store.js';
import type { FlagStore } from '../flags/flag-store.js';
import type { Project, ProjectStore } from '../projects/project-store.js';
import { ACTIVE_STATUSES, type RolloutRecord } from '../rollouts/rollout-store.js';
import type { MetricSources } from './composite-source.js';
import type { MetricDefinitionFields, MetricDefinitionStore, StoredMetricDefinition } from './metric-definition-store.js';
import { redactSource, restoreRedacted, sourceIssues, type SourceIssue } from './source-config.js';

export type MetricDefinitionView = z.infer<typeof metricDefinitionSchema>;
export type ProjectMetricView = z.infer<typeof projectMetricSchema>;
export type MetricReadingView = z.infer<typeof metricReadingSchema>;

export interface CreateMetricDefinitionInput {
  key: string;
  name?: string;
  description?: string;
  kind?: MetricKind;
  unit?: MetricUnit;
  direction?: MetricDirection;
  source?: MetricSource;
}

export interface UpdateMetricDefinitionInput {
  version: number;
  name?: string;
  description?: string;
  kind?: MetricKind;
  unit?: MetricUnit;
  direction?: MetricDirection;
  source?: MetricSource;
}

const PUSH: MetricSource = { type: 'push' };
const HOUR = 3_600_000;

/** The API's view: header values redacted; a built-in metric described by the catalog. */
function viewOf(d: StoredMetricDefinition): MetricDefinitionView {
  const catalog = d.builtIn ? metricDefinition(d.key) : undefined;
  return {
    id: d.id,
    projectKey: d.projectKey,
    key: d.key,
    name: catalog?.name ?? d.name ?? d.key,
    description: catalog !== undefined ? (catalog.description ?? '') : d.description,
    kind: catalog?.kind ?? d.kind ?? 'gauge',
    unit: catalog?.unit ?? d.unit ?? 'count',
    direction: catalog?.direction ?? d.direction ?? 'lower',
    builtIn: d.builtIn,
    source: redactSource(d.source),
    version: d.version,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

function invalid(issues: SourceIssue[]): ApiError {
  const first = issues[0] as SourceIssue;
  return new ApiError('INVALID_CONFIGURATION', `Invalid metric definition: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
}

function refusedFields(key: string, fields: string[]): ApiError {
  const issues = fields.map((field) => ({ path: field, message: `${key} is a built-in metric: only its source can be set (its ${field} is the catalog's)` }));
  return new ApiError('VALIDATION_FAILED', `Invalid body: ${issues[0]?.path}: ${issues[0]?.message}`, { where: 'body', issues });
}

/** A source ready to store: redacted headers given back their stored values, and checked. */
function checkedSource(source: MetricSource, stored: MetricSource | undefined): MetricSource {
  const restored = restoreRedacted(source, stored);
  const issues = [...restored.issues, ...sourceIssues(restored.source)];
  if (issues.length > 0) throw invalid(issues);
  return restored.source;
}

const quoteList = (items: readonly string[]): string => items.map((s) => JSON.stringify(s)).join(', ');

/**
 * Metric definitions of a project: its own metrics (key, name, kind, unit,
 * direction, source) and the sources it gives built-in catalog metrics.
 * Deleting archives; a project's own metric that a plan or an active rollout
 * reads cannot be deleted.
 */
export class MetricDefinitionService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
    private readonly environments: EnvironmentStore,
    private readonly flags: Pick<FlagStore, 'getByKey'>,
    private readonly store: MetricDefinitionStore,
    private readonly sources: MetricSources,
    private readonly clock: Clock,
  ) {}

  private async project(sql: Sql, key: string): Promise<Project> {
    const project = await this.projects.getByKey(sql, key);
    if (project === undefined) throw notFound('project', key);
    return project;
  }

  private async definition(sql: Sql, project: Project, key: string): Promise<StoredMetricDefinition> {
    const d = await this.store.getByKey(sql, project.id, key);
    if (d === undefined || d.archived) throw notFound('metric definition', `${project.key}/${key}`);
    return d;
  }

  async list(projectKey: string, limit: number, afterKey?: string): Promise<MetricDefinitionView[]> {
    const project = await this.project(this.db, projectKey);
    return (await this.store.list(this.db, project.id, limit, afterKey)).map(viewOf);
  }

  async get(projectKey: string, key: string): Promise<MetricDefinitionView> {
    return viewOf(await this.definition(this.db, await this.project(this.db, projectKey), key));
  }

  /** Every metric the project's plans may name: the catalog (with the project's sources), then its own metrics by key. */
  async metrics(projectKey: string): Promise<ProjectMetricView[]> {
    const project = await this.project(this.db, projectKey);
    const definitions = await this.store.list(this.db, project.id, 100_000);
    const byKey = new Map(definitions.map((d) => [d.key, d]));
    const builtIns = METRIC_CATALOG.map((m): ProjectMetricView => {
      const d = byKey.get(m.key);
      return {
        key: m.key,
        name: m.name,
        description: m.description ?? '',
        kind: m.kind,
        unit: m.unit,
        direction: m.direction,
        builtIn: true,
        source: d === undefined ? PUSH : redactSource(d.source),
        version: d?.version ?? null,
      };
    });
    const own = definitions
      .filter((d) => !d.builtIn)
      .map((d): ProjectMetricView => {
        const { key, name, description, kind, unit, direction, source, version } = viewOf(d);
        return { key, name, description, kind, unit, direction, builtIn: false, source, version };
      });
    return [...builtIns, ...own];
  }

  /** Creates a definition; the key of a deleted one may be used again (it comes back, version + 1). */
  async create(meta: WriteMeta, projectKey: string, input: CreateMetricDefinitionInput): Promise<MetricDefinitionView> {
    const builtIn = metricDefinition(input.key) !== undefined;
    const source = checkedSource(input.source ?? PUSH, undefined);
    const fields: MetricDefinitionFields = builtIn
      ? { name: null, description: '', kind: null, unit: null, direction: null, source }
      : {
          // The contract requires these for a metric that is not built in.
          name: input.name ?? input.key,
          description: input.description ?? '',
          kind: input.kind ?? 'gauge',
          unit: input.unit ?? 'count',
          direction: input.direction ?? 'lower',
          source,
        };
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const existing = await this.store.getByKey(tx, project.id, input.key);
      let stored: StoredMetricDefinition;
      if (existing === undefined) {
        stored = await this.store.insert(tx, { id: newId('met'), projectId: project.id, key: input.key, builtIn, ...fields });
      } else if (existing.archived) {
        const revived = await this.store.update(tx, existing.id, existing.version, { ...fields, archived: false });
        if (revived === undefined) throw versionConflict('metric definition', existing.version);
        stored = revived;
      } else {
        throw new ApiError(
          'ALREADY_EXISTS',
          builtIn
            ? `Project ${projectKey} already gives the built-in metric ${input.key} a source: change it with PATCH`
            : `Project ${projectKey} already has a metric ${JSON.stringify(input.key)}`,
          { key: input.key },
        );
      }
      const view = viewOf(stored);
      await recordAudit(tx, meta, {
        action: 'metric_definition.created',
        resourceType: 'metric_definition',
        resourceId: stored.id,
        resourceKey: stored.key,
        projectId: project.id,
        ...(existing === undefined ? {} : { before: { ...viewOf(existing), archived: true } }),
        after: view,
      });
      return view;
    });
  }

  async update(meta: WriteMeta, projectKey: string, key: string, input: UpdateMetricDefinitionInput): Promise<MetricDefinitionView> {
    return this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const before = await this.definition(tx, project, key);
      if (before.version !== input.version) throw versionConflict('metric definition', before.version, viewOf(before));
      if (before.builtIn) {
        const refused = (['name', 'description', 'kind', 'unit', 'direction'] as const).filter((f) => input[f] !== undefined);
        if (refused.length > 0) throw refusedFields(key, refused);
      }
      const source = input.source === undefined ? undefined : checkedSource(input.source, before.source);
      const after = await this.store.update(tx, before.id, input.version, {
        name: input.name,
        description: input.description,
        kind: input.kind,
        unit: input.unit,
        direction: input.direction,
        source,
      });
      if (after === undefined) throw versionConflict('metric definition', before.version, viewOf(before));
      const view = viewOf(after);
      await recordAudit(tx, meta, {
        action: 'metric_definition.updated',
        resourceType: 'metric_definition',
        resourceId: after.id,
        resourceKey: after.key,
        projectId: project.id,
        before: viewOf(before),
        after: view,
      });
      return view;
    });
  }

  /**
   * Archives a definition. A project's own metric is refused while a plan
   * (not archived) or an active rollout reads it; the source of a built-in
   * metric can always go (the metric is then read from pushed data again).
   */
  async delete(meta: WriteMeta, projectKey: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const project = await this.project(tx, projectKey);
      const before = await this.definition(tx, project, key);
      if (!before.builtIn) {
        const users = await readersOf(tx, project.id, key);
        if (users.plans.length > 0 || users.rollouts.length > 0) {
          const what = [
            ...(users.plans.length > 0 ? [`plan${users.plans.length > 1 ? 's' : ''} ${quoteList(users.plans)}`] : []),
            ...(users.rollouts.length > 0 ? [`active rollout${users.rollouts.length > 1 ? 's' : ''} ${quoteList(users.rollouts)}`] : []),
          ];
          throw new ApiError('INVALID_STATE', `Metric ${key} is read by ${what.join(' and ')}: change or archive them before deleting it`, {
            state: 'in use',
            plans: users.plans,
            rollouts: users.rollouts,
          });
        }
      }
      const after = await this.store.update(tx, before.id, before.version, { archived: true });
      if (after === undefined) throw versionConflict('metric definition', before.version, viewOf(before));
      await recordAudit(tx, meta, {
        action: 'metric_definition.deleted',
        resourceType: 'metric_definition',
        resourceId: before.id,
        resourceKey: key,
        projectId: project.id,
        before: viewOf(before),
        after: { ...viewOf(after), archived: true },
      });
    });
  }

  /**
   * Reads a metric now as a rollout of `flagKey` in `environmentKey` whose
   * stage started at `since` (default an hour ago) would, and says why a
   * cohort has no data. Writes nothing.
   */
  async read(meta: WriteMeta, projectKey: string, key: string, input: { flagKey: string; environmentKey: string; since?: string }): Promise<MetricReadingView> {
    const project = await this.project(this.db, projectKey);
    const catalog = metricDefinition(key);
    const stored = await this.store.getByKey(this.db, project.id, key);
    const defined = stored !== undefined && !stored.archived ? stored : undefined;
    if (catalog === undefined && defined === undefined) throw notFound('metric', `${projectKey}/${key}`);
    const flag = await this.flags.getByKey(this.db, project.id, input.flagKey);
    if (flag === undefined) throw notFound('flag', `${projectKey}/${input.flagKey}`);
    const environment = (await this.environments.list(this.db, project.id)).find((e) => e.key === input.environmentKey);
    if (environment === undefined) throw notFound('environment', `${projectKey}/${input.environmentKey}`);
    const now = this.clock().getTime();
    const from = input.since === undefined ? now - HOUR : Date.parse(input.since);
    if (!(from < now)) {
      throw new ApiError('VALIDATION_FAILED', 'Invalid body: since: must be before now', { where: 'body', issues: [{ path: 'since', message: 'must be before now' }] });
    }
    const at = new Date(now).toISOString();
    // What the controller would be given for a rollout of this flag whose stage reads only this metric.
    const stage: Stage = { id: 'read', name: 'Test read', audience: { percentage: 0 }, minDuration: 0, gates: [{ id: 'read', metric: key, role: 'success', condition: { type: 'absolute', op: '<', value: 0 } }] };
    const plan: Plan = { id: 'test-read', name: 'Test read', version: 1, stages: [stage] };
    const rollout: RolloutRecord = {
      id: 'test-read',
      projectId: project.id,
      projectKey: project.key,
      environmentId: environment.id,
      environmentKey: environment.key,
      flagId: flag.id,
      flagKey: flag.key,
      planId: 'test-read',
      planKey: 'test-read',
      planVersion: 1,
      variation: '',
      status: 'running',
      state: { status: 'running', stageIndex: 0, stageStartedAt: from, startedBy: meta.actor.id },
      version: 1,
      startedBy: meta.actor.id,
      createdAt: at,
      updatedAt: at,
    };
    const { observations, problems } = await this.sources.observe(rollout, plan, stage, now);
    const observation = observations.metrics[key];
    const sourceType = defined?.source.type ?? 'push';
    const own = problems.filter((p) => p.metric === key).map((p) => ({ cohort: p.cohort, message: p.message }));
    if (observation === undefined && own.length === 0) {
      own.push({ cohort: null, message: sourceType === 'push' ? `nothing pushed for ${key} of flag ${flag.key} in ${environment.key} since ${new Date(from).toISOString()}` : 'the source gave nothing' });
    }
    const cohort = (a: CohortAggregate | undefined) => (a === undefined ? null : { value: a.value, samples: a.samples, ...(a.variance === undefined ? {} : { variance: a.variance }) });
    return {
      metric: key,
      sourceType,
      from: new Date(from).toISOString(),
      to: at,
      treatment: cohort(observation?.treatment),
      control: cohort(observation?.control),
      seriesIntervals: observation?.series?.length ?? 0,
      problems: own,
    };
  }
}

/** Plans (not archived) and active rollouts of the project that read `metric`. */
async function readersOf(sql: Sql, projectId: string, metric: string): Promise<{ plans: string[]; rollouts: string[] }> {
  const reads = (definition: { stages?: unknown }) =>
    Array.isArray(definition.stages) && (definition.stages as Stage[]).some((stage) => stage !== null && typeof stage === 'object' && metricsObservedBy(stage).includes(metric));
  const plans = await sql.query<{ key: string; definition: { stages?: unknown } }>('select key, definition from plans where project_id = $1 and archived_at is null order by key', [projectId]);
  const rollouts = await sql.query<{ id: string; definition: { stages?: unknown } }>(
    `select r.id, v.definition from rollouts r join plan_versions v on v.plan_id = r.plan_id and v.version = r.plan_version
      where r.project_id = $1 and r.status = any($2::text[]) order by r.id`,
    [projectId, [...ACTIVE_STATUSES]],
  );
  return { plans: plans.filter((p) => reads(p.definition)).map((p) => p.key), rollouts: rollouts.filter((r) => reads(r.definition)).map((r) => r.id) };
}
