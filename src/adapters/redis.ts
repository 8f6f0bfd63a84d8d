/**
 * Redis connections and the key naming scheme. Every key starts with REDIS_PREFIX; call-scoped
 * keys share the hash tag `{callId}` so one call's keys live in one Redis Cluster slot (and a
 * MULTI or a Lua script over them is legal there).
 *
 * One node (`REDIS_URL`) or a Redis Cluster (`REDIS_CLUSTER_NODES`): the code base uses the type
 * `Redis` below for either. On a cluster, every MULTI, Lua script and multi-key command must touch
 * one slot; the few writes that span slots (a business and the business index, say) go through
 * `writeAcrossSlots`, and reads of many keys through `getMany`.
 */
import { Cluster, Redis as RedisNode, type ChainableCommander, type ClusterNode, type RedisOptions } from 'ioredis';

/** A connection to one Redis node or to a Redis Cluster. */
export type Redis = RedisNode | Cluster;
export { Cluster, RedisNode };

/** Where Redis is: what `Config` carries (`redisClusterNodes` empty: one node at `redisUrl`). */
export interface RedisTarget {
  redisUrl: string;
  redisClusterNodes?: string[];
}

const retryStrategy = (times: number) => Math.min(100 * 2 ** times, 2_000);

function clusterNodes(nodes: string[]): ClusterNode[] {
  return nodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
}

export function isCluster(redis: Redis): redis is Cluster {
  return redis instanceof Cluster;
}

export function createRedis(target: string | RedisTarget, opts: RedisOptions = {}): Redis {
  const t = typeof target === 'string' ? { redisUrl: target } : target;
  // Commands wait (queued) while reconnecting instead of failing at once; BullMQ needs null.
  const nodeOptions: RedisOptions = { maxRetriesPerRequest: null, retryStrategy, lazyConnect: true, ...opts };
  if (!t.redisClusterNodes?.length) return new RedisNode(t.redisUrl, nodeOptions);
  // Credentials and TLS for the cluster's nodes come from REDIS_URL (redis[s]://[user:password@]…).
  const url = new URL(t.redisUrl);
  const auth: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return new Cluster(clusterNodes(t.redisClusterNodes), {
    lazyConnect: true,
    enableReadyCheck: true,
    // Reads from replicas could miss a write made a moment before (a turn's history, a stream).
    scaleReads: 'master',
    clusterRetryStrategy: retryStrategy,
    // A failover answers MOVED / CLUSTERDOWN / TRYAGAIN for a few seconds: wait and redirect
    // (commands are queued meanwhile) rather than fail the turn.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    maxRedirections: 32,
    slotsRefreshTimeout: 2_000,
    redisOptions: { ...nodeOptions, ...auth },
  });
}

/**
 * A second connection for blocking reads or pub/sub (they hold their connection). Its connection
 * errors while Redis is away are expected and already logged by the main connection, so they are
 * swallowed here instead of surfacing as ioredis' "Unhandled error event".
 *
 * On a cluster this is a second Cluster client: it connects only to the nodes it sends commands to
 * (the one holding the key it reads) and follows MOVED and closed connections after a failover
 * (refreshing its slot table then). A reader (one per live call) skips the periodic slot refresh,
 * which would cost every node a CLUSTER SLOTS per reader every 5 s; a subscriber (`pubsub`, a few
 * per process) keeps it, since a subscribed connection sends no command that could meet a MOVED.
 */
export function dedicatedConnection(redis: Redis, o: { pubsub?: boolean } = {}): Redis {
  const conn: Redis = isCluster(redis) ? redis.duplicate([], o.pubsub ? {} : { slotsRefreshInterval: 0 }) : redis.duplicate();
  conn.on('error', () => {});
  return conn;
}

/** Subscribes `sub` (a `dedicatedConnection(…, { pubsub: true })`) to `channel`; `onMessage` gets each message. */
export async function listen(sub: Redis, channel: string, onMessage: (message: string) => void): Promise<void> {
  sub.on('message', (_channel: string, message: string) => onMessage(message));
  if (sub.status === 'wait') await sub.connect();
  await sub.subscribe(channel);
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
export async function connectRedis(target: string | RedisTarget, opts: RedisOptions = {}, timeoutMs = 5_000): Promise<Redis> {
  const t = typeof target === 'string' ? { redisUrl: target } : target;
  const redis = createRedis(t, opts);
  const where = t.redisClusterNodes?.length ? `the Redis Cluster at ${t.redisClusterNodes.join(',')}` : `Redis at ${t.redisUrl.replace(/\/\/[^@]*@/, '//***@')}`;
  const fix = t.redisClusterNodes?.length ? 'Start the cluster or fix REDIS_CLUSTER_NODES' : 'Start Redis or set REDIS_URL';
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
    throw new RedisUnreachableError(`Cannot reach ${where} (${(err as Error).message}). ${fix}.`);
  }
  redis.off('error', collect); // the caller attaches its own listener now
  return redis;
}

/** The nodes that hold data: the cluster's masters, or the one node. */
export function masters(redis: Redis): RedisNode[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/** What /readyz says about Redis: one node answers PING; a cluster reports `cluster_state:ok` and reachable masters. */
export interface RedisHealth {
  ok: boolean;
  error?: string;
  cluster?: { state: string; masters: number; masters_reachable: number; slots_ok: number };
}

export async function redisHealth(redis: Redis, timeoutMs = 1_000): Promise<RedisHealth> {
  // Commands wait while ioredis reconnects: answer "not ready" after a timeout instead of hanging.
  const within = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
  try {
    if (!isCluster(redis)) {
      await within(redis.ping());
      return { ok: true };
    }
    const nodes = redis.nodes('master');
    const pings = await Promise.allSettled(nodes.map((n) => within(n.ping())));
    const reachable = pings.filter((p) => p.status === 'fulfilled').length;
    const info = parseInfo(await within(redis.cluster('INFO') as Promise<string>));
    const cluster = { state: info.cluster_state ?? 'unknown', masters: Number(info.cluster_size ?? nodes.length), masters_reachable: reachable, slots_ok: Number(info.cluster_slots_ok ?? 0) };
    const ok = cluster.state === 'ok' && reachable >= cluster.masters;
    return { ok, cluster, ...(ok ? {} : { error: `cluster_state:${cluster.state}, ${reachable} of ${cluster.masters} masters reachable` }) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * Writes to keys in several slots. One node: one MULTI, atomic as before. A cluster cannot run a
 * MULTI across slots, so there the commands run one after another in the order given: order them
 * so that a crash between two leaves nothing a reader trips on (the record before its index).
 * Each command itself must touch one slot (a DEL of keys in several slots: one DEL each).
 */
export async function writeAcrossSlots(redis: Redis, build: (m: ChainableCommander) => void): Promise<[Error | null, unknown][]> {
  if (!isCluster(redis)) {
    const m = redis.multi();
    build(m);
    return (await m.exec()) ?? [];
  }
  const calls: [string, unknown[]][] = [];
  const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
    get: (_t, name) => (...args: unknown[]) => {
      calls.push([String(name), args]);
      return recorder;
    },
  });
  build(recorder);
  const out: [Error | null, unknown][] = [];
  const commands = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const [name, args] of calls) out.push([null, await commands[name]!.apply(redis, args)]);
  return out;
}

/** GET of many keys: one MGET on one node; on a cluster, GETs sent together (MGET cannot span slots). */
export async function getMany(redis: Redis, keys: string[]): Promise<(string | null)[]> {
  if (keys.length === 0) return [];
  if (!isCluster(redis)) return redis.mget(keys);
  return Promise.all(keys.map((k) => redis.get(k)));
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
  tickets(businessId: string) { return `${this.prefix}:business:${businessId}:tickets`; }
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
  earlyTranscriptReady(callId: string, earlyId: string) { return `${this.earlyTranscript(callId, earlyId)}:ready`; }
  /** Input for a job queued before it existed (adapters/turn-signals.ts). */
  turnSignal(callId: string, turnId: string, name: string) { return `${this.call(callId)}:signal:${turnId}:${name}`; }
  /** The audio of a one-shot turn's answer (POST /v1/calls/:id/turns, audio_url). */
  turnAudio(callId: string, turnId: string) { return `${this.call(callId)}:turn-audio:${turnId}`; }
  /** Which gateway drives the call (sessions/ownership.ts). */
  callOwner(callId: string) { return `${this.callState(callId)}:owner`; }
  /** Finished server-side tool results of the call, reused by a redelivered LLM job. */
  toolRuns(callId: string) { return `${this.callState(callId)}:toolruns`; }
  callMarkers(callId: string) { return `${this.callState(callId)}:markers`; }
  /** Bytes of client text the call has stored (security/call-text-budget.ts). */
  clientTextBytes(callId: string) { return `${this.callState(callId)}:client-text-bytes`; }
  cancelChannel() { return `${this.prefix}:cancel`; }
  hangupChannel() { return `${this.prefix}:hangup`; }
  turnSignalChannel() { return `${this.prefix}:turn-signal`; }
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
