-- Staged rollouts: plans (versioned templates), rollouts of a plan on a flag
-- in an environment, the decision log, and the notification outbox.

create table plans (
  id text primary key,
  project_id text not null references projects (id),
  key text not null,
  name text not null,
  description text not null default '',
  -- The current definition (core Plan without id/version), and its version.
  definition jsonb not null,
  version integer not null default 1,
  archived_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (project_id, key)
);

-- Every version of every plan, so a rollout runs exactly the version it started with.
create table plan_versions (
  plan_id text not null references plans (id),
  version integer not null,
  definition jsonb not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (plan_id, version)
);

create table rollouts (
  id text primary key,
  project_id text not null references projects (id),
  environment_id text not null references environments (id),
  flag_id text not null references flags (id),
  plan_id text not null references plans (id),
  plan_version integer not null,
  -- The variation the rollout moves its audience to, and the one everyone else keeps.
  variation text not null,
  status text not null check (status in ('draft', 'running', 'held', 'awaiting_approval', 'completed', 'rolled_back', 'aborted')),
  -- The core RolloutState (stage index, times, ticks, approvals, escalations...).
  state jsonb not null,
  -- Bumped by every transition: appliers compare it, so a decision is applied once.
  version integer not null default 1,
  started_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One active rollout per flag and environment.
create unique index rollouts_one_active on rollouts (flag_id, environment_id)
  where status in ('draft', 'running', 'held', 'awaiting_approval');
create index rollouts_active on rollouts (status) where status in ('running', 'held', 'awaiting_approval');

-- Every decision applied (or recorded) for a rollout: the decision log and the rollback history.
create table rollout_decisions (
  seq bigint generated always as identity primary key,
  id text not null unique,
  rollout_id text not null references rollouts (id),
  -- The rollout version the decision was made from; unique, so a decision is never applied twice.
  from_version integer not null,
  at timestamptz not null,
  kind text not null,
  actor_kind text not null,
  actor_id text not null,
  reason text not null,
  from_stage integer,
  to_stage integer,
  from_percentage numeric,
  to_percentage numeric,
  decision jsonb not null,
  unique (rollout_id, from_version)
);

-- Notifications to send, written in the same transaction as what they announce.
create table notification_outbox (
  seq bigint generated always as identity primary key,
  id text not null unique,
  rollout_id text references rollouts (id),
  kind text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  attempts integer not null default 0,
  last_error text
);
create index notification_outbox_pending on notification_outbox (seq) where sent_at is null;
