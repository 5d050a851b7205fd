// What the benchmarks that drive a real server share: worker child processes with a message
// queue, JSON calls to the API, percentiles and markdown tables.
import { fork } from 'node:child_process';

/** The `p`th percentile of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** A markdown table with right-aligned numeric columns (`align[i]` is 'r' or 'l'). */
export function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const pad = (s, i) => (align[i] === 'r' ? String(s).padStart(widths[i]) : String(s).padEnd(widths[i]));
  const lines = [`| ${headers.map(pad).join(' | ')} |`, `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(pad).join(' | ')} |`);
  return lines.join('\n');
}

/**
 * Starts `script --worker <kind>` as a child process with IPC: `next()` resolves with its next
 * message (queued when it came before being asked for).
 */
export function startWorker(script, kind) {
  const child = fork(script, ['--worker', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue = [];
  const waiting = [];
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    exited,
    next: (timeoutMs = 120_000) =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${kind} worker did not answer within ${timeoutMs} ms`)), timeoutMs);
            waiting.push((m) => {
              clearTimeout(timer);
              resolve(m);
            });
          }),
  };
}

/** A JSON call with a bearer token; throws on a status that is not 2xx. Resolves to `{ status, headers, body }`. */
export async function api(base, token, method, path, body) {
  const res = await globalThis.fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return { status: res.status, headers: res.headers, body: json };
}
