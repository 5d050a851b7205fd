import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';

/** Loading and error states of a query, then its data. */
export function QueryState<T>({ query, children }: { query: UseQueryResult<T>; children: (data: T) => ReactNode }) {
  if (query.isPending) return <p aria-live="polite">Loading…</p>;
  if (query.isError) {
    return (
      <p className="error" role="alert">
        {query.error.message}
      </p>
    );
  }
  return <>{children(query.data)}</>;
}
