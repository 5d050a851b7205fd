-- A project setting: accept metrics that are neither in the built-in catalog
-- nor among the project's metric definitions (free-form metrics). Off by
-- default, so that a misspelled metric key is refused at ingestion instead of
-- being stored where no gate reads it.
alter table projects add column free_form_metrics boolean not null default false;
