/**
 * The per-replica cache of environment snapshots, and the fan-out of their
 * changes to streaming clients.
 *
 * Every replica holds, per environment it has served, the snapshot, its JSON
 * text, a strong ETag and (on first use) the compiled form. It listens on
 * CHANGES_CHANNEL: a notification reloads that environment from the database
 * (one load at a time per environment; notifications during a load coalesce
 * into one more load; a load never replaces a newer version) and pushes one
 * `change` event to the environment's stream clients. An empty payload (the
 * LISTEN connection came back after a reconnect) reloads every cached
 * environment. A periodic check of the versions in the database catches any
 * notification that was lost anyway.
 */
import { RE2JS } from 're2js';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { z } from 'zod';
import { compileSnapshot, type CompiledSnapshot, type FlagConfig, type Segment } from '@rollgate/core';
import type { frontendVersionEventSchema } from '@rollgate/contract';
import { CHANGES_CHANNEL, type Database } from '../../db/database.js';
import { ApiError } from '../../http/errors.js';
import type { Logger } from '../../internal/logger.js';
import type { SnapshotChange } from '../snapshot-changes.js';
import { loadSnapshot, type ChangeRow, type LoadedSnapshot } from './snapshot-store.js';
import { diffSnapshots, HEARTBEAT, resolveChanges, sseEvent, type ChangeEventData, type SnapshotIndex } from './sse.js';

/** One environment's snapshot at one version, with everything the endpoints serve precomputed. */
export class CachedSnapshot implements SnapshotIndex {
  readonly environmentId: string;
  readonly projectId: string;
  /** `<projectKey>/<environmentKey>`, the metrics label. */
  readonly label: string;
  readonly version: number;
  readonly snapshot: LoadedSnapshot['snapshot'];
  /** The snapshot as JSON text: the body of GET /api/client/snapshot. */
  readonly json: string;
  /** The same, encoded once. */
  readonly body: Buffer;
  /** Strong ETag: the version and a hash of the JSON text, so it changes whenever the content does. */
  readonly etag: string;
  readonly flags: ReadonlyMap<string, FlagConfig>;
  readonly segments: ReadonlyMap<string, Segment>;
  private compiledSnapshot: CompiledSnapshot | undefined;
  private snapshotEventBuffer: Buffer | undefined;
  private versionEventBuffer: Buffer | undefined;

  constructor(loaded: LoadedSnapshot) {
    this.environmentId = loaded.environmentId;
    this.projectId = loaded.projectId;
    this.label = `${loaded.projectKey}/${loaded.snapshot.environment}`;
    this.snapshot = loaded.snapshot;
    this.version = loaded.snapshot.version;
    this.json = JSON.stringify(loaded.snapshot);
    this.body = Buffer.from(this.json, 'utf8');
    this.etag = `"${this.version}-${createHash('sha256').update(this.json).digest('base64url').slice(0, 27)}"`;
    this.flags = new Map(loaded.snapshot.flags.map((f) => [f.key, f]));
    this.segments = new Map(loaded.snapshot.segments.map((s) => [s.key, s]));
  }

  /** The compiled snapshot for server-side evaluation, built on first use. */
  get compiled(): CompiledSnapshot {
    return (this.compiledSnapshot ??= compileSnapshot(this.snapshot, { regex: RE2JS }));
  }

  /** The `snapshot` SSE event of this version. */
  get snapshotEvent(): Buffer {
    return (this.snapshotEventBuffer ??= sseEvent('snapshot', this.version, this.json));
  }

  /** The frontend stream's `version` event of this version: no configuration, only the version. */
  get versionEvent(): Buffer {
    const data: z.infer<typeof frontendVersionEventSchema> = { version: this.version };
    return (this.versionEventBuffer ??= sseEvent('version', this.version, JSON.stringify(data)));
  }

  /** Whether an If-None-Match header value matches this ETag (weak comparison, as RFC 9110 says for If-None-Match). */
  matches(ifNoneMatch: string | undefined): boolean {
    if (ifNoneMatch === undefined) return false;
    if (ifNoneMatch === this.etag) return true;
    for (const part of ifNoneMatch.split(',')) {
      const tag = part.trim();
      if (tag === '*' || tag === this.etag || (tag.startsWith('W/') && tag.slice(2) === this.etag)) return true;
    }
    return false;
  }
}

/** What a change from one version to the next sends: the event, shared by every client. */
interface Transition {
  from: number;
  to: number;
  /** Undefined when the change needs a full snapshot (not a flag or segment change). */
  event: Buffer | undefined;
}

/**
 * What a stream is sent: `changes` (server SDKs: the snapshot and each change,
 * with the configuration) or `version` (browsers: only the new version, no
 * targeting rules; the browser evaluates again through the frontend API).
 */
export type StreamMode = 'changes' | 'version';

/** A connected stream. */
export class StreamClient {
  /** The snapshot version the client holds once it has read everything written to it. */
  version: number;
  /** When a write last returned false without a 'drain' since (the socket buffer is full). */
  blockedSince: number | undefined;
  closed = false;
  private readonly onDrain = () => {
    this.blockedSince = undefined;
  };

  constructor(
    readonly environmentId: string,
    readonly res: ServerResponse,
    version: number,
    private readonly now: () => number,
    /** The token the stream was opened with: its revocation ends the stream. */
    readonly tokenId: string | undefined = undefined,
    readonly mode: StreamMode = 'changes',
  ) {
    this.version = version;
  }

  /** Writes `chunk` unless the stream is closed; notes when the socket stops draining. */
  write(chunk: Buffer): void {
    if (this.closed || this.res.destroyed || this.res.writableEnded) return;
    if (!this.res.write(chunk) && this.blockedSince === undefined) {
      this.blockedSince = this.now();
      this.res.once('drain', this.onDrain);
    }
  }

  /** Bytes written but not yet handed to the kernel. */
  get buffered(): number {
    return this.res.writableLength;
  }
}

export interface SnapshotHubOptions {
  db: Database;
  logger: Logger;
  metrics: Registry;
  heartbeatMs: number;
  /** A stream whose socket has not drained for this long is dropped. Default 30 s. */
  stallMs?: number;
  /** A stream with more than this many bytes waiting is dropped at once. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** How often the cached versions are compared with the database, in case a notification was lost. Default 30 s. */
  reconcileMs?: number;
  now?: () => number;
}

interface EnvironmentSlot {
  id: string;
  entry: CachedSnapshot | undefined;
  loading: Promise<CachedSnapshot> | undefined;
  /** A reload was asked for while one was running (or is due). */
  dirty: boolean;
  retry: NodeJS.Timeout | undefined;
  clients: Set<StreamClient>;
  /** Recent transitions by their `from` version, oldest first (Map keeps insertion order). */
  transitions: Map<number, Transition>;
}

const KEEP_TRANSITIONS = 256;
const RETRY_MS = 1_000;

/** The per-replica snapshot cache and stream fan-out. `start()` subscribes; `close()` ends everything. */
export class SnapshotHub {
  private readonly slots = new Map<string, EnvironmentSlot>();
  private readonly db: Database;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stallMs: number;
  private readonly maxBufferedBytes: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;
  private readonly dropped: Counter;

  constructor(private readonly options: SnapshotHubOptions) {
    this.db = options.db;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.stallMs = options.stallMs ?? 30_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    const slots = this.slots;
    new Gauge({
      name: 'rollgate_stream_clients',
      help: 'Connected streaming clients (GET /api/client/stream and GET /api/frontend/stream), by environment (<project>/<environment>)',
      labelNames: ['environment'],
      registers: [options.metrics],
      collect() {
        this.reset();
        for (const slot of slots.values()) if (slot.entry !== undefined) this.set({ environment: slot.entry.label }, slot.clients.size);
      },
    });
    new Gauge({
      name: 'rollgate_snapshot_version',
      help: 'Snapshot version held in memory by this replica, by environment (<project>/<environment>)',
      labelNames: ['environment'],
      registers: [options.metrics],
      collect() {
        this.reset();
        for (const slot of slots.values()) if (slot.entry !== undefined) this.set({ environment: slot.entry.label }, slot.entry.version);
      },
    });
    this.dropped = new Counter({
      name: 'rollgate_stream_dropped_total',
      help: 'Streaming clients disconnected by the server because they did not read fast enough',
      registers: [options.metrics],
    });
  }

  /** Subscribes to change notifications and starts the heartbeat and reconcile timers. */
  async start(): Promise<void> {
    this.unlisten = await this.db.listen(CHANGES_CHANNEL, (payload) => this.onNotification(payload));
    const heartbeat = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
    const reconcile = setInterval(() => void this.reconcile(), this.options.reconcileMs ?? 30_000);
    heartbeat.unref();
    reconcile.unref();
    this.timers.push(heartbeat, reconcile);
  }

  /** The cached snapshot of an environment, if this replica holds it (no I/O). */
  peek(environmentId: string): CachedSnapshot | undefined {
    return this.slots.get(environmentId)?.entry;
  }

  /** The snapshot of an environment: cached, or loaded now (concurrent callers share one load). */
  get(environmentId: string): Promise<CachedSnapshot> {
    const slot = this.slot(environmentId);
    if (slot.entry !== undefined) return Promise.resolve(slot.entry);
    return this.refresh(slot);
  }

  /** The recorded transitions cover every version after `fromVersion` up to the current one. */
  canReplay(environmentId: string, fromVersion: number): boolean {
    const slot = this.slots.get(environmentId);
    const current = slot?.entry?.version;
    if (slot === undefined || current === undefined || fromVersion > current) return false;
    let v = fromVersion;
    while (v < current) {
      const t = slot.transitions.get(v);
      if (t === undefined || t.event === undefined) return false;
      v = t.to;
    }
    return true;
  }

  /**
   * Registers a stream that holds `version` of the environment, after its
   * initial events were written, and brings it up to date. Call it in the
   * same tick as those writes (no await in between), so no change is missed.
   * A `version` stream (browsers) is only told the new version of each change.
   */
  addClient(environmentId: string, res: ServerResponse, version: number, tokenId?: string, mode: StreamMode = 'changes'): StreamClient {
    const slot = this.slot(environmentId);
    const client = new StreamClient(environmentId, res, version, this.now, tokenId, mode);
    slot.clients.add(client);
    const remove = () => {
      client.closed = true;
      slot.clients.delete(client);
    };
    res.once('close', remove);
    res.on('error', remove);
    if (this.closed) {
      res.end();
      return client;
    }
    this.deliver(slot, client);
    return client;
  }

  /** The registry the hub's metrics are in. */
  get metrics(): Registry {
    return this.options.metrics;
  }

  /** Connected streams, all environments. */
  get clientCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.clients.size;
    return n;
  }

  /** Handles a CHANGES_CHANNEL payload: `{"environmentId","snapshotVersion"}`, or '' to resynchronise everything. */
  onNotification(payload: string): void {
    if (this.closed) return;
    if (payload === '') {
      for (const slot of this.slots.values()) if (slot.entry !== undefined || slot.loading !== undefined) this.refreshInBackground(slot);
      return;
    }
    let message: { environmentId?: unknown; snapshotVersion?: unknown };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      this.logger.warn({ payload }, 'ignoring a malformed change notification');
      return;
    }
    if (typeof message.environmentId !== 'string') return;
    const slot = this.slots.get(message.environmentId);
    // Nobody here has asked for this environment: nothing to refresh.
    if (slot === undefined) return;
    const version = typeof message.snapshotVersion === 'number' ? message.snapshotVersion : Infinity;
    if (slot.loading === undefined && slot.entry !== undefined && slot.entry.version >= version) return;
    this.refreshInBackground(slot);
  }

  /** Ends every stream (graceful shutdown: the HTTP server can then close its connections). */
  endStreams(): void {
    for (const slot of this.slots.values()) {
      for (const client of slot.clients) {
        client.closed = true;
        client.res.end();
      }
      slot.clients.clear();
    }
  }

  /**
   * Ends the streams whose token has been revoked since they connected. Called
   * when any replica reports a token change; one query for all open streams.
   */
  async endRevokedStreams(): Promise<number> {
    const clients = [...this.slots.values()].flatMap((slot) => [...slot.clients]).filter((c) => c.tokenId !== undefined);
    if (clients.length === 0 || this.closed) return 0;
    const ids = [...new Set(clients.map((c) => c.tokenId as string))];
    const rows = await this.db.query<{ id: string }>('select id from api_tokens where id = any($1) and revoked_at is not null', [ids]);
    const revoked = new Set(rows.map((r) => r.id));
    let ended = 0;
    for (const client of clients) {
      if (!revoked.has(client.tokenId as string)) continue;
      client.closed = true;
      client.res.end();
      this.slots.get(client.environmentId)?.clients.delete(client);
      ended++;
    }
    if (ended > 0) this.logger.info({ ended }, 'ended the streams of revoked tokens');
    return ended;
  }

  /** Stops listening, stops the timers and ends every stream. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const slot of this.slots.values()) if (slot.retry !== undefined) clearTimeout(slot.retry);
    this.endStreams();
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
    // Let loads in flight finish, so the database is not closed under them.
    await Promise.allSettled([...this.slots.values()].map((s) => s.loading));
  }

  private slot(environmentId: string): EnvironmentSlot {
    let slot = this.slots.get(environmentId);
    if (slot === undefined) {
      slot = { id: environmentId, entry: undefined, loading: undefined, dirty: false, retry: undefined, clients: new Set(), transitions: new Map() };
      this.slots.set(environmentId, slot);
    }
    return slot;
  }

  private refreshInBackground(slot: EnvironmentSlot): void {
    this.refresh(slot).catch((error: unknown) => {
      if (this.closed) return;
      if (error instanceof ApiError) return;
      this.logger.warn({ err: error, environmentId: slot.id, retryInMs: RETRY_MS }, 'cannot reload a snapshot; serving the cached one');
      if (slot.retry === undefined) {
        slot.retry = setTimeout(() => {
          slot.retry = undefined;
          if (!this.closed) this.refreshInBackground(slot);
        }, RETRY_MS);
        slot.retry.unref();
      }
    });
  }

  /** Reloads until no reload was asked for during the last one; resolves to the newest entry. */
  private refresh(slot: EnvironmentSlot): Promise<CachedSnapshot> {
    slot.dirty = true;
    if (slot.loading !== undefined) return slot.loading;
    const run = async (): Promise<CachedSnapshot> => {
      try {
        while (slot.dirty && !this.closed) {
          slot.dirty = false;
          const previous = slot.entry;
          const result = await loadSnapshot(this.db, slot.id, previous?.version);
          if (result === undefined) {
            this.forget(slot);
            throw new ApiError('NOT_FOUND', 'The environment of this token no longer exists', { resource: 'environment', id: slot.id });
          }
          // Never go backwards (nor sideways: the same version is the same content).
          if (previous !== undefined && result.loaded.snapshot.version <= previous.version) continue;
          const entry = new CachedSnapshot(result.loaded);
          slot.entry = entry;
          if (previous !== undefined) this.publish(slot, previous, entry, result.changes);
        }
        if (slot.entry === undefined) throw new ApiError('DATABASE_UNAVAILABLE', 'The server is shutting down; retry (on another replica)');
        return slot.entry;
      } finally {
        slot.loading = undefined;
      }
    };
    slot.loading = run();
    return slot.loading;
  }

  /** Drops an environment that no longer exists: its streams are ended. */
  private forget(slot: EnvironmentSlot): void {
    this.slots.delete(slot.id);
    for (const client of slot.clients) {
      client.closed = true;
      client.res.end();
    }
    slot.clients.clear();
  }

  /** Records the transition previous -> entry and sends it to every stream of the environment. */
  private publish(slot: EnvironmentSlot, previous: CachedSnapshot, entry: CachedSnapshot, rows: ChangeRow[]): void {
    const keys: Pick<SnapshotChange, 'type' | 'key'>[] = rows.map((r) => r.change);
    const seen = new Set(keys.map((k) => `${k.type}:${k.key}`));
    // Anything else whose content differs (a write that did not record its change) is sent too.
    for (const d of diffSnapshots(previous, entry)) if (!seen.has(`${d.type}:${d.key}`)) keys.push(d);
    const changes = resolveChanges(keys, entry);
    const data: ChangeEventData | undefined = changes === undefined ? undefined : { version: entry.version, changes };
    const transition: Transition = { from: previous.version, to: entry.version, event: data && sseEvent('change', entry.version, JSON.stringify(data)) };
    slot.transitions.set(transition.from, transition);
    if (slot.transitions.size > KEEP_TRANSITIONS) {
      const oldest = slot.transitions.keys().next();
      if (oldest.done !== true) slot.transitions.delete(oldest.value);
    }
    for (const client of slot.clients) this.deliver(slot, client);
  }

  /** Writes what `client` is missing: recorded transitions in order, or the current snapshot (a `version` stream: the current version). */
  private deliver(slot: EnvironmentSlot, client: StreamClient): void {
    const current = slot.entry;
    if (current === undefined) return;
    if (client.mode === 'version') {
      if (client.version < current.version && !client.closed) {
        client.write(current.versionEvent);
        client.version = current.version;
      }
      return;
    }
    while (client.version < current.version && !client.closed) {
      const t = slot.transitions.get(client.version);
      if (t === undefined || t.event === undefined) {
        client.write(current.snapshotEvent);
        client.version = current.version;
        break;
      }
      client.write(t.event);
      client.version = t.to;
    }
    if (client.buffered > this.maxBufferedBytes) this.drop(client, 'buffer full');
  }

  private drop(client: StreamClient, why: string): void {
    if (client.closed) return;
    client.closed = true;
    this.dropped.inc();
    this.logger.warn({ environmentId: client.environmentId, buffered: client.buffered, why }, 'dropping a stream client that does not read');
    client.res.destroy();
  }

  /** Sends a heartbeat comment to every stream; drops streams whose socket has not drained for too long. */
  heartbeat(): void {
    const now = this.now();
    for (const slot of this.slots.values()) {
      for (const client of slot.clients) {
        if (client.blockedSince !== undefined && now - client.blockedSince > this.stallMs) this.drop(client, 'stalled');
        else if (client.buffered > this.maxBufferedBytes) this.drop(client, 'buffer full');
        else client.write(HEARTBEAT);
      }
    }
  }

  /** Compares the cached versions with the database and reloads those behind (a notification was lost). */
  async reconcile(): Promise<void> {
    const ids = [...this.slots.values()].filter((s) => s.entry !== undefined && s.loading === undefined).map((s) => s.id);
    if (ids.length === 0 || this.closed) return;
    try {
      const rows = await this.db.query<{ id: string; snapshot_version: number }>('select id, snapshot_version from environments where id = any($1::text[])', [ids]);
      const found = new Set<string>();
      for (const row of rows) {
        found.add(row.id);
        const slot = this.slots.get(row.id);
        if (slot?.entry !== undefined && row.snapshot_version > slot.entry.version) this.refreshInBackground(slot);
      }
      for (const id of ids) {
        const slot = this.slots.get(id);
        if (!found.has(id) && slot !== undefined) this.forget(slot);
      }
    } catch (error) {
      if (!this.closed) this.logger.warn({ err: error }, 'cannot check snapshot versions');
    }
  }
}
