-- Sketches for quantile and unique metrics (per minute, and per hour for
-- long stages), experiment variants, exact assignment counts for the
-- sample-ratio check, and indexes for retention.
-- Expand only: existing rows keep their sums and read as variant ''.

-- metric_minutes gains:
-- - variant: the variant served ('' when the item gave none and was not
--   attributed by its context); part of the key, so an experiment's groups
--   are summed apart;
-- - histogram: quantile metrics, a log-bucket histogram (core LogHistogram,
--   1% relative accuracy, varint bytes); null for other metrics;
-- - hll: exposures and unique metrics, a HyperLogLog of the context keys
--   (core HyperLogLog, 2^12 registers, sparse below 769 entries); null
--   otherwise.
-- The key puts metric and minute before cohort, which is how the rollout
-- controller reads (both cohorts of a few metrics over a time range).
alter table metric_minutes add column variant text not null default '';
alter table metric_minutes add column histogram bytea;
alter table metric_minutes add column hll bytea;
alter table metric_minutes drop constraint metric_minutes_pkey;
alter table metric_minutes add primary key (environment_id, flag_key, metric, minute, cohort, variant);
create index metric_minutes_minute on metric_minutes (minute);

create index metric_batches_received_at on metric_batches (received_at);

-- One row per context a flag's exposures named, with the cohort and variant
-- of its latest exposure: counted exactly per cohort (and variant) for the
-- contexts seen since a stage started, and used to attribute metric items
-- that give a context key instead of a cohort. first_seen is the first
-- exposure in the current cohort and variant (it starts again when they
-- change); last_seen the latest exposure.
create table metric_contexts (
  environment_id text not null references environments (id),
  flag_key text not null,
  context_key text not null,
  cohort text not null check (cohort in ('treatment', 'control')),
  variant text not null,
  first_seen timestamptz not null,
  last_seen timestamptz not null,
  primary key (environment_id, flag_key, context_key)
);
-- Counting the contexts of a flag seen since a time reads only this index.
create index metric_contexts_recent on metric_contexts (environment_id, flag_key, last_seen) include (cohort, variant);
create index metric_contexts_last_seen on metric_contexts (last_seen);

-- The rows of metric_minutes that carry a sketch (quantile histograms,
-- exposure and unique HyperLogLogs), merged per hour as well: a stage reads
-- whole hours from here and only its first and last partial hours (and the
-- recent minutes of a series) from metric_minutes, so a 48-hour stage merges
-- about 150 sketches per cohort instead of 2,880. Same columns and meaning.
create table metric_hours (
  environment_id text not null references environments (id),
  flag_key text not null,
  metric text not null,
  hour timestamptz not null,
  cohort text not null check (cohort in ('treatment', 'control')),
  variant text not null default '',
  count bigint not null,
  sum double precision not null,
  sum_sq double precision not null,
  events double precision not null,
  histogram bytea,
  hll bytea,
  primary key (environment_id, flag_key, metric, hour, cohort, variant)
);
create index metric_hours_hour on metric_hours (hour);
