/**
 * MurmurHash3, x86 32-bit variant, over strings without allocating.
 *
 * Two encodings of a string into bytes:
 * - `utf8`: the UTF-8 bytes (lone surrogates become U+FFFD, as TextEncoder does).
 *   This is what `rollgate/v1` bucketing hashes.
 * - `charCodes`: the low 8 bits of each UTF-16 code unit, which is what the
 *   `murmurhash3js` package (and so Unleash's SDKs) hashes. Equal to `utf8` for ASCII.
 *
 * A hash can be started from a precomputed prefix state (`HashPrefix`), so
 * that hashing `salt + ":" + value` costs only the bytes of `value`.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The encoding of string characters into hashed bytes. */
export type HashEncoding = 'utf8' | 'charCodes';

/** The state of a hash after its prefix: everything needed to continue it. */
export interface HashPrefix {
  readonly encoding: HashEncoding;
  /** Running hash after the prefix's complete 4-byte blocks. */
  readonly h: number;
  /** Bytes of an incomplete block, little-endian. */
  readonly carry: number;
  /** Number of bytes in `carry` (0..3). */
  readonly carryBytes: number;
  /** Bytes hashed so far. */
  readonly length: number;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, carry: number, carryBytes: number, length: number): number {
  if (carryBytes > 0) {
    let k = Math.imul(carry, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Signed: a uint32 at or above 2^31 would be a boxed heap number whenever
  // this is not inlined. Callers convert with `>>> 0` where they use it.
  return h | 0;
}

// The streaming state lives in module-level variables rather than an object so
// that hashing allocates nothing; evaluation is synchronous, so no call can
// interleave with another.
let sH = 0;
let sCarry = 0;
let sBytes = 0;
let sLength = 0;

function pushByte(b: number): void {
  sCarry |= b << (sBytes << 3);
  sLength++;
  if (++sBytes === 4) {
    sH = mixBlock(sH, sCarry);
    sCarry = 0;
    sBytes = 0;
  }
}

function pushString(input: string, encoding: HashEncoding, from = 0): void {
  const n = input.length;
  // Fast path with the state in locals: runs of ASCII (or any char in charCodes mode).
  let h = sH;
  let carry = sCarry;
  let bytes = sBytes;
  let i = from;
  for (; i < n; i++) {
    let c = input.charCodeAt(i);
    if (c >= 0x80) {
      if (encoding === 'utf8') break;
      c &= 0xff;
    }
    carry |= c << (bytes << 3);
    if (++bytes === 4) {
      h = mixBlock(h, carry);
      carry = 0;
      bytes = 0;
    }
  }
  sLength += i - from;
  sH = h;
  sCarry = carry;
  sBytes = bytes;
  for (; i < n; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      pushByte(c);
    } else if (c < 0x800) {
      pushByte(0xc0 | (c >> 6));
      pushByte(0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? input.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        pushByte(0xf0 | (c >> 18));
        pushByte(0x80 | ((c >> 12) & 0x3f));
        pushByte(0x80 | ((c >> 6) & 0x3f));
        pushByte(0x80 | (c & 0x3f));
      } else {
        // A lone surrogate encodes as U+FFFD, as TextEncoder does.
        pushByte(0xef);
        pushByte(0xbf);
        pushByte(0xbd);
      }
    } else {
      pushByte(0xe0 | (c >> 12));
      pushByte(0x80 | ((c >> 6) & 0x3f));
      pushByte(0x80 | (c & 0x3f));
    }
  }
}

/**
 * Precomputes the hash state after `prefix`, to be continued by {@link murmur3Continue}.
 *
 * @example
 * const p = murmur3Prefix('new-checkout:');
 * murmur3Continue(p, 'user-42') === murmur3('new-checkout:user-42'); // true
 */
export function murmur3Prefix(prefix: string, seed = 0, encoding: HashEncoding = 'utf8'): HashPrefix {
  sH = seed | 0;
  sCarry = 0;
  sBytes = 0;
  sLength = 0;
  pushString(prefix, encoding);
  return { encoding, h: sH, carry: sCarry, carryBytes: sBytes, length: sLength };
}

/** Hashes `prefix + suffix`, given the state after the prefix. Allocates nothing. */
export function murmur3Continue(prefix: HashPrefix, suffix: string): number {
  return continueHash(prefix, suffix) >>> 0;
}

/**
 * `murmur3Continue(prefix, suffix) % modulus`, computed so that no
 * intermediate value is boxed: the bucketing hot path.
 */
export function murmur3ContinueMod(prefix: HashPrefix, suffix: string, modulus: number): number {
  return (continueHash(prefix, suffix) >>> 0) % modulus;
}

function continueHash(prefix: HashPrefix, suffix: string): number {
  // The usual suffix is an ASCII id: hash it four characters at a time, with
  // the state in locals. Measured: this path is what bounds evaluation speed.
  let h = prefix.h;
  let carry = prefix.carry;
  let bytes = prefix.carryBytes;
  const shift = bytes << 3;
  const n = suffix.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const c0 = suffix.charCodeAt(i);
    const c1 = suffix.charCodeAt(i + 1);
    const c2 = suffix.charCodeAt(i + 2);
    const c3 = suffix.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    const word = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    if (shift === 0) {
      h = mixBlock(h, word);
    } else {
      h = mixBlock(h, carry | (word << shift));
      carry = word >>> (32 - shift);
    }
  }
  for (; i < n; i++) {
    let c = suffix.charCodeAt(i);
    if (c >= 0x80) {
      if (prefix.encoding !== 'charCodes') return continueUtf8(h, carry, bytes, prefix.length + i, suffix, i);
      c &= 0xff;
    }
    carry |= c << (bytes << 3);
    if (++bytes === 4) {
      h = mixBlock(h, carry);
      carry = 0;
      bytes = 0;
    }
  }
  return finish(h, carry, bytes, prefix.length + n);
}

/** The general UTF-8 path of {@link murmur3Continue}, from the first non-ASCII character. */
function continueUtf8(h: number, carry: number, bytes: number, length: number, suffix: string, from: number): number {
  sH = h;
  sCarry = carry;
  sBytes = bytes;
  sLength = length;
  pushString(suffix, 'utf8', from);
  return finish(sH, sCarry, sBytes, sLength);
}

/**
 * MurmurHash3 x86 32-bit of the UTF-8 bytes of `input`, as an unsigned integer.
 *
 * @example
 * murmur3('') === 0; // with seed 0
 */
export function murmur3(input: string, seed = 0): number {
  sH = seed | 0;
  sCarry = 0;
  sBytes = 0;
  sLength = 0;
  pushString(input, 'utf8');
  return finish(sH, sCarry, sBytes, sLength) >>> 0;
}

/**
 * MurmurHash3 x86 32-bit of the low 8 bits of each UTF-16 code unit of `input`:
 * the `murmurhash3js` behaviour that Unleash's bucketing is built on.
 *
 * @example
 * murmur3CharCodes('abc') === murmur3('abc'); // the same for ASCII
 */
export function murmur3CharCodes(input: string, seed = 0): number {
  sH = seed | 0;
  sCarry = 0;
  sBytes = 0;
  sLength = 0;
  pushString(input, 'charCodes');
  return finish(sH, sCarry, sBytes, sLength) >>> 0;
}
