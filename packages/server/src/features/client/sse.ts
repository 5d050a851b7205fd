/**
 * Server-Sent Events wire format and the change events of the stream API.
 *
 * ```
 * event: snapshot            event: change
 * id: 41                     id: 42
 * data: {"environment":...}  data: {"version":42,"changes":[{"type":"flag","key":"new-checkout","removed":false,"flag":{...}}]}
 * ```
 *
 * An event's id is the snapshot version a client holds once it has applied it;
 * a client that reconnects sends it back as Last-Event-ID.
 */
import type { FlagConfig, Segment } from '@rollgate/core';
import type { SnapshotChange } from '../snapshot-changes.js';

/** One entry of a change event: the flag or segment's new configuration, or its removal. */
export type StreamChange =
  | { type: 'flag'; key: string; removed: false; flag: FlagConfig }
  | { type: 'segment'; key: string; removed: false; segment: Segment }
  | { type: 'flag' | 'segment'; key: string; removed: true };

/** The data of a `change` event. */
export interface ChangeEventData {
  version: number;
  changes: StreamChange[];
}

/** The content a change is resolved against: a snapshot's flags and segments by key. */
export interface SnapshotIndex {
  flags: ReadonlyMap<string, FlagConfig>;
  segments: ReadonlyMap<string, Segment>;
}

/** An SSE event with one data line (JSON never holds a raw line break). */
export function sseEvent(event: string, id: number, data: string): Buffer {
  return Buffer.from(`event: ${event}\nid: ${id}\ndata: ${data}\n\n`, 'utf8');
}

export const HEARTBEAT = Buffer.from(': heartbeat\n\n', 'utf8');

/**
 * The stream entries that bring a copy to `index`'s state for the given
 * flag and segment keys, in the order of their last change, each key once.
 * Whether a key is removed is read from `index` (absent = removed), so the
 * result is exact even when several writes to one key are coalesced.
 * Undefined when a change is not about a flag or a segment (the client then
 * needs a full snapshot).
 */
export function resolveChanges(changes: Iterable<Pick<SnapshotChange, 'type' | 'key'>>, index: SnapshotIndex): StreamChange[] | undefined {
  const ordered = new Map<string, { type: 'flag' | 'segment'; key: string }>();
  for (const c of changes) {
    if (c.type !== 'flag' && c.type !== 'segment') return undefined;
    const id = `${c.type}:${c.key}`;
    ordered.delete(id);
    ordered.set(id, { type: c.type, key: c.key });
  }
  const out: StreamChange[] = [];
  for (const { type, key } of ordered.values()) {
    if (type === 'flag') {
      const flag = index.flags.get(key);
      out.push(flag === undefined ? { type, key, removed: true } : { type, key, removed: false, flag });
    } else {
      const segment = index.segments.get(key);
      out.push(segment === undefined ? { type, key, removed: true } : { type, key, removed: false, segment });
    }
  }
  return out;
}

/** Keys whose content differs between two snapshots (added, changed or removed), flags and segments. */
export function diffSnapshots(before: SnapshotIndex, after: SnapshotIndex, json: (v: unknown) => string = JSON.stringify): { type: 'flag' | 'segment'; key: string }[] {
  const out: { type: 'flag' | 'segment'; key: string }[] = [];
  const diff = <T>(type: 'flag' | 'segment', a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>) => {
    for (const [key, value] of b) {
      const old = a.get(key);
      if (old === undefined || json(old) !== json(value)) out.push({ type, key });
    }
    for (const key of a.keys()) if (!b.has(key)) out.push({ type, key });
  };
  diff('segment', before.segments, after.segments);
  diff('flag', before.flags, after.flags);
  return out;
}
