/**
 * Test support for the client API: writes flags, segments and SDK tokens
 * with SQL the way the management API does (one transaction that also calls
 * recordSnapshotChange), and a small Server-Sent Events reader over node:http.
 */
import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FlagEnvironmentConfig } from '@rollgate/contract';
import type { FlagType, Segment, Variation } from '@rollgate/core';
import type { Database, Sql } from '../../db/database.js';
import { generateTokenSecret, hashToken } from '../../http/auth.js';
import { newId } from '../../internal/ids.js';
import { BOOLEAN_VARIATIONS, defaultEnvironmentConfig } from '../flags/flag-defaults.js';
import { recordSnapshotChange } from '../snapshot-changes.js';

/** The project's id; locks its row, so concurrent writes to one project run one after the other. */
async function projectId(sql: Sql, projectKey: string): Promise<string> {
  const [row] = await sql.query<{ id: string }>('select id from projects where key = $1 for update', [projectKey]);
  if (row === undefined) throw new Error(`no project ${projectKey}`);
  return row.id;
}

async function environmentIds(sql: Sql, project: string): Promise<string[]> {
  return (await sql.query<{ id: string }>('select id from environments where project_id = $1 order by position', [project])).map((r) => r.id);
}

/** The id of an environment. */
export async function environmentId(db: Sql, environmentKey: string, projectKey = 'default'): Promise<string> {
  const [row] = await db.query<{ id: string }>('select e.id from environments e join projects p on p.id = e.project_id where p.key = $1 and e.key = $2', [
    projectKey,
    environmentKey,
  ]);
  if (row === undefined) throw new Error(`no environment ${projectKey}/${environmentKey}`);
  return row.id;
}

/** The environment's snapshot version as stored. */
export async function storedVersion(db: Sql, environmentKey: string, projectKey = 'default'): Promise<number> {
  const [row] = await db.query<{ v: number }>(
    'select e.snapshot_version as v from environments e join projects p on p.id = e.project_id where p.key = $1 and e.key = $2',
    [projectKey, environmentKey],
  );
  return row?.v ?? -1;
}

/** Creates a server or browser SDK token for an environment; returns its secret. */
export async function createSdkToken(db: Database, kind: 'server' | 'browser', environmentKey: string, projectKey = 'default'): Promise<string> {
  const secret = generateTokenSecret(kind);
  const project = await projectId(db, projectKey);
  const env = await environmentId(db, environmentKey, projectKey);
  await db.query(
    `insert into api_tokens (id, kind, name, token_hash, prefix, project_id, environment_id, created_by) values ($1, $2, $3, $4, $5, $6, $7, 'test')`,
    [newId('tok'), kind, `${kind} ${environmentKey}`, hashToken(secret), secret.slice(0, 12), project, env],
  );
  return secret;
}

export interface WriteFlag {
  key: string;
  projectKey?: string;
  type?: FlagType;
  variations?: Variation[];
  /** Per environment key: the flag's configuration there. */
  environments?: Record<string, FlagEnvironmentConfig>;
  archived?: boolean;
}

/**
 * Creates or updates a flag and its configuration in some environments, in
 * one transaction, recording a snapshot change in every environment whose
 * snapshot it changes (all of them when the flag is new, archived, restored
 * or its variations change; else those whose configuration is written).
 * Returns the new snapshot version of each environment touched, by id.
 */
export async function writeFlag(db: Database, input: WriteFlag): Promise<Map<string, number>> {
  return db.transaction(async (tx) => {
    const project = await projectId(tx, input.projectKey ?? 'default');
    const envs = await environmentIds(tx, project);
    const [existing] = await tx.query<{ id: string; archived: boolean }>('select id, archived_at is not null as archived from flags where project_id = $1 and key = $2', [
      project,
      input.key,
    ]);
    let flagId: string;
    let everywhere = false;
    const archived = input.archived ?? false;
    if (existing === undefined) {
      flagId = newId('flg');
      const variations = input.variations ?? BOOLEAN_VARIATIONS;
      await tx.query('insert into flags (id, project_id, key, name, type, variations, archived_at) values ($1, $2, $3, $4, $5, $6, $7)', [
        flagId,
        project,
        input.key,
        input.key,
        input.type ?? 'boolean',
        JSON.stringify(variations),
        archived ? new Date().toISOString() : null,
      ]);
      for (const env of envs) {
        await tx.query('insert into flag_environments (flag_id, environment_id, config) values ($1, $2, $3)', [flagId, env, JSON.stringify(defaultEnvironmentConfig(variations))]);
      }
      everywhere = true;
    } else {
      flagId = existing.id;
      if (input.variations !== undefined || input.type !== undefined) {
        await tx.query('update flags set variations = coalesce($2, variations), type = coalesce($3, type), version = version + 1 where id = $1', [
          flagId,
          input.variations === undefined ? null : JSON.stringify(input.variations),
          input.type ?? null,
        ]);
        everywhere = true;
      }
      if (archived !== existing.archived) {
        await tx.query('update flags set archived_at = $2, version = version + 1 where id = $1', [flagId, archived ? new Date().toISOString() : null]);
        everywhere = true;
      }
    }
    const touched = new Set<string>(everywhere ? envs : []);
    for (const [envKey, config] of Object.entries(input.environments ?? {})) {
      const env = await environmentId(tx, envKey, input.projectKey ?? 'default');
      await tx.query(
        `insert into flag_environments (flag_id, environment_id, config) values ($1, $2, $3)
         on conflict (flag_id, environment_id) do update set config = excluded.config, version = flag_environments.version + 1, updated_at = now()`,
        [flagId, env, JSON.stringify(config)],
      );
      touched.add(env);
    }
    const versions = new Map<string, number>();
    for (const env of touched) versions.set(env, await recordSnapshotChange(tx, env, { type: 'flag', key: input.key, removed: archived }));
    return versions;
  });
}

/** Creates, updates or archives a segment; records a change in every environment of its project. */
export async function writeSegment(
  db: Database,
  input: { key: string; name?: string; definition?: Omit<Segment, 'key' | 'name'>; archived?: boolean; projectKey?: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const project = await projectId(tx, input.projectKey ?? 'default');
    const archivedAt = input.archived === true ? new Date().toISOString() : null;
    await tx.query(
      `insert into segments (id, project_id, key, name, definition, archived_at) values ($1, $2, $3, $4, $5, $6)
       on conflict (project_id, key) do update set name = excluded.name, definition = excluded.definition, archived_at = excluded.archived_at, version = segments.version + 1`,
      [newId('seg'), project, input.key, input.name ?? input.key, JSON.stringify(input.definition ?? {}), archivedAt],
    );
    for (const env of await environmentIds(tx, project)) await recordSnapshotChange(tx, env, { type: 'segment', key: input.key, removed: archivedAt !== null });
  });
}

/** One Server-Sent Event, or a comment (`: heartbeat`). */
export interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
  /** performance.now() when it was parsed. */
  at: number;
}

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  messages: SseMessage[];
  /** Events only (comments left out). */
  events(): SseMessage[];
  /** Resolves with the first message (from `from` on) that `predicate` accepts. */
  waitFor(predicate: (m: SseMessage) => boolean, timeoutMs?: number, from?: number): Promise<SseMessage>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  close(): void;
}

/** Parses one SSE block (the lines between blank lines). */
function parseBlock(block: string, at: number): SseMessage | undefined {
  const message: SseMessage = { at };
  let any = false;
  for (const line of block.split('\n')) {
    if (line === '') continue;
    any = true;
    if (line.startsWith(':')) {
      message.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') message.event = value;
    else if (field === 'id') message.id = value;
    else if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
  }
  return any ? message : undefined;
}

/**
 * Opens GET /api/client/stream (or `options.path`, e.g. /api/frontend/stream)
 * on a listening server and collects what it sends. Rejects for a non-200
 * answer only after reading its body (status and body in the message).
 */
export function openStream(
  baseUrl: string,
  token: string | null,
  options: { lastEventId?: string; query?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${options.path ?? '/api/client/stream'}${options.query ?? ''}`, baseUrl);
    const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const req: ClientRequest = httpRequest(url, { headers, agent: false }, (res) => {
      const messages: SseMessage[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const message = parseBlock(buffer.slice(0, cut), performance.now());
          buffer = buffer.slice(cut + 2);
          if (message !== undefined) messages.push(message);
        }
        for (const w of [...waiters]) w();
      });
      const connection: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        events: () => messages.filter((m) => m.comment === undefined),
        waitFor(predicate, timeoutMs = 5_000, from = 0) {
          return new Promise((found, fail) => {
            const check = () => {
              for (let i = from; i < messages.length; i++) {
                const m = messages[i] as SseMessage;
                if (predicate(m)) {
                  waiters.delete(check);
                  clearTimeout(timer);
                  found(m);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no matching SSE message within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.event ?? `:${m.comment}`))}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        ended,
        close: () => req.destroy(),
      };
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c: string) => (body += c));
        res.on('end', () => reject(Object.assign(new Error(`stream answered ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
        return;
      }
      resolve(connection);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The base URL of an app listening on loopback. */
export function baseUrlOf(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return `http://127.0.0.1:${address.port}`;
}
