/**
 * Retry delays for provider calls: exponential with jitter, or what the provider asked for
 * (`retry-after-ms` / `retry-after`, seconds or HTTP date), capped so a turn never stalls long.
 */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export function retryDelayMs(retry: number, headers?: Headers | Record<string, string | undefined> | null, o: BackoffOptions = {}): number {
  const maxMs = o.maxMs ?? 5_000;
  const asked = askedDelayMs(headers);
  if (asked !== null) return Math.min(Math.max(0, asked), maxMs);
  const base = (o.baseMs ?? 250) * 2 ** retry;
  const jitter = 0.75 + 0.5 * (o.random ?? Math.random)();
  return Math.min(Math.round(base * jitter), maxMs);
}

function header(h: Headers | Record<string, string | undefined>, name: string): string | undefined {
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  return (h as Record<string, string | undefined>)[name];
}

function askedDelayMs(h: Headers | Record<string, string | undefined> | null | undefined): number | null {
  if (!h) return null;
  const ms = header(h, 'retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const ra = header(h, 'retry-after');
  if (!ra) return null;
  if (Number.isFinite(Number(ra))) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? null : date - Date.now();
}
