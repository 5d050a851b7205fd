/**
 * Test support: a fingerprint of every table, to prove that a refused
 * request changed nothing. One statement per call (row count and an md5 of
 * the rows per table), so a suite can take one before and after each request.
 */
import type { Sql } from './database.js';

/** Columns that change without a request changing anything (token use is recorded off the request path). */
const VOLATILE: Record<string, readonly string[]> = { api_tokens: ['last_used_at'] };

/** Per table: its row count and an md5 of its rows. */
export type TableDump = Record<string, string>;

const queries = new WeakMap<Sql, string>();

async function dumpQuery(sql: Sql): Promise<string> {
  const known = queries.get(sql);
  if (known !== undefined) return known;
  const tables = await sql.query<{ name: string }>(
    "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name",
  );
  const parts = tables.map(({ name }) => {
    const row = (VOLATILE[name] ?? []).reduce((expr, column) => `(${expr} - '${column}')`, 'to_jsonb(x)');
    return `select '${name}' as name, count(*)::text || ':' || coalesce(md5(string_agg(${row}::text, ',' order by ${row}::text)), '') as fingerprint from "${name}" x`;
  });
  const text = parts.join(' union all ');
  queries.set(sql, text);
  return text;
}

/** The fingerprint of every table of the current schema. */
export async function dumpTables(sql: Sql): Promise<TableDump> {
  const rows = await sql.query<{ name: string; fingerprint: string }>(await dumpQuery(sql));
  return Object.fromEntries(rows.map((r) => [r.name, r.fingerprint]));
}

/** The tables whose fingerprint differs between two dumps. */
export function changedTables(before: TableDump, after: TableDump): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((name) => before[name] !== after[name]).sort();
}

/**
 * The next transaction id: it moves whenever a transaction writes (even one
 * rolled back later), and reading it writes nothing. Equal before and after a
 * request means that nothing changed; different means a full dump must tell.
 */
export async function nextTransactionId(sql: Sql): Promise<string> {
  const [row] = await sql.query<{ xmax: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xmax');
  return String(row?.xmax);
}
