/**
 * Wording shared by validation, assessment and decisions, so that a number
 * reads the same in a validation issue, a gate summary and a decision reason.
 */
import type { ComparisonOperator, GateCondition, MetricDefinition } from '../types.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** Whether `a OP b` holds. Non-finite operands never satisfy a condition. */
export function compare(a: number, op: ComparisonOperator, b: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return false;
  }
}

/** A number with at most three decimals and no trailing zeros. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const rounded = Math.round(n * 1000) / 1000;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/** A metric value with its unit: `2.5%`, `2400 ms`, `3`. */
export function formatValue(n: number, definition: MetricDefinition | undefined): string {
  switch (definition?.unit) {
    case 'percent':
      return `${formatNumber(n)}%`;
    case 'ms':
      return `${formatNumber(n)} ms`;
    default:
      return formatNumber(n);
  }
}

/** A duration in words: `1 h 1 min`, `2 d`, `45 s`, `0 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  if (ms <= 0) return '0 s';
  const parts: string[] = [];
  let rest = Math.round(ms / SECOND) * SECOND;
  for (const [size, unit] of [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'min'],
    [SECOND, 's'],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}`);
    rest -= n * size;
  }
  // Two units are precise enough for people; "2 d 3 h" beats "2 d 3 h 4 min 5 s".
  return parts.length === 0 ? '1 s' : parts.slice(0, 2).join(' ');
}

/** A condition in words: `error-rate > 2%`, `response-time-p95 vs control > +50%`. */
export function formatCondition(metric: string, condition: GateCondition, definition: MetricDefinition | undefined): string {
  switch (condition.type) {
    case 'absolute':
      return `${metric} ${condition.op} ${formatValue(condition.value, definition)}`;
    case 'difference':
      return `${metric} minus control ${condition.op} ${signed(formatValue(condition.value, definition), condition.value)}`;
    case 'relative':
      return `${metric} vs control ${condition.op} ${signed(`${formatNumber(condition.value)}%`, condition.value)}`;
    default:
      return metric;
  }
}

/** The compared quantity in words, matching {@link formatCondition}. */
export function formatEstimate(estimate: number, condition: GateCondition, definition: MetricDefinition | undefined): string {
  switch (condition.type) {
    case 'absolute':
      return formatValue(estimate, definition);
    case 'difference':
      return signed(formatValue(estimate, definition), estimate);
    case 'relative':
      return signed(`${formatNumber(estimate)}%`, estimate);
    default:
      return formatNumber(estimate);
  }
}

function signed(text: string, n: number): string {
  return n > 0 ? `+${text}` : text;
}

/** `a`, `a and b`, `a, b and c`. */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
