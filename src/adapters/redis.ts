/**
 * Redis connections and the key naming scheme. Every key starts with REDIS_PREFIX; call-scoped
 * keys share the hash tag `{callId}` so one call's keys live in one Redis Cluster slot (and a
 * MULTI over them is legal there).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, {
    // Commands wait (queued) while reconnecting instead of failing at once; BullMQ needs null.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    lazyConnect: true,
    ...opts,
  });
}

/**
 * A second connection for blocking reads or pub/sub (they hold their connection). Its connection
 * errors while Redis is away are expected and already logged by the main connection, so they are
 * swallowed here instead of surfacing as ioredis' "Unhandled error event".
 */
export function dedicatedConnection(redis: Redis): Redis {
  const conn = redis.duplicate();
  conn.on('error', () => {});
  return conn;
}

/** Redis could not be reached at start: its message is the one line an operator reads. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/**
 * Connects, retrying for at most `timeoutMs`, or fails with one RedisUnreachableError naming the
 * cause and the fix (instead of retrying forever at start). Connection errors meanwhile are
 * collected here, so ioredis never prints its "Unhandled error event" before that line.
 */
export async function connectRedis(url: string, opts: RedisOptions = {}, timeoutMs = 5_000): Promise<Redis> {
  const redis = createRedis(url, opts);
  const safeUrl = url.replace(/\/\/[^@]*@/, '//***@');
  let lastError: Error | null = null;
  const collect = (err: Error) => {
    lastError = err;
  };
  redis.on('error', collect);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(lastError ?? new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      // A failed attempt is retried by retryStrategy; each failure arrives as an 'error' event.
      redis.connect().catch(() => {});
    });
    await redis.ping();
  } catch (err) {
    redis.disconnect(); // `collect` stays: an attempt still in flight may yet report its error
    throw new RedisUnreachableError(`Cannot reach Redis at ${safeUrl} (${(err as Error).message}). Start Redis or set REDIS_URL.`);
  }
  redis.off('error', collect); // the caller attaches its own listener now
  return redis;
}

/**
 * Keeps TTLs on append-only keys cheaply: a key's TTL is refreshed at most every quarter TTL, so
 * most appends cost one command instead of MULTI + XADD + EXPIRE + EXEC. Call `touch` right after
 * issuing the write (same connection, so the EXPIRE lands after the key exists).
 */
export class ExpiryRefresher {
  private readonly last = new Map<string, number>();

  constructor(private readonly redis: Redis) {}

  touch(key: string, ttlS: number, now = Date.now()): void {
    const at = this.last.get(key);
    if (at !== undefined && now - at < (ttlS * 1000) / 4) return;
    if (this.last.size >= 10_000) this.last.clear(); // bounded; a forgotten key just refreshes early
    this.last.set(key, now);
    void this.redis.expire(key, ttlS).catch(() => {});
  }
}

export class Keys {
  constructor(readonly prefix: string) {}

  // businesses and their keys
  business(id: string) { return `${this.prefix}:business:${id}`; }
  businesses() { return `${this.prefix}:businesses`; }
  businessKeys(id: string) { return `${this.prefix}:business:${id}:keys`; }
  apiKey(hash: string) { return `${this.prefix}:apikey:${hash}`; }
  customers(businessId: string) { return `${this.prefix}:business:${businessId}:customers`; }
  audit(businessId: string) { return `${this.prefix}:business:${businessId}:audit`; }
  businessCalls(businessId: string) { return `${this.prefix}:business:${businessId}:calls`; }
  activeCalls(businessId: string) { return `${this.prefix}:business:${businessId}:active`; }
  rate(scope: string) { return `${this.prefix}:rate:${scope}`; }
  /** Cached synthesis of a business's fallback message, by voice, speed and text hash. */
  fallbackAudio(businessId: string, variant: string) { return `${this.prefix}:business:${businessId}:fallback-audio:${variant}`; }

  // calls
  calls() { return `${this.prefix}:calls`; }
  clientSecret(hash: string) { return `${this.prefix}:secret:${hash}`; }
  call(callId: string) { return `${this.prefix}:call:{${callId}}`; }
  callHistory(callId: string) { return `${this.call(callId)}:history`; }
  callTranscript(callId: string) { return `${this.call(callId)}:transcript`; }
  callLog(callId: string) { return `${this.call(callId)}:log`; }
  callOutput(callId: string) { return `${this.call(callId)}:out`; }
  callEvents(callId: string) { return `${this.call(callId)}:events`; }
  callState(callId: string) { return `${this.call(callId)}:state`; }
  /** Attempts per job of the call (a hash by job id): redeliveries after a crash are counted here. */
  callAttempts(callId: string) { return `${this.callState(callId)}:attempts`; }
  callCancel(callId: string) { return `${this.call(callId)}:cancelled`; }
  callAudio(callId: string, turnId: string) { return `${this.call(callId)}:audio:${turnId}`; }
  /** An early transcription's result (a JSON string), and a list pushed once it is there (to BLPOP on). */
  earlyTranscript(callId: string, earlyId: string) { return `${this.call(callId)}:early:${earlyId}`; }
  cancelChannel() { return `${this.prefix}:cancel`; }
  hangupChannel() { return `${this.prefix}:hangup`; }
  /** Where a Twilio call goes once our stream closes (transfer_to_human), by CallSid. */
  twilioTransfer(callSid: string) { return `${this.prefix}:twilio:transfer:${callSid}`; }

  // operations
  /** Live worker processes: a sorted set of `<stage>|<instance>` scored by their last heartbeat (ms). */
  workerHeartbeats() { return `${this.prefix}:workers`; }
  /** Each worker process's provider circuit states: a hash of `<stage>|<instance>` → JSON. */
  providerCircuits() { return `${this.prefix}:provider-circuits`; }

  /** BullMQ prefix; braces keep each queue's keys in one cluster slot. */
  queuePrefix() { return `{${this.prefix}:q}`; }
}
