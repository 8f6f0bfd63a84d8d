/**
 * Where an outbound request (a webhook tool) may go: public addresses only, unless the operator
 * admits private ranges with WEBHOOK_ALLOW_CIDRS. Cloud-metadata addresses and names are refused
 * even then. Pure; the webhook client applies `checkAddress` to every address DNS returns, right
 * before it connects to that same address (so DNS rebinding cannot swap it afterwards).
 */
import { classifyBytes, formatIp, inPrefix, parseIp, parseIPv4, parseIPv6, type AddressClass, type IpBytes } from './ip';

export interface Cidr {
  net: IpBytes;
  bits: number;
  text: string;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr, bitsText, extra] = text.trim().split('/');
  if (extra !== undefined || !addr) return null;
  // Strict notation here: an operator's range is written the usual way.
  const net = /^[0-9.]+$/.test(addr) && addr.split('.').length === 4 ? parseIPv4(addr) : addr.includes(':') ? parseIPv6(addr) : null;
  if (!net) return null;
  const max = net.length * 8;
  const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) return null;
  return { net, bits, text: `${formatIp(net)}/${bits}` };
}

export function parseCidrList(items: readonly string[]): { cidrs: Cidr[]; bad: string | null } {
  const cidrs: Cidr[] = [];
  for (const item of items) {
    const c = parseCidr(item);
    if (!c) return { cidrs, bad: item };
    cidrs.push(c);
  }
  return { cidrs, bad: null };
}

export type DestinationVerdict = { ok: true } | { ok: false; reason: string };

const allowedBy = (b: IpBytes, allow: readonly Cidr[]) => allow.some((c) => inPrefix(b, c.net, c.bits) || (b.length === 16 && mappedIn(b, c)));
const mappedIn = (b: IpBytes, c: Cidr) => c.net.length === 4 && inPrefix(b.slice(0, 12), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255]), 96) && inPrefix(b.slice(12), c.net, c.bits);

/** May a request connect to this address? */
export function checkAddress(text: string, allow: readonly Cidr[] = []): DestinationVerdict {
  const b = parseIp(text);
  if (!b) return { ok: false, reason: `'${text}' is not an IP address` };
  const cls: AddressClass = classifyBytes(b);
  if (cls === 'public') return { ok: true };
  if (cls === 'metadata') return { ok: false, reason: `${formatIp(b)} is a cloud metadata address` };
  if (cls !== 'unspecified' && cls !== 'multicast' && allowedBy(b, allow)) return { ok: true };
  return { ok: false, reason: `${formatIp(b)} is a ${cls} address (only public addresses, or WEBHOOK_ALLOW_CIDRS)` };
}

/** Names that reach cloud metadata services: refused whatever WEBHOOK_ALLOW_CIDRS says. */
const METADATA_NAMES = /^(metadata|metadata\.google\.internal|metadata\.goog|instance-data|instance-data\.ec2\.internal|metadata\.azure\.internal|metadata\.platformequinix\.com)$/;
/** Names that only mean something inside a private network. */
const LOCAL_NAMES = /(^localhost$|\.localhost$|\.local$|\.localdomain$|\.internal$|\.intranet$|\.lan$|\.home\.arpa$|^[^.]+$)/;

/**
 * Save-time check of a URL's host (DNS is checked again at request time). IP literals are
 * classified in whatever notation; local and metadata names are refused unless private ranges
 * are admitted (then only metadata names are).
 */
export function checkHost(hostname: string, allow: readonly Cidr[] = []): DestinationVerdict {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!host) return { ok: false, reason: 'the URL has no host' };
  if (parseIp(host)) return checkAddress(host, allow);
  if (METADATA_NAMES.test(host)) return { ok: false, reason: `'${host}' is a cloud metadata host` };
  if (LOCAL_NAMES.test(host) && allow.length === 0) return { ok: false, reason: `'${host}' names a local or private host (only public hosts, or WEBHOOK_ALLOW_CIDRS)` };
  return { ok: true };
}

/** Save-time check of a whole webhook URL: http(s), no credentials, a permitted host. */
export function checkWebhookUrl(url: string, allow: readonly Cidr[] = []): DestinationVerdict {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: 'only http and https URLs' };
  if (u.username || u.password) return { ok: false, reason: 'credentials in the URL are not allowed (use the webhook secret)' };
  return checkHost(u.hostname, allow);
}
