/** Plain-words formatting shared by the pages. */

/** A duration in the largest units that matter: "3 d 4 h", "12 min", "40 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** A number people read: at most 3 significant decimals, thousands grouped. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** A value in a metric's unit. */
export function formatValue(n: number, unit: string | undefined): string {
  if (unit === 'percent') return `${formatNumber(n)}%`;
  if (unit === 'ms') return n >= 1000 ? `${formatNumber(n / 1000)} s` : `${formatNumber(n)} ms`;
  return formatNumber(n);
}

/** An ISO time or epoch ms as a short local date and time. */
export function formatTime(t: string | number): string {
  const d = new Date(t);
  return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }) + ' UTC';
}

type Waiting = Record<string, unknown> & { kind?: unknown };

/** What a rollout waits for, in words ("3 d 4 h left", "1 approval (approver) of 1"...). */
export function describeWaitingFor(w: Waiting): string {
  switch (w.kind) {
    case 'time':
      return `${formatDuration(Number(w.remainingMs))} left in this phase`;
    case 'samples':
      return `${String(w.metric)}: ${formatNumber(Number(w.samples))} of ${formatNumber(Number(w.required))} ${String(w.cohort)} samples`;
    case 'data':
      return `no ${String(w.cohort)} data for ${String(w.metric)} yet`;
    case 'criteria':
      return `success criteria to be met: ${(w.gateIds as string[]).join(', ')}`;
    case 'checklist':
      return `${(w.itemIds as string[]).length} checklist item${(w.itemIds as string[]).length === 1 ? '' : 's'} to tick`;
    case 'approval':
      return `${Number(w.required) - Number(w.approvals)} approval${Number(w.required) - Number(w.approvals) === 1 ? '' : 's'} (${String(w.role)}) of ${Number(w.required)}`;
    case 'decision':
      return `a person's go/no-go on ${(w.gateIds as string[]).join(', ')}`;
    case 'resume':
      return 'a person to resume it';
    case 'start':
      return 'the pre-start checklist';
    default:
      return String(w.kind);
  }
}

/** A rollout status as people say it. */
export function statusLabel(status: string): string {
  return status.replace(/_/g, ' ');
}
