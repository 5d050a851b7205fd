/**
 * A mergeable histogram with logarithmic buckets (the DDSketch layout): bucket
 * i holds the values in (gamma^(i-1), gamma^i], gamma = (1 + a) / (1 - a), so
 * every value of a bucket is within relative accuracy `a` of the bucket's
 * representative 2 gamma^i / (gamma + 1). A quantile read from it is within
 * `a` (relative) of the exact order statistic at the same rank.
 *
 * - Sparse: only buckets with samples exist; a latency histogram of one minute
 *   has a few dozen.
 * - Zero and negative values: |x| below `LOG_HISTOGRAM_MIN_VALUE` counts in a
 *   zero bucket, negative values in a mirrored store.
 * - Bounded: each sign keeps at most `maxBins` buckets; beyond, the buckets
 *   nearest zero are folded into the lowest kept one (collapsing the low end,
 *   where the quantiles gates read are not), which keeps merge associative.
 * - Merge adds counts, so it is commutative and associative: per-minute
 *   histograms merge into the histogram of a stage.
 * - `toBytes` / `fromBytes`: a compact varint form for the database.
 *
 * Nothing here throws on odd input: non-finite values are ignored, and
 * malformed bytes decode to undefined.
 */
import { ByteReader, ByteWriter } from './internal/byte-codec.js';

/** Values whose magnitude is below this count as zero. */
export const LOG_HISTOGRAM_MIN_VALUE = 1e-9;
/** Default relative accuracy of quantiles: 1%. */
export const DEFAULT_RELATIVE_ACCURACY = 0.01;
/** Default most buckets per sign: with 1% accuracy they span 17 orders of magnitude. */
export const DEFAULT_MAX_BINS = 2048;

const FORMAT_VERSION = 1;

/** Options of {@link LogHistogram}. */
export interface LogHistogramOptions {
  /** Relative accuracy of quantiles, from 0.0001 to 0.5; default 0.01. */
  relativeAccuracy?: number;
  /** Most buckets per sign, from 16 to 65,536; default 2048. */
  maxBins?: number;
}

/** A count of samples above a bound (the `exceeding` entries of `CohortAggregate`). */
export interface Exceedance {
  bound: number;
  count: number;
}

/** One non-empty bucket in value order, with the range its samples lie in. */
interface Bucket {
  /** Samples are above `lo` (negative buckets: at or above). */
  lo: number;
  /** Samples are at or below `hi` (negative buckets and the zero bucket: below). */
  hi: number;
  value: number;
  count: number;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function accuracyOf(options: LogHistogramOptions): number {
  const a = options.relativeAccuracy;
  if (typeof a !== 'number' || !(a >= 0.0001 && a <= 0.5)) return DEFAULT_RELATIVE_ACCURACY;
  // Stored as parts per million: round so that a decoded histogram is identical.
  return Math.round(a * 1e6) / 1e6;
}

function maxBinsOf(options: LogHistogramOptions): number {
  const n = options.maxBins;
  return typeof n === 'number' && Number.isInteger(n) && n >= 16 && n <= 65_536 ? n : DEFAULT_MAX_BINS;
}

/**
 * A mergeable log-bucket histogram for quantiles (p95 latency, LCP p75).
 *
 * @example
 * const h = new LogHistogram();
 * for (const ms of [120, 80, 95, 400]) h.add(ms);
 * h.quantile(0.95); // ~400, within 1%
 * const stored = h.toBytes();
 * LogHistogram.fromBytes(stored)?.merge(h).count; // 8
 */
export class LogHistogram {
  readonly relativeAccuracy: number;
  readonly maxBins: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  /** Bucket index -> count, values >= LOG_HISTOGRAM_MIN_VALUE. */
  private readonly positive = new Map<number, number>();
  /** Bucket index of |x| -> count, values <= -LOG_HISTOGRAM_MIN_VALUE. */
  private readonly negative = new Map<number, number>();
  private positiveMax = -Infinity;
  private negativeMin = Infinity;
  private zeroCount = 0;
  private total = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor(options: LogHistogramOptions = {}) {
    this.relativeAccuracy = accuracyOf(options);
    this.maxBins = maxBinsOf(options);
    this.gamma = (1 + this.relativeAccuracy) / (1 - this.relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
  }

  /** Samples held. */
  get count(): number {
    return this.total;
  }

  /** The smallest sample, or undefined when empty. */
  get min(): number | undefined {
    return this.total > 0 ? this.minValue : undefined;
  }

  /** The largest sample, or undefined when empty. */
  get max(): number | undefined {
    return this.total > 0 ? this.maxValue : undefined;
  }

  /** Buckets in use (zero bucket included), a measure of the stored size. */
  get buckets(): number {
    return this.positive.size + this.negative.size + (this.zeroCount > 0 ? 1 : 0);
  }

  private index(magnitude: number): number {
    return Math.ceil(Math.log(magnitude) / this.logGamma);
  }

  private edge(index: number): number {
    return Math.exp(index * this.logGamma);
  }

  /**
   * Adds `count` samples of `value`; false (nothing added) when the value is
   * not finite or the count is not a positive whole number.
   */
  add(value: number, count = 1): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value) || !isCount(count)) return false;
    if (!Number.isSafeInteger(this.total + count)) return false;
    if (Math.abs(value) < LOG_HISTOGRAM_MIN_VALUE) this.zeroCount += count;
    else if (value > 0) this.addPositive(this.index(value), count);
    else this.addNegative(this.index(-value), count);
    this.total += count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
    return true;
  }

  private addPositive(index: number, count: number): void {
    if (index > this.positiveMax) {
      this.positiveMax = index;
      this.foldPositive();
    }
    const i = Math.max(index, this.positiveMax - this.maxBins + 1);
    this.positive.set(i, (this.positive.get(i) ?? 0) + count);
  }

  private addNegative(index: number, count: number): void {
    if (index < this.negativeMin) {
      this.negativeMin = index;
      this.foldNegative();
    }
    const i = Math.min(index, this.negativeMin + this.maxBins - 1);
    this.negative.set(i, (this.negative.get(i) ?? 0) + count);
  }

  /** Folds positive buckets below the floor (largest index - maxBins + 1) into it. */
  private foldPositive(): void {
    const floor = this.positiveMax - this.maxBins + 1;
    let moved = 0;
    for (const [i, c] of this.positive) {
      if (i < floor) {
        moved += c;
        this.positive.delete(i);
      }
    }
    if (moved > 0) this.positive.set(floor, (this.positive.get(floor) ?? 0) + moved);
  }

  /** Folds negative buckets beyond the ceiling (smallest index + maxBins - 1) into it. */
  private foldNegative(): void {
    const ceiling = this.negativeMin + this.maxBins - 1;
    let moved = 0;
    for (const [i, c] of this.negative) {
      if (i > ceiling) {
        moved += c;
        this.negative.delete(i);
      }
    }
    if (moved > 0) this.negative.set(ceiling, (this.negative.get(ceiling) ?? 0) + moved);
  }

  /**
   * Adds every sample of `other` to this histogram and returns this. With the
   * same accuracy the buckets add exactly; with another accuracy each of
   * `other`'s buckets is added at its representative value.
   */
  merge(other: LogHistogram): this {
    if (!(other instanceof LogHistogram) || other === this || other.total === 0) {
      if (other === this && this.total > 0) this.merge(this.clone());
      return this;
    }
    if (!Number.isSafeInteger(this.total + other.total)) return this;
    if (other.gamma !== this.gamma || other.maxBins !== this.maxBins) {
      for (const b of other.sortedBuckets()) this.add(b.value, b.count);
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
      return this;
    }
    for (const [i, c] of other.positive) this.positive.set(i, (this.positive.get(i) ?? 0) + c);
    for (const [i, c] of other.negative) this.negative.set(i, (this.negative.get(i) ?? 0) + c);
    if (other.positiveMax > this.positiveMax) this.positiveMax = other.positiveMax;
    if (other.negativeMin < this.negativeMin) this.negativeMin = other.negativeMin;
    this.foldPositive();
    this.foldNegative();
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
    return this;
  }

  /** A copy that merges and changes independently. */
  clone(): LogHistogram {
    const copy = new LogHistogram({ relativeAccuracy: this.relativeAccuracy, maxBins: this.maxBins });
    return copy.merge(this);
  }

  /** The non-empty buckets in ascending value order, with representatives clamped to [min, max]. */
  private sortedBuckets(): Bucket[] {
    const out: Bucket[] = [];
    const clamp = (v: number) => Math.min(this.maxValue, Math.max(this.minValue, v));
    const ratio = 2 / (this.gamma + 1);
    const negatives = [...this.negative.keys()].sort((a, b) => b - a);
    const ceiling = this.negativeMin + this.maxBins - 1;
    for (const j of negatives) {
      const lo = j === ceiling ? this.minValue : -this.edge(j);
      out.push({ lo, hi: -this.edge(j - 1), value: clamp(-this.edge(j) * ratio), count: this.negative.get(j) as number });
    }
    if (this.zeroCount > 0) out.push({ lo: -LOG_HISTOGRAM_MIN_VALUE, hi: LOG_HISTOGRAM_MIN_VALUE, value: clamp(0), count: this.zeroCount });
    const positives = [...this.positive.keys()].sort((a, b) => a - b);
    const floor = this.positiveMax - this.maxBins + 1;
    for (const i of positives) {
      // The floor bucket may hold everything folded into it, down to the zero bucket.
      const lo = i === floor ? 0 : this.edge(i - 1);
      out.push({ lo, hi: this.edge(i), value: clamp(this.edge(i) * ratio), count: this.positive.get(i) as number });
    }
    return out;
  }

  /**
   * The q-quantile (0..1) with the lower-rank convention: within the relative
   * accuracy of the sorted samples' element at index floor(q (n - 1)).
   * Undefined when empty or when q is not a number.
   */
  quantile(q: number): number | undefined {
    if (this.total === 0 || typeof q !== 'number' || Number.isNaN(q)) return undefined;
    const level = Math.min(1, Math.max(0, q));
    if (level === 0) return this.minValue;
    if (level === 1) return this.maxValue;
    const rank = level * (this.total - 1);
    let seen = 0;
    for (const b of this.sortedBuckets()) {
      seen += b.count;
      if (seen > rank) return b.value;
    }
    return this.maxValue;
  }

  /**
   * Samples above `bound`, estimated from the buckets' representatives: every
   * sample above bound * gamma is counted and none at or below bound / gamma.
   */
  countAbove(bound: number): number {
    if (typeof bound !== 'number' || Number.isNaN(bound) || this.total === 0) return 0;
    if (bound >= this.maxValue) return 0;
    if (bound < this.minValue) return this.total;
    let n = 0;
    for (const b of this.sortedBuckets()) if (b.value > bound) n += b.count;
    return n;
  }

  /**
   * Exact counts of samples above bounds next to `bound`: one entry at `bound`
   * itself when no bucket straddles it, else two at the edges of the bucket
   * holding it (its lower edge counts the bucket as above, its upper edge
   * does not). A quantile gate's test reads a breach at the upper and health
   * at the lower edge, which errs on the safe side both ways.
   */
  exceedingAround(bound: number): Exceedance[] {
    if (typeof bound !== 'number' || !Number.isFinite(bound)) return [];
    if (this.total === 0 || bound >= this.maxValue) return [{ bound, count: 0 }];
    if (bound < this.minValue) return [{ bound, count: this.total }];
    const buckets = this.sortedBuckets();
    let above = this.total;
    for (const b of buckets) {
      if (b.hi < bound) {
        above -= b.count;
        continue;
      }
      if (b.lo >= bound) return [{ bound, count: above }];
      return [
        { bound: b.lo, count: above },
        { bound: b.hi, count: above - b.count },
      ];
    }
    return [{ bound, count: 0 }];
  }

  /**
   * The compact stored form: a version byte, the accuracy (parts per million)
   * and bucket limit, the zero bucket, a byte saying whether min and max (two
   * float64) follow, then each sign's buckets as a count of entries, the
   * first index and then (index delta, count) pairs, all varints.
   */
  toBytes(): Uint8Array {
    const w = new ByteWriter();
    w.byte(FORMAT_VERSION);
    w.varint(Math.round(this.relativeAccuracy * 1e6));
    w.varint(this.maxBins);
    w.varint(this.zeroCount);
    w.byte(this.total > 0 ? 1 : 0);
    if (this.total > 0) {
      w.float64(this.minValue);
      w.float64(this.maxValue);
    }
    for (const store of [this.positive, this.negative]) {
      const keys = [...store.keys()].sort((a, b) => a - b);
      w.varint(keys.length);
      let previous = 0;
      keys.forEach((k, n) => {
        if (n === 0) w.signed(k);
        else w.varint(k - previous);
        w.varint(store.get(k) as number);
        previous = k;
      });
    }
    return w.bytes();
  }

  /** A histogram from {@link toBytes}'s form; undefined when the bytes are not one. */
  static fromBytes(bytes: Uint8Array): LogHistogram | undefined {
    if (!(bytes instanceof Uint8Array)) return undefined;
    const r = new ByteReader(bytes);
    if (r.byte() !== FORMAT_VERSION) return undefined;
    const ppm = r.varint();
    const maxBins = r.varint();
    if (r.failed || ppm < 100 || ppm > 500_000 || maxBins < 16 || maxBins > 65_536) return undefined;
    const h = new LogHistogram({ relativeAccuracy: ppm / 1e6, maxBins });
    const zero = r.varint();
    const hasSamples = r.byte();
    if (hasSamples !== 0 && hasSamples !== 1) return undefined;
    const min = hasSamples === 1 ? r.float64() : Infinity;
    const max = hasSamples === 1 ? r.float64() : -Infinity;
    let total = zero;
    for (const store of [h.positive, h.negative]) {
      const n = r.varint();
      if (r.failed || n > r.remaining) return undefined;
      let index = 0;
      for (let e = 0; e < n; e++) {
        if (e === 0) index = r.signed();
        else {
          const delta = r.varint();
          if (delta < 1) return undefined;
          index += delta;
        }
        const c = r.varint();
        if (r.failed || !isCount(c) || !Number.isSafeInteger(index)) return undefined;
        store.set(index, c);
        total += c;
      }
    }
    if (r.failed || r.remaining !== 0 || !Number.isSafeInteger(total)) return undefined;
    if (hasSamples === 0) return total === 0 ? h : undefined;
    if (total === 0 || !Number.isFinite(min) || !Number.isFinite(max) || min > max) return undefined;
    for (const i of h.positive.keys()) if (i > h.positiveMax) h.positiveMax = i;
    for (const j of h.negative.keys()) if (j < h.negativeMin) h.negativeMin = j;
    // Bytes written by this class are already folded; folding again keeps others within bounds.
    h.foldPositive();
    h.foldNegative();
    h.zeroCount = zero;
    h.total = total;
    h.minValue = min;
    h.maxValue = max;
    return h;
  }
}
