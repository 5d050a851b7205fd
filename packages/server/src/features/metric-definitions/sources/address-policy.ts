/**
 * Where HTTP JSON metric sources may connect. An editor writes the URL and
 * the server fetches it, so by default only public unicast addresses are
 * reached: loopback, private, link-local (cloud metadata at 169.254.169.254),
 * unique-local, carrier-grade NAT, multicast and reserved ranges are refused,
 * whatever name leads there. The check runs on the address the connection is
 * made to (in the DNS lookup of the socket, and on IP literals), so a name
 * that resolves differently on a second lookup cannot get past it.
 * `ROLLGATE_METRIC_SOURCE_ALLOW` lists host names, addresses and CIDR ranges
 * that are allowed anyway (an internal metrics service).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { createRequire } from 'node:module';
import type * as IpAddr from 'ipaddr.js';

// ipaddr.js is CommonJS without named exports Node can see, and its types have no default export.
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof IpAddr;

/** The error code of a connection refused by the policy. */
export const ADDRESS_REFUSED = 'ERR_ROLLGATE_ADDRESS_REFUSED';

export interface AddressPolicy {
  /** Whether a connection to `address` (reached through `hostname`) is allowed. */
  allows(hostname: string, address: string): boolean;
  /** A socket `lookup` that resolves `hostname` and keeps only the allowed addresses. */
  lookup: LookupFunction;
}

/** Whether `value` is an IP address or CIDR range (for configuration checks). */
export function isAddressOrRange(value: string): boolean {
  if (value.includes('/')) {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  }
  return ipaddr.isValid(value);
}

/** Whether `address` is a public unicast address (IPv4-mapped IPv6 is judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

function refused(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname}: the address is not allowed for metric sources`), { code: ADDRESS_REFUSED });
}

/**
 * The policy with `allow` (host names, addresses, CIDR ranges) allowed
 * besides public addresses.
 *
 * @example
 * const policy = addressPolicy(['metrics.internal', '10.20.0.0/16']);
 * policy.allows('example.com', '93.184.216.34'); // true
 * policy.allows('example.com', '127.0.0.1'); // false
 */
export function addressPolicy(allow: readonly string[] = []): AddressPolicy {
  const hosts = new Set<string>();
  const ranges: [IpAddr.IPv4 | IpAddr.IPv6, number][] = [];
  for (const entry of allow) {
    const value = entry.trim().toLowerCase();
    if (value === '') continue;
    if (value.includes('/')) ranges.push(ipaddr.parseCIDR(value));
    else if (ipaddr.isValid(value)) {
      const ip = ipaddr.process(value);
      ranges.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else hosts.add(value.replace(/\.$/, ''));
  }
  const allows = (hostname: string, address: string): boolean => {
    if (hosts.has(hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, ''))) return true;
    if (!ipaddr.isValid(address)) return false;
    const ip = ipaddr.process(address);
    if (ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))) return true;
    return ip.range() === 'unicast';
  };
  const lookup = ((hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, []);
      const allowed = addresses.filter((a) => allows(hostname, a.address));
      if (allowed.length === 0) return callback(refused(hostname), []);
      if (options.all === true) return callback(null, allowed);
      const [first] = allowed as [LookupAddress];
      return callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
  return { allows, lookup };
}

/** Throws the policy's error when `hostname` is an IP literal it does not allow (sockets do not look those up). */
export function checkLiteral(policy: AddressPolicy, hostname: string): void {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0 && !policy.allows(bare, bare)) throw refused(bare);
}
