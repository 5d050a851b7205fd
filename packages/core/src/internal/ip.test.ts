import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { cidrContains, parseCidr, parseIp, parseIpInto } from './ip.js';
import type { CidrBlock } from './ip.js';

function words(input: string): number[] | undefined {
  const a = parseIp(input);
  return a === undefined ? undefined : Array.from(a);
}

function block(input: string): CidrBlock {
  const b = parseCidr(input);
  if (b === undefined) throw new Error(`expected ${JSON.stringify(input)} to parse as a block`);
  return b;
}

function contains(cidr: string, address: string): boolean {
  const a = parseIp(address);
  if (a === undefined) throw new Error(`expected ${JSON.stringify(address)} to parse as an address`);
  return cidrContains(block(cidr), a);
}

describe('parseIp', () => {
  it('parses IPv4 into the IPv4-mapped IPv6 form', () => {
    expect(words('10.0.0.1')).toEqual([0, 0, 0xffff, 0x0a000001]);
    expect(words('0.0.0.0')).toEqual([0, 0, 0xffff, 0]);
    expect(words('255.255.255.255')).toEqual([0, 0, 0xffff, 0xffffffff]);
    expect(words('192.168.1.254')).toEqual([0, 0, 0xffff, 0xc0a801fe]);
  });

  it('parses full and compressed IPv6, case-insensitively', () => {
    expect(words('2001:0db8:0000:0000:0000:ff00:0042:8329')).toEqual([0x20010db8, 0, 0xff00, 0x00428329]);
    expect(words('2001:db8::ff00:42:8329')).toEqual([0x20010db8, 0, 0xff00, 0x00428329]);
    expect(words('2001:DB8::FF00:42:8329')).toEqual([0x20010db8, 0, 0xff00, 0x00428329]);
    expect(words('::')).toEqual([0, 0, 0, 0]);
    expect(words('::1')).toEqual([0, 0, 0, 1]);
    expect(words('1::')).toEqual([0x00010000, 0, 0, 0]);
    expect(words('fe80::1')).toEqual([0xfe800000, 0, 0, 1]);
    expect(words('1:2:3:4:5:6:7::')).toEqual([0x00010002, 0x00030004, 0x00050006, 0x00070000]);
    expect(words('::2:3:4:5:6:7:8')).toEqual([0x00000002, 0x00030004, 0x00050006, 0x00070008]);
    expect(words('1:2:3::6:7:8')).toEqual([0x00010002, 0x00030000, 0x00000006, 0x00070008]);
    expect(words('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });

  it('parses an embedded IPv4 tail', () => {
    expect(words('::ffff:1.2.3.4')).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(words('::FFFF:1.2.3.4')).toEqual(words('1.2.3.4'));
    expect(words('0:0:0:0:0:ffff:1.2.3.4')).toEqual(words('1.2.3.4'));
    expect(words('::ffff:0102:0304')).toEqual(words('1.2.3.4'));
    expect(words('64:ff9b::1.2.3.4')).toEqual([0x0064ff9b, 0, 0, 0x01020304]);
    expect(words('::1.2.3.4')).toEqual([0, 0, 0, 0x01020304]);
    expect(words('1:2:3:4:5:6:1.2.3.4')).toEqual([0x00010002, 0x00030004, 0x00050006, 0x01020304]);
  });

  it.each([
    '',
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '010.0.0.1',
    '1.2.3.04',
    '00.0.0.0',
    '0x0a.0.0.1',
    '10.1',
    '4294967295',
    '1.2.3.-4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4/32',
    '1::2::3',
    ':::',
    ':1::',
    '1:',
    ':1',
    '1::2:',
    ':',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:1.2.3',
    '::ffff:256.1.1.1',
    '::ffff:01.2.3.4',
    '::1.2.3.4:5',
    '::ffff:1.2.3.4.5',
    '1.2.3.4::',
    'fe80::1%eth0',
    'fe80::1%1',
    '[::1]',
    ':: ',
    '１.2.3.4',
    'localhost',
  ])('refuses %j', (input) => {
    expect(parseIp(input)).toBeUndefined();
  });

  it('refuses non-strings without throwing', () => {
    expect(parseIp(42 as unknown as string)).toBeUndefined();
    expect(parseIp(null as unknown as string)).toBeUndefined();
  });

  it('agrees with node:net isIP on generated strings (except zone ids, which it refuses)', () => {
    const unit = fc.constantFrom('0', '1', '9', 'a', 'F', 'g', ':', ':', '.', '.', '25', '255', '256', '01', 'ffff', '%');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 14 }), (input) => {
        const expected = input.includes('%') ? false : isIP(input) !== 0;
        expect(parseIp(input) !== undefined, input).toBe(expected);
      }),
      { numRuns: 20000 },
    );
  });

  it('parseIpInto fills a reused buffer', () => {
    const buf = new Uint32Array(4);
    expect(parseIpInto('2001:db8::1', buf)).toBe(true);
    expect(Array.from(buf)).toEqual([0x20010db8, 0, 0, 1]);
    expect(parseIpInto('10.0.0.1', buf)).toBe(true);
    expect(Array.from(buf)).toEqual([0, 0, 0xffff, 0x0a000001]);
    expect(parseIpInto('nope', buf)).toBe(false);
  });
});

describe('parseCidr', () => {
  it('parses IPv4 blocks into the mapped 128-bit form', () => {
    const b = block('10.0.0.0/8');
    expect(b.family).toBe(4);
    expect(b.prefix).toBe(8);
    expect(b.network).toEqual([0, 0, 0xffff, 0x0a000000]);
    expect(b.mask).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xff000000]);
    expect(block('0.0.0.0/0').mask).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0]);
  });

  it('parses IPv6 blocks', () => {
    const b = block('2001:db8::/32');
    expect(b.family).toBe(6);
    expect(b.prefix).toBe(32);
    expect(b.network).toEqual([0x20010db8, 0, 0, 0]);
    expect(b.mask).toEqual([0xffffffff, 0, 0, 0]);
    expect(block('::/0').mask).toEqual([0, 0, 0, 0]);
    expect(block('fe80::/10').mask).toEqual([0xffc00000, 0, 0, 0]);
    expect(block('::/127').mask).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe]);
    expect(block('::ffff:10.0.0.0/104').network).toEqual(block('10.0.0.0/8').network);
  });

  it('takes a single address as a /32 or /128', () => {
    expect(block('10.1.2.3')).toEqual(block('10.1.2.3/32'));
    expect(block('10.1.2.3').prefix).toBe(32);
    expect(block('2001:db8::1')).toEqual(block('2001:db8::1/128'));
    expect(block('2001:db8::1').prefix).toBe(128);
  });

  it('clears host bits', () => {
    expect(block('10.1.2.3/8').network).toEqual(block('10.0.0.0/8').network);
    expect(block('2001:db8:ffff::1/32').network).toEqual([0x20010db8, 0, 0, 0]);
    expect(block('255.255.255.255/0').network).toEqual([0, 0, 0xffff, 0]);
  });

  it('returns frozen blocks', () => {
    const b = block('10.0.0.0/8');
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(b.network)).toBe(true);
    expect(Object.isFrozen(b.mask)).toBe(true);
  });

  it.each([
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/08',
    '10.0.0.0/8.0',
    '10.0.0.0/8/8',
    '10.0.0.0 /8',
    '10.0.0.0/ 8',
    '10.0.0.0/8 ',
    '10.0.0.0/1000',
    '10.0.0/8',
    '256.0.0.0/8',
    '::/129',
    '::/00',
    '2001:db8::/0x20',
    'fe80::1%eth0',
    'fe80::1%eth0/64',
    '1::2::3/64',
  ])('refuses %j', (input) => {
    expect(parseCidr(input)).toBeUndefined();
  });

  it('refuses non-strings without throwing', () => {
    expect(parseCidr(undefined as unknown as string)).toBeUndefined();
  });
});

describe('cidrContains', () => {
  it('handles IPv4 blocks', () => {
    expect(contains('10.0.0.0/8', '10.0.0.0')).toBe(true);
    expect(contains('10.0.0.0/8', '10.255.255.255')).toBe(true);
    expect(contains('10.0.0.0/8', '11.0.0.0')).toBe(false);
    expect(contains('10.0.0.0/8', '9.255.255.255')).toBe(false);
    expect(contains('192.168.1.0/24', '192.168.1.77')).toBe(true);
    expect(contains('192.168.1.0/24', '192.168.2.1')).toBe(false);
    expect(contains('128.0.0.0/1', '255.255.255.255')).toBe(true);
    expect(contains('128.0.0.0/1', '127.255.255.255')).toBe(false);
    expect(contains('10.1.2.3', '10.1.2.3')).toBe(true);
    expect(contains('10.1.2.3/32', '10.1.2.4')).toBe(false);
    expect(contains('10.1.2.2/31', '10.1.2.3')).toBe(true);
    expect(contains('10.1.2.2/31', '10.1.2.4')).toBe(false);
  });

  it('0.0.0.0/0 contains every IPv4 address and no IPv6 address that is not IPv4-mapped', () => {
    for (const a of ['0.0.0.0', '1.2.3.4', '127.0.0.1', '255.255.255.255', '::ffff:8.8.8.8']) {
      expect(contains('0.0.0.0/0', a), a).toBe(true);
    }
    for (const a of ['::', '::1', '2001:db8::1', '::1.2.3.4', '64:ff9b::1.2.3.4', '::fffe:1.2.3.4', '1::ffff:1.2.3.4']) {
      expect(contains('0.0.0.0/0', a), a).toBe(false);
    }
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 blocks', () => {
    expect(contains('10.0.0.0/8', '::ffff:10.0.0.1')).toBe(true);
    expect(contains('10.0.0.0/8', '::FFFF:a00:1')).toBe(true);
    expect(contains('10.0.0.0/8', '::ffff:11.0.0.1')).toBe(false);
    expect(contains('10.0.0.1', '::ffff:10.0.0.1')).toBe(true);
    // NAT64 and IPv4-compatible forms are not the IPv4 address.
    expect(contains('10.0.0.0/8', '64:ff9b::10.0.0.1')).toBe(false);
    expect(contains('10.0.0.0/8', '::10.0.0.1')).toBe(false);
    // A mapped block is the same block.
    expect(contains('::ffff:10.0.0.0/104', '10.20.30.40')).toBe(true);
    expect(contains('::ffff:0:0/96', '1.2.3.4')).toBe(true);
  });

  it('handles IPv6 blocks', () => {
    expect(contains('2001:db8::/32', '2001:db8::')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db9::')).toBe(false);
    expect(contains('2001:db8::/32', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(false);
    expect(contains('2001:db8::/32', '10.0.0.1')).toBe(false);
    expect(contains('fe80::/10', 'febf::1')).toBe(true);
    expect(contains('fe80::/10', 'fec0::1')).toBe(false);
    expect(contains('2001:db8:0:0:8000::/65', '2001:db8::8000:0:0:1')).toBe(true);
    expect(contains('2001:db8:0:0:8000::/65', '2001:db8::7fff:0:0:1')).toBe(false);
  });

  it('::/0 contains every address of both families', () => {
    for (const a of ['::', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::1', '0.0.0.0', '10.0.0.1', '255.255.255.255']) {
      expect(contains('::/0', a), a).toBe(true);
    }
  });

  it('handles the /127 and /128 edges', () => {
    expect(contains('2001:db8::/127', '2001:db8::')).toBe(true);
    expect(contains('2001:db8::/127', '2001:db8::1')).toBe(true);
    expect(contains('2001:db8::/127', '2001:db8::2')).toBe(false);
    expect(contains('2001:db8::1/127', '2001:db8::')).toBe(true);
    expect(contains('2001:db8::/128', '2001:db8::')).toBe(true);
    expect(contains('2001:db8::/128', '2001:db8::1')).toBe(false);
    expect(contains('2001:db8::1', '2001:db8::1')).toBe(true);
    expect(contains('2001:db8::1', '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(contains('::1/128', '::')).toBe(false);
    expect(contains('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
  });

  it('handles prefix lengths at every word boundary', () => {
    // Flip one bit at a time: an address is in the block iff the flipped bit is beyond the prefix.
    const base = parseIp('2001:db8:1234:5678:9abc:def0:1357:2468');
    if (base === undefined) throw new Error('unreachable');
    for (const prefix of [0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128]) {
      const b = block(`2001:db8:1234:5678:9abc:def0:1357:2468/${prefix}`);
      for (let bit = 0; bit < 128; bit++) {
        const a = Uint32Array.from(base);
        const w = bit >>> 5;
        a[w] = ((a[w] as number) ^ (0x80000000 >>> (bit & 31))) >>> 0;
        expect(cidrContains(b, a), `/${prefix} bit ${bit}`).toBe(bit >= prefix);
      }
      expect(cidrContains(b, base)).toBe(true);
    }
  });

  it('agrees with a reference on random IPv4 blocks', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const toDotted = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (net, addr, prefix) => {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        const expected = ((net & mask) >>> 0) === ((addr & mask) >>> 0);
        expect(contains(`${toDotted(net)}/${prefix}`, toDotted(addr))).toBe(expected);
        expect(contains(`${toDotted(net)}/${prefix}`, `::ffff:${toDotted(addr)}`)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
