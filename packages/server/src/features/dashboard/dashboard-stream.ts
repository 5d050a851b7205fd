import type { ServerResponse } from 'node:http';
import type { DashboardEvent } from '@rollgate/contract';
import type { Database } from '../../db/database.js';
import { CHANGES_CHANNEL } from '../../db/database.js';
import type { Logger } from '../../internal/logger.js';
import type { AuditRow } from '../audit/audit-store.js';
import { toAuditEvent } from '../audit/audit-routes.js';
import { HEARTBEAT, sseEvent } from '../client/sse.js';

/** How often the hub looks for new audit events while a dashboard is connected. */
export const DASHBOARD_POLL_MS = 400;

/**
 * The dashboard's live feed. Every change people and the controller make is
 * written to the audit log in its own transaction (rollout transitions and
 * decisions, approvals, checklist ticks, flag changes...), so the audit log
 * is the one ordered source of "something changed" on every replica. While
 * at least one dashboard is connected the hub reads what is new, at once on a
 * snapshot NOTIFY and otherwise every {@link DASHBOARD_POLL_MS}, and sends it
 * to each client as `event: change` with the audit sequence as id.
 */
export class DashboardStreamHub {
  /** Each client with what it may see: an event's project key (null: an event of no project). */
  private readonly clients = new Map<ServerResponse, (projectKey: string | null) => boolean>();
  private lastSeq: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly heartbeatMs: number,
  ) {}

  /** Listens for snapshot changes (flag writes), so they reach dashboards without waiting for the next poll. */
  async start(): Promise<() => Promise<void>> {
    this.unlisten = await this.db.listen(CHANGES_CHANNEL, () => this.poll());
    return () => this.stop();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Adds a connected client; events after `afterSeq` (its Last-Event-ID) of
   * the projects `sees` admits are sent to it.
   */
  async addClient(res: ServerResponse, afterSeq: number | undefined, sees: (projectKey: string | null) => boolean): Promise<void> {
    if (this.lastSeq === undefined) this.lastSeq = await this.newestSeq();
    if (afterSeq !== undefined && afterSeq < this.lastSeq) {
      for (const e of await this.readAfter(afterSeq, this.lastSeq)) if (sees(e.projectKey ?? null)) res.write(sseEvent('change', e.seq, JSON.stringify(e)));
    }
    res.write(sseEvent('ready', this.lastSeq, JSON.stringify({ seq: this.lastSeq })));
    this.clients.set(res, sees);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.idle();
    });
    this.timer ??= setInterval(() => this.poll(), DASHBOARD_POLL_MS);
    this.heartbeat ??= setInterval(() => {
      for (const c of this.clients.keys()) c.write(HEARTBEAT);
    }, this.heartbeatMs);
  }

  private idle(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    this.lastSeq = undefined;
  }

  /** Reads and sends what is new; a read already running reads once more when it ends. */
  poll(): void {
    if (this.clients.size === 0) return;
    if (this.reading !== undefined) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'cannot read new audit events for the dashboard stream'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.poll();
        }
      });
  }

  private async readNew(): Promise<void> {
    const from = this.lastSeq ?? (await this.newestSeq());
    const events = await this.readAfter(from);
    for (const e of events) {
      const frame = sseEvent('change', e.seq, JSON.stringify(e));
      for (const [c, sees] of this.clients) if (sees(e.projectKey ?? null)) c.write(frame);
      this.lastSeq = e.seq;
    }
    this.lastSeq ??= from;
  }

  private async newestSeq(): Promise<number> {
    const [row] = await this.db.query<{ seq: number | string | null }>('select max(seq) as seq from audit_events');
    return Number(row?.seq ?? 0);
  }

  private async readAfter(afterSeq: number, untilSeq?: number): Promise<DashboardEvent[]> {
    // The audit log's own rows and mapping, without the before and after images (pages refetch what changed).
    const rows = await this.db.query<AuditRow>(
      `select a.seq, a.id, a.at, a.actor_kind, a.actor_id, a.actor_name, a.action, a.resource_type, a.resource_id, a.resource_key,
              p.key as project_key, e.key as environment_key, null as before, null as after, a.request_id
         from audit_events a
         left join projects p on p.id = a.project_id
         left join environments e on e.id = a.environment_id
        where a.seq > $1 and ($2::bigint is null or a.seq <= $2)
        order by a.seq
        limit 500`,
      [afterSeq, untilSeq ?? null],
    );
    return rows.map((r) => {
      const { before: _before, after: _after, requestId: _requestId, ...event } = toAuditEvent(r);
      return event;
    });
  }

  async stop(): Promise<void> {
    this.idle();
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
    await this.reading;
    await this.unlisten?.().catch((error: unknown) => this.logger.warn({ err: error }, 'cannot stop listening for dashboard changes'));
  }
}
