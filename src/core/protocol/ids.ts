/**
 * Ids shaped like OpenAI's (`event_…`, `item_…`, …, §1.2): prefix + 22
 * URL-safe characters from a crypto pool. Refilling one 4 KiB buffer keeps
 * the per-id cost at a slice, which matters at ~100 audio events a second.
 */
import { randomFillSync } from 'node:crypto';

export type IdPrefix = 'event' | 'item' | 'resp' | 'sess' | 'conv' | 'call';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_CHARS = 22; // 62^22 ≈ 2^131: collisions are not a concern
const pool = new Uint8Array(4096);
let offset = pool.length;

function randomByte(): number {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  return pool[offset++]!;
}

/** Rejection sampling keeps each character uniform over the 62-letter alphabet. */
export function newId(prefix: IdPrefix): string {
  let out = `${prefix}_`;
  while (out.length < prefix.length + 1 + ID_CHARS) {
    const b = randomByte();
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}
