#!/usr/bin/env node
/**
 * Rollout controller benchmark: 10,000 active rollouts (inserted with SQL in
 * batches), then timed controller ticks. Needs a build first (`npm run
 * bench:controller` builds). Runs on the embedded database by default;
 * `DATABASE_URL=postgres://...` runs on PostgreSQL (use an empty database: the
 * script migrates it and adds its own project).
 *
 * Scenarios, each one tick over all rollouts:
 * - no data: a source that knows no metric - every rollout holds, nothing is applied;
 * - healthy, waiting: healthy observations, every stage within its minimum duration - nothing is applied;
 * - healthy, 1% advance: as above, but 1% of the rollouts are past their minimum duration with
 *   checklist and approvals done - those advance (flag rule, rollout, decision, audit, outbox each);
 * - stored metrics: the production source (each project's definitions, then the per-minute rows
 *   POST /api/client/metrics writes) over --minutes minutes of rows for every metric of every
 *   rollout, both cohorts: read with the tick's batched prefetch, and one rollout at a time.
 *
 * Options: --rollouts N (default 10000), --batch N (default 2000), --minutes N (default 5).
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import pino from 'pino';
import { SEED_000_GRADUAL_PRODUCTION_ROLLOUT as PLAN } from '@rollgate/core';
import { openPglite } from '../../packages/server/dist/db/pglite.js';
import { openPostgres } from '../../packages/server/dist/db/postgres.js';
import { migrate } from '../../packages/server/dist/db/migrate.js';
import { RolloutController } from '../../packages/server/dist/features/rollouts/rollout-controller.js';
import { noDataSource } from '../../packages/server/dist/features/rollouts/observation-source.js';
import { MetricSources } from '../../packages/server/dist/features/metric-definitions/composite-source.js';
import { projectMetricCatalogs } from '../../packages/server/dist/features/metric-definitions/metric-definition-store.js';
import { metricsObservationSource } from '../../packages/server/dist/features/metrics/metrics-source.js';
import { metricsReadBy } from '@rollgate/core';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('rollouts', 10_000);
const BATCH = option('batch', 2_000);
const MINUTES = option('minutes', 5);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15);

const HEALTHY = { 'error-rate': 0.05, 'response-time-avg': 150, 'response-time-p95': 800, 'cache-hit-rate': 97, 'db-query-time': 100, uptime: 99.99 };
const healthySource = async (_rollout, _plan, stage, now) => {
  const metrics = {};
  for (const g of stage.gates ?? []) {
    const v = HEALTHY[g.metric] ?? 0;
    const agg = { value: v, samples: 100_000 };
    metrics[g.metric] = { treatment: agg, control: agg, series: [{ start: now - DAY, end: now, treatment: agg, control: agg }] };
  }
  return { metrics };
};

const logger = pino({ level: 'silent' });
const db = process.env.DATABASE_URL ? await openPostgres(process.env.DATABASE_URL, logger, 10) : await openPglite(undefined);
await migrate(db);

const suffix = Math.random().toString(36).slice(2, 8);
const projectId = `prj_bench_${suffix}`;
const envId = `env_bench_${suffix}`;
const planId = `pln_bench_${suffix}`;
const { id: _id, version: _v, ...definition } = PLAN;
await db.query('insert into projects (id, key, name) values ($1, $2, $2)', [projectId, `bench-${suffix}`]);
await db.query("insert into environments (id, project_id, key, name, position) values ($1, $2, 'production', 'production', 0)", [envId, projectId]);
await db.query("insert into plans (id, project_id, key, name, definition) values ($1, $2, 'plan', 'plan', $3)", [planId, projectId, JSON.stringify(definition)]);
await db.query("insert into plan_versions (plan_id, version, definition, created_by) values ($1, 1, $2, 'bench')", [planId, JSON.stringify(definition)]);

const variations = JSON.stringify([
  { key: 'on', value: true },
  { key: 'off', value: false },
]);
const seeded = performance.now();
for (let from = 1; from <= N; from += BATCH) {
  const to = Math.min(N, from + BATCH - 1);
  await db.transaction(async (tx) => {
    await tx.query(
      `insert into flags (id, project_id, key, name, type, variations) select 'flg_b_' || i, $1, 'f-' || i, 'f-' || i, 'boolean', $2::jsonb from generate_series($3::int, $4::int) i`,
      [projectId, variations, from, to],
    );
    await tx.query(
      `insert into flag_environments (flag_id, environment_id, config)
       select 'flg_b_' || i, $1, jsonb_build_object('enabled', true, 'offVariation', 'off', 'fallthrough', jsonb_build_object('variation', 'off'),
         'rules', jsonb_build_array(jsonb_build_object('id', 'rollout:rlo_b_' || i, 'serve', jsonb_build_object('rollout', jsonb_build_object('percentage', 10, 'variation', 'on')))))
         from generate_series($2::int, $3::int) i`,
      [envId, from, to],
    );
    await tx.query(
      `insert into rollouts (id, project_id, environment_id, flag_id, plan_id, plan_version, variation, status, state, started_by)
       select 'rlo_b_' || i, $1, $2, 'flg_b_' || i, $3, 1, 'on', 'running',
              jsonb_build_object('status', 'running', 'stageIndex', 0, 'stageStartedAt', $4::bigint, 'startedAt', $4::bigint, 'startedBy', 'usr_bench'), 'usr_bench'
         from generate_series($5::int, $6::int) i`,
      [projectId, envId, planId, NOW - DAY, from, to],
    );
  });
}
const seedMs = performance.now() - seeded;

/** Makes 1% of the rollouts ready to advance: past the week, checklist ticked, one approval. */
async function makeReady() {
  const stage = PLAN.stages[0];
  const at = NOW - DAY;
  const state = {
    status: 'running',
    stageIndex: 0,
    stageStartedAt: NOW - 8 * DAY,
    startedAt: NOW - 8 * DAY,
    startedBy: 'usr_bench',
    checklist: (stage.checklist ?? []).map((i) => ({ itemId: i.id, by: 'usr_b2', at })),
    approvals: [{ by: 'usr_b2', role: 'admin', at, verdict: 'approve' }],
  };
  await db.query("update rollouts set state = $1 where id in (select 'rlo_b_' || i from generate_series(1, $2::int, 100) i)", [JSON.stringify(state), N]);
}

const rows = [];
let source = noDataSource;
const controller = new RolloutController({ db, clock: () => new Date(NOW), logger, source: () => source });
async function scenario(name) {
  const result = await controller.tick(new Date(NOW));
  rows.push({ name, ...result });
}
await controller.tick(new Date(NOW)); // warm-up (JIT, caches)
await scenario('no data');
source = healthySource;
await scenario('healthy, waiting');
await makeReady();
await scenario('healthy, 1% advance');

// Stored metrics: rows for the last MINUTES minutes of every metric the first stage reads, per rollout and cohort.
const metricKeys = metricsReadBy(PLAN.stages[0]);
const healthyRow = { 'error-rate': [0.0005, 0], 'cache-hit-rate': [0.97, 0], uptime: [1, 0], 'response-time-avg': [150, 40], 'db-query-time': [100, 30] };
const metricsSeeded = performance.now();
for (let from = 1; from <= N; from += BATCH) {
  const to = Math.min(N, from + BATCH - 1);
  await db.query(
    `insert into metric_minutes (environment_id, flag_key, metric, minute, cohort, count, sum, sum_sq, events)
     select $1, 'f-' || i, m.key, to_timestamp(($2::bigint - k * 60000) / 1000.0), c.cohort, 2000, 2000 * m.mean, 2000 * (m.mean * m.mean + m.sd * m.sd), 2000 * m.mean
       from generate_series($3::int, $4::int) i, generate_series(1, $5::int) k,
            jsonb_to_recordset($6::jsonb) as m(key text, mean float8, sd float8), (values ('treatment'), ('control')) c(cohort)`,
    [envId, NOW, from, to, MINUTES, JSON.stringify(metricKeys.map((key) => ({ key, mean: healthyRow[key]?.[0] ?? 1, sd: healthyRow[key]?.[1] ?? 0 })))],
  );
}
const metricsSeedMs = performance.now() - metricsSeeded;
await db.query("update rollouts set state = state || jsonb_build_object('stageStartedAt', $1::bigint) where project_id = $2", [NOW - DAY, projectId]);
const push = metricsObservationSource(db, { catalogs: (ids) => projectMetricCatalogs(db, ids) });
const production = new MetricSources({ db, push, logger, prometheusUrl: undefined }).source;
source = production;
await scenario('stored metrics, prefetched');
// The same reads without the tick's prefetch: one query (or two) per rollout.
source = (rollout, plan, stage, now) => production(rollout, plan, stage, now);
await scenario('stored metrics, one by one');

const fmt = (n) => n.toFixed(0).padStart(8);
console.log(`\nRollout controller tick, ${N.toLocaleString('en-US')} active rollouts, ${db.kind}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s; ${(N * metricKeys.length * 2 * MINUTES).toLocaleString('en-US')} metric rows (${MINUTES} min x ${metricKeys.length} metrics x 2 cohorts per rollout) in ${(metricsSeedMs / 1000).toFixed(1)} s\n`);
console.log('| scenario                 | rollouts | applied | load ms | decide ms | apply ms | total ms |');
console.log('|:-------------------------|---------:|--------:|--------:|----------:|---------:|---------:|');
for (const r of rows) {
  console.log(
    `| ${r.name.padEnd(24)} | ${String(r.evaluated).padStart(8)} | ${String(r.applied).padStart(7)} | ${fmt(r.timings.load)} | ${fmt(r.timings.decide).padStart(9)} | ${fmt(r.timings.apply)} | ${fmt(r.timings.total)} |`,
  );
}
await db.close();
