/**
 * HyperLogLog for counting distinct contexts (the "users affected" of a
 * rollout, adoption), mergeable across minutes, cohorts and replicas.
 *
 * - Hash: 64 bits per key, from murmur3 x86_32 of the key's UTF-8 bytes
 *   under two fixed seeds (keys are SDK-hashed context keys; the two halves
 *   are independent enough for register choice and rank).
 * - Dense: 2^12 = 4,096 registers of 6 bits (3,072 bytes stored); standard
 *   error 1.04 / sqrt(4096) = 1.6%.
 * - Sparse (small sets): the registers of precision 25, kept as a sorted set
 *   of (index, rank) pairs (the HyperLogLog++ sparse form), so sets of up to
 *   a few hundred contexts are counted almost exactly and stored in about
 *   three bytes per context. Above `HLL_SPARSE_LIMIT` entries it turns dense;
 *   the dense registers are a function of the sparse ones, so merging sparse
 *   and dense sketches in any order gives the same registers.
 * - Estimate: Ertl's improved raw estimator ("New cardinality estimation
 *   algorithms for HyperLogLog sketches", 2017), unbiased over the whole
 *   range without bias tables or a switch to linear counting.
 * - Merge: register-wise max (commutative, associative, idempotent).
 *
 * Nothing here throws on odd input: non-string keys are ignored and
 * malformed bytes decode to undefined.
 */
import { murmur3 } from '../murmur3.js';
import { ByteReader, ByteWriter } from './internal/byte-codec.js';

/** Dense precision: 2^12 registers. */
export const HLL_PRECISION = 12;
/** Precision of the sparse form. */
export const HLL_SPARSE_PRECISION = 25;
/** Most sparse entries before the sketch turns dense (the dense form is smaller beyond). */
export const HLL_SPARSE_LIMIT = 768;

const M = 1 << HLL_PRECISION;
const SPARSE_M = 2 ** HLL_SPARSE_PRECISION;
/** Hash bits after the sparse index: rank 1..40. */
const SPARSE_Q = 64 - HLL_SPARSE_PRECISION;
/** Hash bits after the dense index: rank 1..53. */
const DENSE_Q = 64 - HLL_PRECISION;
/** Bits of the sparse index below the dense index. */
const EXTRA_BITS = HLL_SPARSE_PRECISION - HLL_PRECISION;
const SEED_HIGH = 0x2f6b_1d35;
const SEED_LOW = 0x7a31_c5e9;
const FORMAT_VERSION = 1;
const SPARSE = 0;
const DENSE = 1;
/** 1 / (2 ln 2). */
const ALPHA_INFINITY = 0.5 / Math.LN2;

/** Rank (leading zeros + 1) of the 39 bits after the sparse index: 7 low bits of `high`, then `low`. */
function sparseRank(high: number, low: number): number {
  const rest = high & 0x7f;
  if (rest !== 0) return Math.clz32(rest) - 25 + 1;
  return low !== 0 ? 7 + Math.clz32(low) + 1 : SPARSE_Q + 1;
}

/** The dense register and rank of a sparse entry. */
function denseOf(index: number, rank: number): [number, number] {
  const extra = index & ((1 << EXTRA_BITS) - 1);
  const register = index >>> EXTRA_BITS;
  return [register, extra !== 0 ? Math.clz32(extra) - (32 - EXTRA_BITS) + 1 : EXTRA_BITS + rank];
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== previous);
  return z / 3;
}

/** Ertl's improved estimator from the register histogram `c` (c[k] registers of value k, 0..q+1) of m registers. */
function estimateFrom(c: Float64Array, m: number, q: number): number {
  let z = m * tau(1 - (c[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (c[k] as number));
  z += m * sigma((c[0] as number) / m);
  return (ALPHA_INFINITY * m * m) / z;
}

/**
 * A HyperLogLog sketch of distinct keys.
 *
 * @example
 * const users = new HyperLogLog();
 * users.add('3f2a9c1e');
 * users.add('3f2a9c1e');
 * users.estimate(); // 1
 * HyperLogLog.fromBytes(users.toBytes())?.merge(other).estimate();
 */
export class HyperLogLog {
  /** Sparse entries, sparse index -> rank; undefined once dense. */
  private sparse: Map<number, number> | undefined = new Map();
  /** Dense registers; undefined while sparse. */
  private registers: Uint8Array | undefined;

  /** True while the sketch holds the sparse form. */
  get isSparse(): boolean {
    return this.sparse !== undefined;
  }

  /** Counts `key` (a string; anything else is ignored). */
  add(key: string): void {
    if (typeof key !== 'string') return;
    const high = murmur3(key, SEED_HIGH);
    const low = murmur3(key, SEED_LOW);
    this.addEntry(high >>> (32 - HLL_SPARSE_PRECISION), sparseRank(high, low));
  }

  private addEntry(index: number, rank: number): void {
    if (this.sparse !== undefined) {
      const held = this.sparse.get(index);
      if (held === undefined || rank > held) this.sparse.set(index, rank);
      if (this.sparse.size > HLL_SPARSE_LIMIT) this.toDense();
      return;
    }
    const [register, r] = denseOf(index, rank);
    const regs = this.registers as Uint8Array;
    if (r > (regs[register] as number)) regs[register] = r;
  }

  private toDense(): void {
    const regs = new Uint8Array(M);
    for (const [index, rank] of this.sparse ?? []) {
      const [register, r] = denseOf(index, rank);
      if (r > (regs[register] as number)) regs[register] = r;
    }
    this.registers = regs;
    this.sparse = undefined;
  }

  /** Adds every key `other` counted (register-wise max) and returns this. */
  merge(other: HyperLogLog): this {
    if (!(other instanceof HyperLogLog) || other === this) return this;
    if (other.sparse !== undefined) {
      for (const [index, rank] of other.sparse) this.addEntry(index, rank);
      return this;
    }
    if (this.sparse !== undefined) this.toDense();
    const mine = this.registers as Uint8Array;
    const theirs = other.registers as Uint8Array;
    for (let i = 0; i < M; i++) if ((theirs[i] as number) > (mine[i] as number)) mine[i] = theirs[i] as number;
    return this;
  }

  /** A copy that merges and changes independently. */
  clone(): HyperLogLog {
    return new HyperLogLog().merge(this);
  }

  /** The estimated number of distinct keys (0 when empty). */
  estimate(): number {
    if (this.sparse !== undefined) {
      if (this.sparse.size === 0) return 0;
      const c = new Float64Array(SPARSE_Q + 2);
      c[0] = SPARSE_M - this.sparse.size;
      for (const rank of this.sparse.values()) c[rank] = (c[rank] as number) + 1;
      return estimateFrom(c, SPARSE_M, SPARSE_Q);
    }
    const c = new Float64Array(DENSE_Q + 2);
    for (const r of this.registers as Uint8Array) c[r] = (c[r] as number) + 1;
    return estimateFrom(c, M, DENSE_Q);
  }

  /**
   * The stored form: a version byte, the precision, the form (0 sparse, 1
   * dense), then either the count of sparse entries and their sorted values
   * (index * 64 + rank) as varint deltas, or the 4,096 registers packed in 6
   * bits each (3,072 bytes).
   */
  toBytes(): Uint8Array {
    const w = new ByteWriter();
    w.byte(FORMAT_VERSION);
    w.byte(HLL_PRECISION);
    if (this.sparse !== undefined) {
      w.byte(SPARSE);
      const entries = [...this.sparse].map(([index, rank]) => index * 64 + rank).sort((a, b) => a - b);
      w.varint(entries.length);
      let previous = 0;
      for (const e of entries) {
        w.varint(e - previous);
        previous = e;
      }
      return w.bytes();
    }
    w.byte(DENSE);
    const regs = this.registers as Uint8Array;
    for (let i = 0; i < M; i += 4) {
      const packed = ((regs[i] as number) << 18) | ((regs[i + 1] as number) << 12) | ((regs[i + 2] as number) << 6) | (regs[i + 3] as number);
      w.byte(packed >>> 16);
      w.byte(packed >>> 8);
      w.byte(packed);
    }
    return w.bytes();
  }

  /** A sketch from {@link toBytes}'s form; undefined when the bytes are not one. */
  static fromBytes(bytes: Uint8Array): HyperLogLog | undefined {
    if (!(bytes instanceof Uint8Array)) return undefined;
    const r = new ByteReader(bytes);
    if (r.byte() !== FORMAT_VERSION || r.byte() !== HLL_PRECISION) return undefined;
    const form = r.byte();
    const h = new HyperLogLog();
    if (form === SPARSE) {
      const n = r.varint();
      if (r.failed || n > r.remaining) return undefined;
      let value = 0;
      for (let i = 0; i < n; i++) {
        const delta = r.varint();
        if (r.failed || delta < 1) return undefined;
        value += delta;
        const index = Math.floor(value / 64);
        const rank = value % 64;
        if (index >= SPARSE_M || rank < 1 || rank > SPARSE_Q + 1) return undefined;
        h.addEntry(index, rank);
      }
      return r.remaining === 0 && !r.failed ? h : undefined;
    }
    if (form !== DENSE || r.remaining !== (M / 4) * 3) return undefined;
    const regs = new Uint8Array(M);
    // Read directly: the server decodes thousands of these per stage.
    let max = 0;
    for (let i = 0, o = 3; i < M; i += 4, o += 3) {
      const packed = ((bytes[o] as number) << 16) | ((bytes[o + 1] as number) << 8) | (bytes[o + 2] as number);
      const a = packed >>> 18;
      const b = (packed >>> 12) & 0x3f;
      const c = (packed >>> 6) & 0x3f;
      const d = packed & 0x3f;
      regs[i] = a;
      regs[i + 1] = b;
      regs[i + 2] = c;
      regs[i + 3] = d;
      max = Math.max(max, a, b, c, d);
    }
    if (max > DENSE_Q + 1) return undefined;
    h.sparse = undefined;
    h.registers = regs;
    return h;
  }
}
