// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import type { OverviewRow } from '../../api/types.js';
import { SortableTable, type Column } from '../../components/SortableTable.js';
import { filterOverview, NO_FILTER } from './overview-filter.js';

afterEach(cleanup);

const row = (id: string, flagKey: string, health: 'green' | 'yellow' | 'red', projectKey = 'shop', environmentKey = 'production', status: OverviewRow['status'] = 'running'): OverviewRow => ({
  id,
  projectKey,
  projectName: projectKey,
  flagKey,
  environmentKey,
  planKey: 'gradual',
  status,
  stageIndex: 0,
  createdAt: '',
  updatedAt: '',
  statusSummary: { status, health, phase: 1, phases: 5, percentage: 10, segments: [], daysInPhase: 1, waitingFor: [], summary: '', decision: 'none', environment: environmentKey },
});

const ROWS = [row('1', 'checkout', 'green'), row('2', 'search', 'red', 'shop', 'staging'), row('3', 'banner', 'yellow', 'blog', 'production', 'held')];

describe('the overview filters', () => {
  it('filters by project, environment, status light or state, and text', () => {
    expect(filterOverview(ROWS, NO_FILTER)).toHaveLength(3);
    expect(filterOverview(ROWS, { ...NO_FILTER, project: 'blog' }).map((r) => r.id)).toEqual(['3']);
    expect(filterOverview(ROWS, { ...NO_FILTER, environment: 'staging' }).map((r) => r.id)).toEqual(['2']);
    expect(filterOverview(ROWS, { ...NO_FILTER, status: 'red' }).map((r) => r.id)).toEqual(['2']);
    expect(filterOverview(ROWS, { ...NO_FILTER, status: 'held' }).map((r) => r.id)).toEqual(['3']);
    expect(filterOverview(ROWS, { ...NO_FILTER, text: 'CHECK' }).map((r) => r.id)).toEqual(['1']);
  });
});

describe('a sortable table', () => {
  const columns: Column<OverviewRow>[] = [
    { key: 'flag', header: 'Flag', sortValue: (r) => r.flagKey, cell: (r) => r.flagKey },
    { key: 'light', header: 'Light', cell: (r) => r.statusSummary.health },
  ];
  it('sorts by a column when its header is pressed, and says so with aria-sort', () => {
    render(<SortableTable caption="Rollouts" columns={columns} rows={ROWS} rowKey={(r) => r.id} />);
    const header = screen.getByRole('button', { name: /Flag/ });
    fireEvent.click(header);
    const flags = () => screen.getAllByRole('row').slice(1).map((tr) => within(tr).getAllByRole('cell')[0]?.textContent);
    expect(flags()).toEqual(['banner', 'checkout', 'search']);
    expect(screen.getByRole('columnheader', { name: /Flag/ }).getAttribute('aria-sort')).toBe('ascending');
    fireEvent.click(header);
    expect(flags()).toEqual(['search', 'checkout', 'banner']);
    expect(screen.getByRole('columnheader', { name: /Flag/ }).getAttribute('aria-sort')).toBe('descending');
    // A column without a sort value is plain text.
    expect(screen.queryByRole('button', { name: 'Light' })).toBeNull();
  });
});
