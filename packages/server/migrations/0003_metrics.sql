-- Metrics ingestion (POST /api/client/metrics): per-minute sums per flag,
-- cohort and metric, which the rollout controller aggregates over a stage.

-- Batches received, so that a retried batch is counted once (per environment).
create table metric_batches (
  environment_id text not null references environments (id),
  batch_id text not null,
  received_at timestamptz not null,
  primary key (environment_id, batch_id)
);

-- One row per environment, flag, cohort, metric and minute; every batch adds
-- to it (upsert). Rows are keyed on the flag, not on a rollout: only one
-- rollout of a flag is active per environment, and the controller reads from
-- its stage's start on.
-- - metric: a metric key, or '$exposures' for exposures (a key no metric can
--   have). Exposures count evaluations, not unique contexts: unique counting
--   (HyperLogLog sketches per minute) comes later.
-- - count: items; sum and sum_sq: of their values (means and variances);
-- - events: ratio metrics, the sum of the 0/1 values (the numerator);
--   other metrics, the items with a non-zero value.
create table metric_minutes (
  environment_id text not null references environments (id),
  flag_key text not null,
  cohort text not null check (cohort in ('treatment', 'control')),
  metric text not null,
  minute timestamptz not null,
  count bigint not null,
  sum double precision not null,
  sum_sq double precision not null,
  events double precision not null,
  primary key (environment_id, flag_key, cohort, metric, minute)
);
