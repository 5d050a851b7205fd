/** Small formatting helpers for human output. */

/** 90_000 → "1m 30s", 3_600_000 → "1h", 2 days → "2d". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.length === 0 ? `${ms}ms` : parts.join(' ');
}

/** An ISO time as "2026-03-01 14:05:00Z" (shorter, still unambiguous). */
export function formatTime(iso: string | undefined | null): string {
  if (iso === undefined || iso === null || iso === '') return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
