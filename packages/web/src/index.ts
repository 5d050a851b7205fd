/**
 * @rollgate/web: the dashboard. Not built yet.
 */
export const DASHBOARD_AVAILABLE = false;
