/**
 * The per-business concurrent-call limit (`limits.max_concurrent_calls`): a Redis sorted set of
 * active call ids scored by their last heartbeat. Acquiring drops entries whose heartbeat is
 * older than `staleMs` first, so the calls of a crashed gateway stop counting on their own; it
 * returns them too, so the caller can mark those calls ended.
 */
import type { Keys, Redis } from '../adapters/redis';

const ACQUIRE = `
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return {1, redis.call('ZCARD', KEYS[1]), 0, stale} end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, n, oldest[2], stale}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, n + 1, 0, stale}`;

/** `stale`: calls that lost their heartbeat (a crashed gateway's, or never connected). */
export type Acquired = ({ ok: true; active: number } | { ok: false; active: number; retryAfterS: number }) & { stale: string[] };

export class ConcurrencyLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** A call whose heartbeat is older than this no longer counts. */
    readonly staleMs = 120_000,
  ) {}

  /** Takes a slot for `callId` unless the business is at `max` live calls. */
  async acquire(businessId: string, callId: string, max: number): Promise<Acquired> {
    const now = Date.now();
    const res = (await this.redis.eval(ACQUIRE, 1, this.keys.activeCalls(businessId), String(now - this.staleMs), String(now), String(max), callId, String(this.staleMs * 2))) as [number, number, string | number, string[]];
    const [ok, active, oldest, stale] = res;
    if (ok === 1) return { ok: true, active, stale };
    // The soonest a slot frees for sure is when the oldest heartbeat goes stale; calls usually end sooner.
    const staleIn = Number(oldest) + this.staleMs - now;
    return { ok: false, active, retryAfterS: Math.max(1, Math.min(60, Math.ceil(staleIn / 1000))), stale };
  }

  /** Keeps a live call counted (only if it still holds a slot). */
  async heartbeat(businessId: string, callId: string): Promise<void> {
    const key = this.keys.activeCalls(businessId);
    await this.redis.multi().zadd(key, 'XX', Date.now(), callId).pexpire(key, this.staleMs * 2).exec();
  }

  async release(businessId: string, callId: string): Promise<void> {
    await this.redis.zrem(this.keys.activeCalls(businessId), callId);
  }

  async active(businessId: string): Promise<number> {
    await this.redis.zremrangebyscore(this.keys.activeCalls(businessId), '-inf', Date.now() - this.staleMs);
    return this.redis.zcard(this.keys.activeCalls(businessId));
  }
}
