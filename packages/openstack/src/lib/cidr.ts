/**
 * Small, dependency-free IP/CIDR arithmetic (IPv4 and IPv6) on bigints.
 * Throws RangeError on malformed input; callers turn that into a coded error.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpVersion = 4 | 6;

export interface Cidr {
  readonly version: IpVersion;
  /** Network address as a bigint. */
  readonly network: bigint;
  readonly prefixLength: number;
}

const BITS: Record<IpVersion, number> = { 4: 32, 6: 128 };

export function ipVersion(ip: string): IpVersion | undefined {
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip)) return 6;
  return undefined;
}

export function ipToBigInt(ip: string): { version: IpVersion; value: bigint } {
  if (isIPv4(ip)) {
    const value = ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { version: 4, value };
  }
  if (isIPv6(ip)) {
    let text = ip;
    // Embedded IPv4 tail (::ffff:1.2.3.4)
    const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4tail?.[1]) {
      const v4 = ipToBigInt(v4tail[1]).value;
      text = text.slice(0, -v4tail[1].length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    }
    const [head = '', tail] = text.split('::');
    const headParts = head === '' ? [] : head.split(':');
    const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
    const missing = 8 - headParts.length - tailParts.length;
    const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
    if (parts.length !== 8) throw new RangeError(`invalid IPv6 address: ${ip}`);
    const value = parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
    return { version: 6, value };
  }
  throw new RangeError(`invalid IP address: ${ip}`);
}

export function bigIntToIp(version: IpVersion, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const left = groups.slice(0, bestStart).join(':');
  const right = groups.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Canonical text of an IP address (lower-case, compressed IPv6). */
export function normalizeIp(ip: string): string {
  const { version, value } = ipToBigInt(ip);
  return bigIntToIp(version, value);
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits are allowed here (see `isNetworkAddress`). */
export function parseCidr(text: string): Cidr & { address: bigint } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`invalid CIDR (no prefix length): ${text}`);
  const ip = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const { version, value } = ipToBigInt(ip);
  if (!/^\d{1,3}$/.test(lenText)) throw new RangeError(`invalid CIDR prefix length: ${text}`);
  const prefixLength = Number(lenText);
  const bits = BITS[version];
  if (prefixLength > bits) throw new RangeError(`invalid CIDR prefix length: ${text}`);
  const mask = prefixLength === 0 ? 0n : ((1n << BigInt(prefixLength)) - 1n) << BigInt(bits - prefixLength);
  return { version, network: value & mask, prefixLength, address: value };
}

export function formatCidr(cidr: Cidr): string {
  return `${bigIntToIp(cidr.version, cidr.network)}/${cidr.prefixLength}`;
}

/** "10.0.0.5/24" → "10.0.0.0/24". */
export function normalizeCidr(text: string): string {
  return formatCidr(parseCidr(text));
}

export function isNetworkAddress(text: string): boolean {
  const c = parseCidr(text);
  return c.address === c.network;
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = ipToBigInt(ip);
  if (a.version !== c.version) return false;
  return parseCidr(`${ip}/${c.prefixLength}`).network === c.network;
}

/** The first usable host address of a subnet (Neutron's default gateway). */
export function firstHost(cidr: string): string {
  const c = parseCidr(cidr);
  const bits = BITS[c.version];
  const offset = bits - c.prefixLength >= 2 ? 1n : 0n;
  return bigIntToIp(c.version, c.network + offset);
}

/** Strips a "/len" suffix if present. */
export function ipOf(addressWithPrefix: string): string {
  const slash = addressWithPrefix.indexOf('/');
  return slash < 0 ? addressWithPrefix : addressWithPrefix.slice(0, slash);
}

/** Usable host range of a subnet as [first, last] (IPv4 excludes network and broadcast). */
function hostRange(cidr: string): { version: IpVersion; first: bigint; last: bigint } {
  const c = parseCidr(cidr);
  const bits = BITS[c.version];
  const size = 1n << BigInt(bits - c.prefixLength);
  const lastAddr = c.network + size - 1n;
  if (size <= 2n) return { version: c.version, first: c.network, last: lastAddr };
  return { version: c.version, first: c.network + 1n, last: c.version === 4 ? lastAddr - 1n : lastAddr };
}

/**
 * Neutron allocation pools covering a subnet's host range minus some
 * addresses (gateway, Docker aux addresses), as {start, end} ranges.
 */
export function rangesExcluding(cidr: string, excluded: readonly string[], within?: string): Array<{ start: string; end: string }> {
  const host = hostRange(cidr);
  const { version } = host;
  let { first, last } = host;
  if (within) {
    // --ip-range: only that part of the subnet (still never its network/broadcast address)
    const w = parseCidr(within);
    const size = 1n << BigInt(BITS[w.version] - w.prefixLength);
    if (w.network > first) first = w.network;
    if (w.network + size - 1n < last) last = w.network + size - 1n;
  }
  const holes = [...new Set(excluded.map((ip) => ipToBigInt(ip).value))]
    .filter((v) => v >= first && v <= last)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: Array<{ start: string; end: string }> = [];
  let cursor = first;
  for (const hole of holes) {
    if (hole > cursor) ranges.push({ start: bigIntToIp(version, cursor), end: bigIntToIp(version, hole - 1n) });
    cursor = hole + 1n;
  }
  if (cursor <= last) ranges.push({ start: bigIntToIp(version, cursor), end: bigIntToIp(version, last) });
  return ranges;
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (x.version !== y.version) return false;
  const len = Math.min(x.prefixLength, y.prefixLength);
  return parseCidr(`${bigIntToIp(x.version, x.network)}/${len}`).network === parseCidr(`${bigIntToIp(y.version, y.network)}/${len}`).network;
}

/** The `size`-prefix blocks of a CIDR, in order (lazily: a /48 holds 65536 /64s). */
export function* subnetsOf(cidr: string, size: number): Generator<string> {
  const c = parseCidr(cidr);
  const bits = BITS[c.version];
  if (size < c.prefixLength || size > bits) return;
  const step = 1n << BigInt(bits - size);
  const count = 1n << BigInt(size - c.prefixLength);
  for (let i = 0n; i < count; i++) yield `${bigIntToIp(c.version, c.network + i * step)}/${size}`;
}
