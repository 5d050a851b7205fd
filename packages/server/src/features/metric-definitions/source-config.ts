/**
 * What a metric definition's source means, checked before it is saved, and
 * how its secrets are kept out of answers and the audit log.
 */
import { REDACTED_VALUE, type MetricSource } from '@rollgate/contract';
import { JsonPathError, parseJsonPath } from './sources/json-path.js';
import { HTTP_PLACEHOLDERS, PATH_PLACEHOLDERS, PROMQL_PLACEHOLDERS, renderTemplate, templateProblems, urlComponent, usesPlaceholder } from './sources/templates.js';

export interface SourceIssue {
  path: string;
  message: string;
}

/** Why a URL cannot be a source's, or undefined. */
function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be http:// or https://, not ${url.protocol}//`;
  if (url.username !== '' || url.password !== '') return 'must not contain a user or password: send credentials in headers, which are never shown back';
  return undefined;
}

/** Example values to check templates with: what a rollout fills in. */
const EXAMPLE = { cohort: 'treatment', flag: 'new-checkout', environment: 'production', project: 'shop', window: '1h', from: '2025-03-01T00:00:00.000Z', to: '2025-03-01T01:00:00.000Z' };

function checkPath(issues: SourceIssue[], path: string, value: string): void {
  const problems = templateProblems(value, PATH_PLACEHOLDERS);
  for (const message of problems) issues.push({ path, message });
  if (problems.length > 0) return;
  try {
    parseJsonPath(renderTemplate(value, EXAMPLE, (v) => v));
  } catch (error) {
    if (!(error instanceof JsonPathError)) throw error;
    issues.push({ path, message: `is not a dot/bracket path such as data.items[0].value: ${error.message}` });
  }
}

/**
 * Issues of a source, with paths as in the request body (`source.query`).
 * The shape has been checked by the contract schema already.
 */
export function sourceIssues(source: MetricSource): SourceIssue[] {
  const issues: SourceIssue[] = [];
  switch (source.type) {
    case 'push':
      break;
    case 'prometheus': {
      for (const field of ['query', 'samplesQuery'] as const) {
        const template = source[field];
        if (template === undefined) continue;
        for (const message of templateProblems(template, PROMQL_PLACEHOLDERS)) issues.push({ path: `source.${field}`, message });
      }
      if (source.samplesQuery !== undefined && usesPlaceholder(source.query, 'cohort') !== usesPlaceholder(source.samplesQuery, 'cohort')) {
        issues.push({ path: 'source.samplesQuery', message: 'must name {{cohort}} exactly when query does, so that each cohort gets its own samples' });
      }
      if (source.baseUrl !== undefined) {
        const problem = urlProblem(source.baseUrl);
        if (problem !== undefined) issues.push({ path: 'source.baseUrl', message: problem });
      }
      break;
    }
    case 'http': {
      const problems = templateProblems(source.url, HTTP_PLACEHOLDERS);
      for (const message of problems) issues.push({ path: 'source.url', message });
      if (problems.length === 0) {
        const problem = urlProblem(renderTemplate(source.url, EXAMPLE, urlComponent));
        if (problem !== undefined) issues.push({ path: 'source.url', message: problem });
      }
      checkPath(issues, 'source.valuePath', source.valuePath);
      if (source.samplesPath !== undefined) checkPath(issues, 'source.samplesPath', source.samplesPath);
      break;
    }
  }
  return issues;
}

/**
 * The source as answers and the audit log show it: every header value
 * replaced by `[redacted]` (header names stay, so people see what is sent).
 */
export function redactSource(source: MetricSource): MetricSource {
  if (source.type === 'push' || source.headers === undefined) return source;
  return { ...source, headers: Object.fromEntries(Object.keys(source.headers).map((name) => [name, REDACTED_VALUE])) };
}

/**
 * A source from a write, with each header sent as `[redacted]` given back
 * its stored value (a client that read the definition sends it back as it
 * read it). A `[redacted]` header with no stored value is an issue.
 */
export function restoreRedacted(source: MetricSource, stored: MetricSource | undefined): { source: MetricSource; issues: SourceIssue[] } {
  if (source.type === 'push' || source.headers === undefined) return { source, issues: [] };
  const storedHeaders = stored !== undefined && stored.type !== 'push' ? (stored.headers ?? {}) : {};
  const issues: SourceIssue[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.headers)) {
    if (value !== REDACTED_VALUE) {
      headers[name] = value;
      continue;
    }
    const kept = Object.entries(storedHeaders).find(([storedName]) => storedName.toLowerCase() === name.toLowerCase())?.[1];
    if (kept === undefined) issues.push({ path: `source.headers.${name}`, message: `${REDACTED_VALUE} stands for the stored value of this header, and there is none: send the value` });
    else headers[name] = kept;
  }
  return { source: { ...source, headers }, issues };
}
