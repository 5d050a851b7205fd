-- Metric definitions per project (docs/metrics.md): a project's own metrics,
-- and the source a project gives a built-in catalog metric.
--
-- - A project's own metric has every column set. Its key is not a catalog key.
-- - The override of a built-in metric (`built_in`) has the catalog's key and
--   only a source: its name, kind, unit, direction and description are the
--   catalog's, so those columns stay null (and '').
-- - source: {"type": "push"} | {"type": "prometheus", ...} | {"type": "http", ...}.
--   Header values are stored as given; the API and the audit log show them
--   redacted.
-- Deleting archives the row (`archived_at`); creating the key again brings it back.
create table metric_definitions (
  id text primary key,
  project_id text not null references projects (id),
  key text not null,
  built_in boolean not null default false,
  name text,
  description text not null default '',
  kind text check (kind in ('ratio', 'mean', 'quantile', 'gauge', 'count', 'unique')),
  unit text check (unit in ('percent', 'ms', 'count', 'score')),
  direction text check (direction in ('lower', 'higher')),
  source jsonb not null default '{"type": "push"}',
  archived_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (project_id, key),
  check (source ? 'type'),
  check (
    (built_in and name is null and kind is null and unit is null and direction is null and description = '')
    or (not built_in and name is not null and kind is not null and unit is not null and direction is not null)
  )
);
