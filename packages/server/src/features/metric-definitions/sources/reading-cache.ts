/**
 * Readings of external sources, kept for the minute they were read in: the
 * controller ticks every few seconds for every rollout, and Prometheus should
 * be asked once a minute per metric, flag, environment and stage, not once a
 * tick. Failures are kept for the minute too (a struggling Prometheus is not
 * asked again at once). Concurrent reads of one key share one request.
 */
import type { MetricReading } from './reading.js';

const MINUTE = 60_000;

export class ReadingCache {
  private readonly entries = new Map<string, { minute: number; reading: Promise<MetricReading> }>();
  private newestMinute = 0;

  constructor(private readonly maxEntries = 50_000) {}

  /**
   * The reading of `key` in the minute of `now` (epoch ms of the rollout's
   * clock): the one already read in that minute, or `read()`'s. `fresh` says
   * whether this call read it.
   */
  get(key: string, now: number, read: () => Promise<MetricReading>): { reading: Promise<MetricReading>; fresh: boolean } {
    const minute = Math.floor(now / MINUTE);
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.minute === minute) return { reading: cached.reading, fresh: false };
    if (minute > this.newestMinute) {
      this.newestMinute = minute;
      for (const [k, e] of this.entries) if (e.minute < minute) this.entries.delete(k);
    }
    const reading = read();
    this.entries.delete(key);
    this.entries.set(key, { minute, reading });
    // Oldest first: a Map iterates in insertion order.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
    return { reading, fresh: true };
  }

  get size(): number {
    return this.entries.size;
  }
}
