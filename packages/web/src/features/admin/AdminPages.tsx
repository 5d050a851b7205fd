import { useState, type ReactNode } from 'react';
import { useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api, seg } from '../../api/client.js';
import type { AuditEvent, Environment, Page, Segment, User } from '../../api/types.js';
import { formatTime } from '../../components/format.js';
import { ProjectPicker, useProjectKey } from '../../components/ProjectPicker.js';
import { QueryState } from '../../components/QueryState.js';
import { SortableTable, type Column } from '../../components/SortableTable.js';

interface Section<T> {
  title: string;
  perProject: boolean;
  path: (projectKey: string) => string;
  columns: Column<T>[];
  rowKey: (row: T) => string;
}

function section<T>(s: Section<T>): Section<unknown> {
  return s as unknown as Section<unknown>;
}

const json = (v: unknown): ReactNode => (v === null || v === undefined ? '–' : <code className="mono small">{JSON.stringify(v).slice(0, 300)}</code>);

const SECTIONS: Record<string, Section<unknown>> = {
  segments: section<Segment>({
    title: 'Segments',
    perProject: true,
    path: (p) => `/api/projects/${seg(p)}/segments?limit=200`,
    rowKey: (s) => s.key,
    columns: [
      { key: 'key', header: 'Key', sortValue: (s) => s.key, cell: (s) => s.key },
      { key: 'name', header: 'Name', sortValue: (s) => s.name, cell: (s) => s.name },
      { key: 'included', header: 'Included', cell: (s) => (s.definition.included ?? []).length },
      { key: 'rules', header: 'Rules', cell: (s) => (s.definition.rules ?? []).length },
    ],
  }),
  environments: section<Environment>({
    title: 'Environments',
    perProject: true,
    path: (p) => `/api/projects/${seg(p)}/environments?limit=100`,
    rowKey: (e) => e.key,
    columns: [
      { key: 'position', header: 'Order', sortValue: (e) => e.position, cell: (e) => e.position + 1 },
      { key: 'key', header: 'Key', sortValue: (e) => e.key, cell: (e) => e.key },
      { key: 'name', header: 'Name', cell: (e) => e.name },
      { key: 'approval', header: 'Changes need approval', cell: (e) => (e.requiresApproval ? 'yes' : 'no') },
    ],
  }),
  catalog: section<{ key: string; name: string; unit: string; kind: string; direction: string; source?: unknown }>({
    title: 'Metrics catalog',
    perProject: true,
    path: (p) => `/api/projects/${seg(p)}/metrics`,
    rowKey: (m) => m.key,
    columns: [
      { key: 'key', header: 'Key', sortValue: (m) => m.key, cell: (m) => m.key },
      { key: 'name', header: 'Name', sortValue: (m) => m.name, cell: (m) => m.name },
      { key: 'kind', header: 'Kind', sortValue: (m) => m.kind, cell: (m) => m.kind },
      { key: 'unit', header: 'Unit', cell: (m) => m.unit },
      { key: 'direction', header: 'Better', cell: (m) => m.direction },
    ],
  }),
  tokens: section<{ id: string; kind: string; name: string; prefix: string; projectKey: string | null; environmentKey: string | null; lastUsedAt: string | null; revokedAt: string | null }>({
    title: 'Tokens',
    perProject: false,
    path: () => '/api/tokens?limit=200',
    rowKey: (t) => t.id,
    columns: [
      { key: 'name', header: 'Name', sortValue: (t) => t.name, cell: (t) => t.name },
      { key: 'kind', header: 'Kind', sortValue: (t) => t.kind, cell: (t) => t.kind },
      { key: 'prefix', header: 'Starts with', cell: (t) => <code>{t.prefix}</code> },
      { key: 'scope', header: 'Scope', cell: (t) => (t.projectKey ? `${t.projectKey}/${t.environmentKey}` : 'personal') },
      { key: 'used', header: 'Last used', sortValue: (t) => t.lastUsedAt ?? '', cell: (t) => (t.lastUsedAt ? formatTime(t.lastUsedAt) : 'never') },
      { key: 'revoked', header: 'Revoked', cell: (t) => (t.revokedAt ? formatTime(t.revokedAt) : '–') },
    ],
  }),
  users: section<User>({
    title: 'Users',
    perProject: false,
    path: () => '/api/users?limit=200',
    rowKey: (u) => u.id,
    columns: [
      { key: 'name', header: 'Name', sortValue: (u) => u.name, cell: (u) => u.name },
      { key: 'email', header: 'Email', sortValue: (u) => u.email, cell: (u) => u.email },
      { key: 'role', header: 'Role', sortValue: (u) => u.role, cell: (u) => u.role },
      { key: 'disabled', header: 'Disabled', cell: (u) => (u.disabled ? 'yes' : 'no') },
    ],
  }),
  audit: section<AuditEvent>({
    title: 'Audit log',
    perProject: false,
    path: () => '/api/audit?limit=200',
    rowKey: (e) => e.id,
    columns: [
      { key: 'at', header: 'When', sortValue: (e) => e.at, cell: (e) => formatTime(e.at) },
      { key: 'actor', header: 'Who', sortValue: (e) => e.actor.name, cell: (e) => e.actor.name },
      { key: 'action', header: 'What', sortValue: (e) => e.action, cell: (e) => e.action },
      { key: 'resource', header: 'On', cell: (e) => `${e.resourceType} ${e.resourceKey ?? e.resourceId}${e.environmentKey ? ` (${e.environmentKey})` : ''}` },
      { key: 'before', header: 'Before', cell: (e) => json(e.before) },
      { key: 'after', header: 'After', cell: (e) => json(e.after) },
    ],
  }),
};

/** Segments, environments, the metrics catalog, tokens, users and the audit log: one table each, filterable. */
export function AdminPages() {
  const { section: name = '' } = useParams();
  const s = SECTIONS[name];
  const [chosen, setChosen] = useState<string | undefined>();
  const projectKey = useProjectKey(chosen);
  const [text, setText] = useState('');
  const query = useQuery({
    queryKey: [name, s?.perProject ? projectKey : 'all'],
    enabled: s !== undefined && (!s.perProject || projectKey !== undefined),
    queryFn: () => api<Page<unknown> | unknown[]>('GET', (s as Section<unknown>).path(projectKey ?? '')),
  });
  if (s === undefined) return <h1>No such page</h1>;
  return (
    <>
      <h1>{s.title}</h1>
      <div className="filters">
        {s.perProject && <ProjectPicker value={projectKey} onChange={setChosen} />}
        <label className="field inline">
          <span>Filter</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      </div>
      <QueryState query={query}>
        {(data) => {
          const rows = Array.isArray(data) ? data : data.items;
          const q = text.trim().toLowerCase();
          const shown = q === '' ? rows : rows.filter((r) => JSON.stringify(r).toLowerCase().includes(q));
          return <SortableTable caption={s.title} columns={s.columns} rows={shown} rowKey={s.rowKey} />;
        }}
      </QueryState>
    </>
  );
}
