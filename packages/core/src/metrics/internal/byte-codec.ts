/**
 * The little byte codec of the sketches' stored forms: unsigned varints (7
 * bits a byte, low groups first, up to 2^53), zigzag for signed integers, and
 * little-endian float64. Reading never throws: a reader that runs past the
 * end or meets a malformed number turns `failed` on and returns 0.
 */

/** Grows as it is written; `bytes()` returns exactly what was written. */
export class ByteWriter {
  private buf = new Uint8Array(64);
  private length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b & 0xff;
  }

  /** A non-negative integer up to 2^53 - 1. */
  varint(n: number): void {
    this.room(8);
    let v = n;
    // Arithmetic rather than bit operations: counts can exceed 2^32.
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** A signed integer (zigzag: 0, -1, 1, -2... as 0, 1, 2, 3...). */
  signed(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  float64(x: number): void {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8).setFloat64(0, x, true);
    this.length += 8;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads what a {@link ByteWriter} wrote. */
export class ByteReader {
  private offset = 0;
  /** True once anything could not be read; every later read returns 0. */
  failed = false;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.failed ? 0 : this.buf.length - this.offset;
  }

  byte(): number {
    if (this.failed || this.offset >= this.buf.length) return this.fail();
    return this.buf[this.offset++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.failed || this.offset >= this.buf.length) return this.fail();
      const b = this.buf[this.offset++] as number;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value <= Number.MAX_SAFE_INTEGER ? value : this.fail();
      scale *= 0x80;
    }
    return this.fail();
  }

  signed(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  float64(): number {
    if (this.failed || this.offset + 8 > this.buf.length) return this.fail();
    const x = new DataView(this.buf.buffer, this.buf.byteOffset + this.offset, 8).getFloat64(0, true);
    this.offset += 8;
    return x;
  }

  private fail(): number {
    this.failed = true;
    return 0;
  }
}

/** The bytes of `input` when it is a byte array (a Node Buffer is one), else undefined. */
export function asBytes(input: unknown): Uint8Array | undefined {
  return input instanceof Uint8Array ? input : undefined;
}
