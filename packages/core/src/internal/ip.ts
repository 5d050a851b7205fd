/**
 * IPv4 and IPv6 addresses and CIDR blocks, for the `cidr` condition operator.
 *
 * One representation for both families: a 128-bit IPv6 address held as four
 * unsigned 32-bit words, most significant first (no BigInt, which is slow and
 * allocates). An IPv4 address `a.b.c.d` is held as its IPv4-mapped IPv6 form
 * `::ffff:a.b.c.d`, and an IPv4 block `a.b.c.d/n` as the IPv6 block
 * `::ffff:a.b.c.d/(96 + n)`. So, by construction:
 * - an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is its IPv4 address and
 *   matches IPv4 blocks (the evaluation contract requires it);
 * - an IPv4 block, even `0.0.0.0/0`, never contains an IPv6 address that is
 *   not IPv4-mapped (`0.0.0.0/0` means "every IPv4 address", not "everything");
 * - an IPv6 block contains IPv4 addresses only if it covers their mapped form:
 *   `::/0` contains every address of both families, `::ffff:0:0/96` every IPv4
 *   address, `2001:db8::/32` none.
 * Other embeddings of IPv4 in IPv6 (the deprecated IPv4-compatible
 * `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4) are ordinary IPv6 addresses
 * here and do not match IPv4 blocks: their meaning depends on the network.
 *
 * Parsing is strict, so every evaluator accepts the same strings: no
 * surrounding whitespace, no zone ids (`fe80::1%eth0`, which name an interface
 * of the machine that wrote them), no IPv4 shorthand (`10.1`, `0x0a.0.0.1`,
 * leading zeros as in `010.0.0.1`, which some parsers read as octal).
 */

/**
 * An address: exactly four unsigned 32-bit words, most significant first,
 * IPv4 in its IPv4-mapped form (words `0, 0, 0xffff, a<<24|b<<16|c<<8|d`).
 */
export type IpAddress = Uint32Array;

/** A parsed CIDR block. Frozen: compiled once and shared by every evaluation. */
export interface CidrBlock {
  /** The family the block was written in. */
  readonly family: 4 | 6;
  /** The prefix length as written: 0..32 for IPv4, 0..128 for IPv6. */
  readonly prefix: number;
  /** The network address with host bits cleared, as four unsigned words (IPv4 in mapped form). */
  readonly network: readonly [number, number, number, number];
  /** The mask over the 128-bit form: for IPv4 `/n`, the leading `96 + n` bits are set. */
  readonly mask: readonly [number, number, number, number];
}

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;

/** Value of a hexadecimal digit, or -1. */
function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Parses a strict dotted quad in `s[start, end)`: four decimal parts 0..255,
 * no leading zeros (`0` itself is fine), nothing else. Returns the address as
 * an unsigned 32-bit number, or -1.
 */
function parseIpv4Range(s: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  for (;;) {
    const partStart = i;
    let part = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      part = part * 10 + (c - CH_0);
      i++;
      if (i - partStart > 3) return -1;
    }
    const digits = i - partStart;
    if (digits === 0 || part > 255) return -1;
    if (digits > 1 && s.charCodeAt(partStart) === CH_0) return -1;
    value = value * 256 + part; // Multiplication, not <<, keeps it unsigned.
    parts++;
    if (parts === 4) return i === end ? value : -1;
    if (i >= end || s.charCodeAt(i) !== CH_DOT) return -1;
    i++;
  }
}

// The eight 16-bit groups of the IPv6 address being parsed. Module-level so
// that parsing allocates nothing; parsing is synchronous and not re-entrant.
const groups = new Uint16Array(8);

/**
 * Parses an IPv6 address in `s[start, end)` into `out`: eight groups of 1 to 4
 * hex digits, at most one `::` standing for one or more zero groups, and an
 * optional dotted-quad tail standing for the last two groups.
 */
function parseIpv6Range(s: string, start: number, end: number, out: Uint32Array): boolean {
  if (end - start < 2) return false;
  let n = 0; // groups read
  let gap = -1; // index in `groups` where `::` stands, if any
  let i = start;
  if (s.charCodeAt(i) === CH_COLON) {
    // Only `::` may start an address.
    if (s.charCodeAt(i + 1) !== CH_COLON) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < end && s.charCodeAt(i) === CH_DOT) {
      // A dotted-quad tail: the last two groups, ending the address.
      if (n > 6) return false;
      const v4 = parseIpv4Range(s, groupStart, end);
      if (v4 < 0) return false;
      groups[n++] = Math.floor(v4 / 65536);
      groups[n++] = v4 & 0xffff;
      break;
    }
    const digits = i - groupStart;
    if (digits === 0 || digits > 4 || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (s.charCodeAt(i) !== CH_COLON) return false;
    i++;
    if (i < end && s.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return false; // a second `::`
      gap = n;
      i++;
    } else if (i === end) {
      return false; // a trailing single `:`
    }
  }

  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    // `::` stands for at least one group.
    if (n > 7) return false;
    const tail = n - gap;
    const zeros = 8 - n;
    for (let k = tail - 1; k >= 0; k--) groups[gap + zeros + k] = groups[gap + k] as number;
    for (let k = 0; k < zeros; k++) groups[gap + k] = 0;
  }
  for (let w = 0; w < 4; w++) {
    out[w] = (groups[2 * w] as number) * 65536 + (groups[2 * w + 1] as number);
  }
  return true;
}

/** Parses `s[start, end)` as either family into `out`. */
function parseIpRange(s: string, start: number, end: number, out: Uint32Array): 4 | 6 | 0 {
  // A colon means IPv6; an IPv4 address has none.
  for (let i = start; i < end; i++) {
    if (s.charCodeAt(i) === CH_COLON) return parseIpv6Range(s, start, end, out) ? 6 : 0;
  }
  const v4 = parseIpv4Range(s, start, end);
  if (v4 < 0) return 0;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = v4;
  return 4;
}

/**
 * Parses an IPv4 or IPv6 address into a caller-owned four-word buffer, for
 * hot paths that reuse one buffer across evaluations. Returns false (leaving
 * `out` in an unspecified state) when `input` is not an address; see
 * `parseIp` for what is accepted.
 */
export function parseIpInto(input: string, out: IpAddress): boolean {
  if (typeof input !== 'string') return false;
  return parseIpRange(input, 0, input.length, out) !== 0;
}

/**
 * Parses an IPv4 or IPv6 address into a new four-word `IpAddress` (IPv4 as
 * `::ffff:a.b.c.d`), or returns undefined.
 *
 * Accepted: a strict IPv4 dotted quad (`192.0.2.1`; each part 0..255, no
 * leading zeros); IPv6 in full, compressed (`2001:db8::1`, `::`, `::1`) or
 * with a dotted-quad tail (`::ffff:192.0.2.1`, `64:ff9b::192.0.2.1`), hex in
 * either case. Refused: zone ids (`fe80::1%eth0`), brackets, whitespace, a
 * prefix length (use `parseCidr`), and every IPv4 shorthand.
 */
export function parseIp(input: string): IpAddress | undefined {
  const out = new Uint32Array(4);
  return parseIpInto(input, out) ? out : undefined;
}

/** The word `w` (0..3) of a mask whose leading `bits` (0..128) bits are set. */
function maskWord(bits: number, w: number): number {
  const b = bits - 32 * w;
  if (b <= 0) return 0;
  if (b >= 32) return 0xffffffff;
  return (0xffffffff << (32 - b)) >>> 0;
}

const scratch = new Uint32Array(4);

/**
 * Parses a CIDR block: `a.b.c.d/n` (n 0..32), an IPv6 block `x::/n`
 * (n 0..128), or a single address (a /32 or /128). The prefix length is
 * decimal without sign or leading zeros. Host bits set after the prefix are
 * allowed and cleared (`10.1.2.3/8` is `10.0.0.0/8`), because people write a
 * host's address with its network's prefix length. Returns a frozen block, or
 * undefined.
 */
export function parseCidr(input: string): CidrBlock | undefined {
  if (typeof input !== 'string') return undefined;
  const len = input.length;
  let slash = input.indexOf('/');
  const end = slash < 0 ? len : slash;
  const family = parseIpRange(input, 0, end, scratch);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    slash++;
    const digits = len - slash;
    if (digits < 1 || digits > 3) return undefined;
    if (digits > 1 && input.charCodeAt(slash) === CH_0) return undefined;
    prefix = 0;
    for (let i = slash; i < len; i++) {
      const c = input.charCodeAt(i);
      if (c < CH_0 || c > CH_9) return undefined;
      prefix = prefix * 10 + (c - CH_0);
    }
    if (prefix > max) return undefined;
  }
  const bits = family === 4 ? 96 + prefix : prefix;
  const m0 = maskWord(bits, 0);
  const m1 = maskWord(bits, 1);
  const m2 = maskWord(bits, 2);
  const m3 = maskWord(bits, 3);
  const network = Object.freeze([
    ((scratch[0] as number) & m0) >>> 0,
    ((scratch[1] as number) & m1) >>> 0,
    ((scratch[2] as number) & m2) >>> 0,
    ((scratch[3] as number) & m3) >>> 0,
  ] as const);
  const mask = Object.freeze([m0, m1, m2, m3] as const);
  return Object.freeze({ family, prefix, network, mask });
}

/**
 * True when `address` (from `parseIp` or `parseIpInto`) is in `block`. Both
 * families compare in the 128-bit form, so see the module comment for how
 * IPv4 and IPv6 meet. Allocates nothing.
 */
export function cidrContains(block: CidrBlock, address: IpAddress): boolean {
  const net = block.network;
  const mask = block.mask;
  // XOR finds differing bits; the mask keeps those that matter. Signedness of
  // the bitwise result is irrelevant when only comparing with zero.
  return (
    (((address[0] as number) ^ net[0]) & mask[0]) === 0 &&
    (((address[1] as number) ^ net[1]) & mask[1]) === 0 &&
    (((address[2] as number) ^ net[2]) & mask[2]) === 0 &&
    (((address[3] as number) ^ net[3]) & mask[3]) === 0
  );
}
