import { useState, type ReactNode } from 'react';

export interface Column<T> {
  key: string;
  header: string;
  cell: (row: T) => ReactNode;
  /** The value rows are sorted by; columns without one cannot be sorted. */
  sortValue?: (row: T) => string | number;
}

/** Rows sorted by `key` in `direction`, stable for equal values. */
export function sortRows<T>(rows: readonly T[], column: Column<T> | undefined, direction: 'ascending' | 'descending'): T[] {
  if (column?.sortValue === undefined) return [...rows];
  const value = column.sortValue;
  const sign = direction === 'ascending' ? 1 : -1;
  return rows
    .map((row, i) => ({ row, i, v: value(row) }))
    .sort((a, b) => (a.v < b.v ? -sign : a.v > b.v ? sign : a.i - b.i))
    .map((x) => x.row);
}

/** A table people sort by clicking (or pressing Enter on) a column header; aria-sort says how it is sorted. */
export function SortableTable<T>({ caption, columns, rows, rowKey, initialSort, empty }: { caption: string; columns: Column<T>[]; rows: readonly T[]; rowKey: (row: T) => string; initialSort?: string; empty?: ReactNode }) {
  const [sort, setSort] = useState<{ key: string | undefined; direction: 'ascending' | 'descending' }>({ key: initialSort, direction: 'ascending' });
  const sorted = sortRows(rows, columns.find((c) => c.key === sort.key), sort.direction);
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" aria-sort={sort.key === c.key ? sort.direction : undefined}>
                {c.sortValue === undefined ? (
                  c.header
                ) : (
                  <button
                    type="button"
                    className="sort"
                    onClick={() => setSort((s) => ({ key: c.key, direction: s.key === c.key && s.direction === 'ascending' ? 'descending' : 'ascending' }))}
                  >
                    {c.header}
                    <span aria-hidden="true">{sort.key === c.key ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={columns.length}>{empty ?? 'Nothing here yet.'}</td>
            </tr>
          ) : (
            sorted.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((c) => (
                  <td key={c.key} data-label={c.header}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
