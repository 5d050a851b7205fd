import type { OverviewRow } from '../../api/types.js';

export interface OverviewFilter {
  project: string;
  environment: string;
  /** A health colour (`green`, `yellow`, `red`) or a rollout status (`running`, `held`...); '' for all. */
  status: string;
  /** Free text over flag, plan and project. */
  text: string;
}

export const NO_FILTER: OverviewFilter = { project: '', environment: '', status: '', text: '' };

/** The rows that pass every filter. */
export function filterOverview(rows: readonly OverviewRow[], f: OverviewFilter): OverviewRow[] {
  const text = f.text.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (f.project === '' || r.projectKey === f.project) &&
      (f.environment === '' || r.environmentKey === f.environment || r.statusSummary.environment === f.environment) &&
      (f.status === '' || r.statusSummary.health === f.status || r.status === f.status) &&
      (text === '' || `${r.flagKey} ${r.planKey} ${r.projectKey} ${r.projectName}`.toLowerCase().includes(text)),
  );
}

/** Sort order of health: red first when sorting ascending means "worst first". */
export const HEALTH_ORDER: Record<string, number> = { red: 0, yellow: 1, green: 2 };
