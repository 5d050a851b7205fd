-- The decision log and the rollback history name the person who acted, as
-- the reasons do; decisions recorded before this column have no name.
alter table rollout_decisions add column actor_name text;
