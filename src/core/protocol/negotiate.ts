/**
 * Connection-time choices (docs/PROTOCOLS.md §1.1, docs/DESIGN.md §1): which dialect a
 * client speaks, which subprotocol to select, and a browser's key.
 */
import type { Dialect } from './dialect';

export type HeaderValue = string | string[] | undefined;
export type QueryValue = string | string[] | undefined;

const KEY_PREFIX = 'openai-insecure-api-key.';
const BETA_SUBPROTOCOL = 'openai-beta.realtime-v1';

function values(v: HeaderValue | QueryValue): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function header(headers: Record<string, HeaderValue>, name: string): string[] {
  const wanted = name.toLowerCase();
  return Object.entries(headers)
    .filter(([k]) => k.toLowerCase() === wanted)
    .flatMap(([, v]) => values(v));
}

/**
 * `?dialect=` wins (an explicit choice, also the only way to force GA while an
 * SDK sends the beta header); then the beta header or subprotocol; else GA,
 * which is what OpenAI serves today.
 */
export function negotiateDialect(o: {
  headers: Record<string, HeaderValue>;
  protocols: readonly string[];
  query: Record<string, QueryValue>;
}): Dialect {
  const asked = values(o.query['dialect']).map((v) => v.trim().toLowerCase());
  if (asked.includes('ga')) return 'ga';
  if (asked.includes('beta')) return 'beta';
  const betaHeader = header(o.headers, 'openai-beta').some((v) =>
    v.split(',').some((part) => part.trim().toLowerCase() === 'realtime=v1'),
  );
  if (betaHeader || o.protocols.includes(BETA_SUBPROTOCOL)) return 'beta';
  return 'ga';
}

/** The browser's key from `openai-insecure-api-key.<token>`, if offered. */
export function tokenFromSubprotocols(protocols: readonly string[]): string | undefined {
  const entry = protocols.find((p) => p.startsWith(KEY_PREFIX) && p.length > KEY_PREFIX.length);
  return entry?.slice(KEY_PREFIX.length);
}

/**
 * Select `realtime` when offered, else the first entry that is not a key:
 * Chrome fails the handshake when a client offers subprotocols and none is
 * selected, and echoing the key entry would reflect a secret. `false` =
 * select none (ws's handleProtocols convention).
 */
export function selectSubprotocol(protocols: readonly string[]): string | false {
  if (protocols.includes('realtime')) return 'realtime';
  return protocols.find((p) => !p.startsWith(KEY_PREFIX)) ?? false;
}

/** Parse a raw `Sec-WebSocket-Protocol` header value into its entries. */
export function parseSubprotocolHeader(value: HeaderValue): string[] {
  return values(value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}
