/**
 * The per-call budget of client text (ContentLimits.maxCallTextBytes), counted in Redis so every
 * gateway serving the call spends the same budget. Expires with the call's other keys.
 */
import type { Keys, Redis } from '../adapters/redis';
import { ApiError } from '../errors';

export async function spendCallText(redis: Redis, keys: Keys, callId: string, bytes: number, max: number, ttlS: number): Promise<void> {
  if (bytes <= 0) return;
  const key = `${keys.callState(callId)}:client-text-bytes`;
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
