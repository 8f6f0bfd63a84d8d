/**
 * The per-call budget of client text (ContentLimits.maxCallTextBytes), counted in Redis so every
 * gateway serving the call spends the same budget. Expires with the call's other keys.
 */
import type { Keys, Redis } from '../adapters/redis';
import type { ClientEvent } from '../contracts/realtime';
import { ApiError } from '../errors';
import { oversizedText, textBytes, type ContentLimits } from './content-limits';

export async function spendCallText(redis: Redis, keys: Keys, callId: string, bytes: number, max: number, ttlS: number): Promise<void> {
  if (bytes <= 0) return;
  const key = keys.clientTextBytes(callId);
  const [[, total]] = (await redis.multi().incrby(key, bytes).expire(key, ttlS).exec()) as [[unknown, number]];
  if (total <= max) return;
  await redis.decrby(key, bytes); // refused: not spent
  throw new ApiError(
    413,
    'invalid_request_error',
    'call_text_limit_exceeded',
    `This call may store at most ${max} bytes of client text; ${total - bytes} are used and this request has ${bytes}.`,
  );
}

/**
 * One live event's text (the WebSocket's counterpart of POST /events' checks): over the item cap
 * or the call's budget, the error event to send instead of running it; null when admitted (spent).
 */
export async function admitEventText(
  redis: Redis,
  keys: Keys,
  callId: string,
  e: ClientEvent,
  limits: ContentLimits,
  ttlS: number,
): Promise<{ code: string; message: string; param?: string } | null> {
  const big = oversizedText(e, limits);
  if (big) return big;
  try {
    await spendCallText(redis, keys, callId, textBytes(e), limits.maxCallTextBytes, ttlS);
    return null;
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, message: err.message };
    throw err;
  }
}
