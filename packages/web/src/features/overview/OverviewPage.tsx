import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.js';
import type { Overview, OverviewRow } from '../../api/types.js';
import { describeWaitingFor, statusLabel } from '../../components/format.js';
import { QueryState } from '../../components/QueryState.js';
import { SortableTable, type Column } from '../../components/SortableTable.js';
import { StatusLight } from '../../components/StatusLight.js';
import { filterOverview, HEALTH_ORDER, NO_FILTER, type OverviewFilter } from './overview-filter.js';

export const overviewQuery = { queryKey: ['overview'], queryFn: () => api<Overview>('GET', '/api/dashboard/overview') };

const COLUMNS: Column<OverviewRow>[] = [
  {
    key: 'health',
    header: 'Status',
    sortValue: (r) => HEALTH_ORDER[r.statusSummary.health] ?? 3,
    cell: (r) => (
      <div className="status-cell">
        <StatusLight health={r.statusSummary.health} reason={r.statusSummary.summary} />
        <span className="status-word">{statusLabel(r.status)}</span>
        <span className="reason">{r.statusSummary.summary}</span>
      </div>
    ),
  },
  {
    key: 'flag',
    header: 'Flag',
    sortValue: (r) => r.flagKey,
    cell: (r) => (
      <Link to={`/rollouts/${r.projectKey}/${r.id}`} className="flag-link">
        {r.flagKey}
      </Link>
    ),
  },
  { key: 'project', header: 'Project', sortValue: (r) => r.projectName, cell: (r) => r.projectName },
  { key: 'environment', header: 'Environment', sortValue: (r) => r.statusSummary.environment ?? r.environmentKey, cell: (r) => r.statusSummary.environment ?? r.environmentKey },
  {
    key: 'phase',
    header: 'Phase',
    sortValue: (r) => r.statusSummary.phase,
    cell: (r) => (
      <>
        {r.statusSummary.phase} of {r.statusSummary.phases}
        {r.statusSummary.stageName !== undefined && <div className="muted">{r.statusSummary.stageName}</div>}
      </>
    ),
  },
  { key: 'percentage', header: 'Users', sortValue: (r) => r.statusSummary.percentage, cell: (r) => `${r.statusSummary.percentage}%` },
  { key: 'start', header: 'Started', sortValue: (r) => r.statusSummary.startDate ?? '', cell: (r) => r.statusSummary.startDate ?? 'not started' },
  { key: 'days', header: 'Days in phase', sortValue: (r) => r.statusSummary.daysInPhase, cell: (r) => r.statusSummary.daysInPhase },
  {
    key: 'waiting',
    header: 'Waiting for',
    cell: (r) =>
      r.statusSummary.waitingFor.length === 0 ? (
        <span className="muted">nothing</span>
      ) : (
        <ul className="plain">
          {r.statusSummary.waitingFor.map((w, i) => (
            <li key={i}>{describeWaitingFor(w)}</li>
          ))}
        </ul>
      ),
  },
];

function Select({ label, value, options, onChange }: { label: string; value: string; options: [string, string][]; onChange: (v: string) => void }) {
  return (
    <label className="field inline">
      <span>{label}</span>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The seed 000 "Current Status" block for every rollout: one line each, sortable and filterable. */
export function OverviewPage() {
  const query = useQuery(overviewQuery);
  const [filter, setFilter] = useState<OverviewFilter>(NO_FILTER);
  const rows = useMemo(() => filterOverview(query.data?.items ?? [], filter), [query.data, filter]);
  const projects = [...new Map((query.data?.items ?? []).map((r) => [r.projectKey, r.projectName])).entries()];
  const environments = [...new Set((query.data?.items ?? []).map((r) => r.statusSummary.environment ?? r.environmentKey))].map((e): [string, string] => [e, e]);
  const counts = { red: 0, yellow: 0, green: 0 };
  for (const r of query.data?.items ?? []) counts[r.statusSummary.health]++;
  return (
    <>
      <h1>Rollouts</h1>
      <p className="summary-line" aria-live="polite">
        {query.data !== undefined && (
          <>
            {query.data.items.length} rollouts: <strong>{counts.red} red</strong>, {counts.yellow} yellow, {counts.green} green
          </>
        )}
      </p>
      <div className="filters" role="group" aria-label="Filters">
        <Select label="Project" value={filter.project} options={projects} onChange={(project) => setFilter({ ...filter, project })} />
        <Select label="Environment" value={filter.environment} options={environments} onChange={(environment) => setFilter({ ...filter, environment })} />
        <Select
          label="Status"
          value={filter.status}
          options={[
            ['red', 'Red'],
            ['yellow', 'Yellow'],
            ['green', 'Green'],
            ['running', 'Running'],
            ['held', 'Held'],
            ['awaiting_approval', 'Awaiting approval'],
            ['draft', 'Draft'],
            ['completed', 'Completed'],
            ['rolled_back', 'Rolled back'],
          ]}
          onChange={(status) => setFilter({ ...filter, status })}
        />
        <label className="field inline">
          <span>Search</span>
          <input type="search" value={filter.text} onChange={(e) => setFilter({ ...filter, text: e.target.value })} placeholder="flag or plan" />
        </label>
      </div>
      <QueryState query={query}>
        {() => (
          <SortableTable
            caption="Rollouts and their current status"
            columns={COLUMNS}
            rows={rows}
            rowKey={(r) => r.id}
            initialSort="health"
            empty="No rollouts match. Start one from a flag's page or with rollgate rollouts start."
          />
        )}
      </QueryState>
    </>
  );
}
