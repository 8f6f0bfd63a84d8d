/** A JSON event as it travels on a socket, before (or instead of) validation. */
export type WireEvent = { type: string; [key: string]: unknown };

export type JsonRecord = Record<string, unknown>;

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const decoder = new TextDecoder();

/**
 * Text frame → value. `ws` hands text frames over as Buffers, so bytes are
 * decoded here too. Returns `undefined` for unparsable input.
 */
export function decodeJson(raw: unknown): { ok: true; value: unknown } | { ok: false } {
  if (raw instanceof Uint8Array) raw = decoder.decode(raw);
  if (typeof raw !== 'string') return { ok: true, value: raw };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}
