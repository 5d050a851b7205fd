/**
 * Templates of external metric sources: `{{name}}` placeholders (spaces
 * inside the braces allowed) filled with the rollout's cohort, flag,
 * environment, project and window, each value escaped for where it lands.
 */

/** Placeholders of PromQL templates. */
export const PROMQL_PLACEHOLDERS = ['cohort', 'flag', 'environment', 'project', 'window'] as const;
/** Placeholders of HTTP source URLs: the PromQL ones and the stage's start and now (ISO 8601). */
export const HTTP_PLACEHOLDERS = [...PROMQL_PLACEHOLDERS, 'from', 'to'] as const;
/** Placeholders of HTTP value and samples paths. */
export const PATH_PLACEHOLDERS = ['cohort'] as const;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Names of the placeholders in `template`, in order, with repeats. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/**
 * What is wrong with a template's placeholders, as messages: unknown names,
 * and a `{{` that opens no placeholder (`{{cohort}` or `{{ 1 }}`).
 */
export function templateProblems(template: string, allowed: readonly string[]): string[] {
  const problems: string[] = [];
  const unknown = [...new Set(placeholdersOf(template).filter((p) => !allowed.includes(p)))];
  if (unknown.length > 0) {
    problems.push(`unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `{{${p}}}`).join(', ')}; the placeholders are ${allowed.map((p) => `{{${p}}}`).join(', ')}`);
  }
  if (template.replace(PLACEHOLDER, '').includes('{{')) problems.push('has a "{{" that does not open a placeholder such as {{flag}}');
  return problems;
}

/** Whether `template` reads the cohort, so that treatment and control are read separately. */
export function usesPlaceholder(template: string | undefined, name: string): boolean {
  return template !== undefined && placeholdersOf(template).includes(name);
}

/**
 * Fills `template`, passing each value through `escape`. Unknown placeholders
 * are an error (definitions are validated when saved, so this means a bug).
 *
 * @example
 * renderTemplate('rate(x{flag="{{flag}}"}[{{window}}])', { flag: 'new-checkout', window: '5m' }, promqlString);
 * // 'rate(x{flag="new-checkout"}[5m])'
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>, escape: (value: string, name: string) => string): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the placeholder {{${name}}}`);
    return escape(value, name);
  });
}

/**
 * A value made safe inside a double-quoted PromQL string (`flag="{{flag}}"`):
 * backslashes, double quotes and line breaks escaped, as PromQL (Go) string
 * literals read them. The window is a duration, not a string, and is passed
 * as is.
 */
export function promqlString(value: string, name = ''): string {
  if (name === 'window') return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** A value made safe anywhere in a URL (path segment or query value). */
export function urlComponent(value: string): string {
  return encodeURIComponent(value);
}

/**
 * A PromQL duration for `ms`: whole hours, minutes or seconds (`2h`, `1m`,
 * `3600s` is `1h`), at least `1s`.
 */
export function promDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
