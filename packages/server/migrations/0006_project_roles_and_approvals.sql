-- Roles per project, and change requests for everything that changes what an
-- environment that requires approval serves.

-- A user's role in one project. It replaces the user's base role there;
-- instance admins (users.role = 'admin') are admins in every project.
create table project_roles (
  project_id text not null references projects (id),
  user_id text not null references users (id),
  role text not null check (role in ('viewer', 'editor', 'approver', 'admin')),
  granted_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (project_id, user_id)
);
create index project_roles_by_user on project_roles (user_id);

-- The base role applies in projects where a user has no project role; 'none'
-- gives no access to them.
alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in ('none', 'viewer', 'editor', 'approver', 'admin'));

-- Existing users keep what they could do in every existing project, as a
-- project role there; projects created from now on are opened to them by a
-- grant (admins stay admins everywhere).
insert into project_roles (project_id, user_id, role, granted_by)
  select p.id, u.id, u.role, 'migration' from users u cross join projects p where u.role <> 'admin';
update users set role = 'none', version = version + 1, updated_at = now() where role <> 'admin';

-- Change requests of three kinds: a flag's configuration in one environment
-- (as before), a flag's variations or archived state, and a segment.
alter table change_requests add column kind text not null default 'flag_configuration'
  check (kind in ('flag_configuration', 'flag_variations', 'flag_archive', 'segment'));
alter table change_requests add column segment_id text references segments (id);
alter table change_requests add column changes jsonb;
alter table change_requests alter column environment_id drop not null;
alter table change_requests alter column flag_id drop not null;
alter table change_requests alter column config drop not null;
