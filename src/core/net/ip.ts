/**
 * IP address parsing and classification for outbound-request checks (webhook SSRF, docs/DESIGN.md §6).
 * Pure: no DNS, no sockets. Every notation a resolver or `inet_aton` accepts is parsed, so
 * `2130706433`, `0x7f.1` and `017700000001` are all 127.0.0.1, and IPv6 forms that embed an IPv4
 * address (mapped, compatible, NAT64, 6to4) are classified by the IPv4 address inside.
 */

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'metadata'
  | 'reserved';

/** A parsed address: 4 bytes (IPv4) or 16 bytes (IPv6). */
export type IpBytes = Uint8Array;

/**
 * IPv4 in any notation `inet_aton` accepts: 1 to 4 parts, each decimal, octal (leading 0) or hex
 * (0x); the last part fills the remaining bytes. Returns null when it is not an IPv4 address.
 */
export function parseIPv4(text: string): IpBytes | null {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) {
    // A trailing dot (FQDN form, "127.0.0.1.") is still the address.
    if (parts.length >= 2 && parts.length <= 5 && parts[parts.length - 1] === '' && parts.slice(0, -1).every((p) => p !== '')) {
      return parseIPv4(parts.slice(0, -1).join('.'));
    }
    return null;
  }
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) n = Number(p);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255)) return null;
  const lastBytes = 4 - nums.length;
  if (last >= 2 ** (8 * lastBytes)) return null;
  const out = new Uint8Array(4);
  nums.forEach((n, i) => (out[i] = n));
  for (let i = 0; i < lastBytes; i++) out[3 - i] = Math.floor(last / 2 ** (8 * i)) % 256;
  return out;
}

/** IPv6 (brackets and a zone id allowed), including a dotted IPv4 tail. Null when not IPv6. */
export function parseIPv6(text: string): IpBytes | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(s.slice(lastColon + 1)) ? parseIPv4(s.slice(lastColon + 1)) : null;
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1) + '0'; // placeholder group, replaced below
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const head = halves[0] ? halves[0].split(':').map(group) : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':').map(group) : [];
  if (tail.length) {
    const list = halves.length === 2 ? rest : head;
    list.pop();
    list.push(...tail);
  }
  if ([...head, ...rest].some((n) => Number.isNaN(n))) return null;
  const total = head.length + rest.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Either family; null when the text is not an IP address (a host name). */
export function parseIp(text: string): IpBytes | null {
  return parseIPv6(text) ?? parseIPv4(text);
}

export function formatIp(b: IpBytes): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

/** Does `addr` lie in `net/bits` (same family)? */
export function inPrefix(addr: IpBytes, net: IpBytes, bits: number): boolean {
  if (addr.length !== net.length) return false;
  for (let i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

const v4 = (s: string) => parseIPv4(s)!;
const v6 = (s: string) => parseIPv6(s)!;

/** Cloud metadata endpoints that sit at otherwise public or private addresses. */
const METADATA: IpBytes[] = [v4('169.254.169.254'), v4('169.254.170.2'), v4('100.100.100.200'), v4('168.63.129.16'), v6('fd00:ec2::254')];

/** Most specific first: the first matching range decides. */
const V4_RANGES: [IpBytes, number, AddressClass][] = [
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'private'], // carrier-grade NAT
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('192.0.2.0'), 24, 'reserved'],
  [v4('192.88.99.0'), 24, 'reserved'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('198.51.100.0'), 24, 'reserved'],
  [v4('203.0.113.0'), 24, 'reserved'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'], // includes 255.255.255.255
];

const V6_RANGES: [IpBytes, number, AddressClass][] = [
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('100::'), 64, 'reserved'],
  [v6('2001::'), 32, 'reserved'], // Teredo: tunnels to an IPv4 address we cannot vet
  [v6('2001:db8::'), 32, 'reserved'],
  [v6('fc00::'), 7, 'unique-local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'private'], // deprecated site-local
  [v6('ff00::'), 8, 'multicast'],
];

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIPv4(b: IpBytes): IpBytes | null {
  if (b.length !== 16) return null;
  if (inPrefix(b, v6('::ffff:0:0'), 96) || inPrefix(b, v6('::'), 96) || inPrefix(b, v6('64:ff9b::'), 96) || inPrefix(b, v6('64:ff9b:1::'), 48)) {
    return b.slice(12, 16);
  }
  if (inPrefix(b, v6('2002::'), 16)) return b.slice(2, 6);
  return null;
}

export function classifyBytes(b: IpBytes): AddressClass {
  if (METADATA.some((m) => m.length === b.length && inPrefix(b, m, b.length * 8))) return 'metadata';
  if (b.length === 16) {
    if (inPrefix(b, v6('::'), 128) || inPrefix(b, v6('::1'), 128)) return classifyV6Only(b);
    const inner = embeddedIPv4(b);
    if (inner) return classifyBytes(inner);
    return classifyV6Only(b);
  }
  for (const [net, bits, cls] of V4_RANGES) if (inPrefix(b, net, bits)) return cls;
  return 'public';
}

function classifyV6Only(b: IpBytes): AddressClass {
  for (const [net, bits, cls] of V6_RANGES) if (inPrefix(b, net, bits)) return cls;
  return 'public';
}

/** The class of an address in text form; null when the text is not an IP address. */
export function classifyAddress(text: string): AddressClass | null {
  const b = parseIp(text);
  return b ? classifyBytes(b) : null;
}
