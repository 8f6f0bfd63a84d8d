/**
 * A call has its driver in one gateway's memory (call-host.ts). With several gateways behind a
 * load balancer, the first to open a call's HTTP session claims the call in Redis, and a
 * connection (WebSocket, Twilio) takes it over; the others forward that call's HTTP requests to
 * it (one driver per call, whichever gateway a request lands on). The claim lives as long as the session — refreshed by the session sweeper, released
 * when it ends — so the calls of a gateway that crashed can be claimed again after CLAIM_TTL_MS.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors';
import type { Keys, Redis } from '../../adapters/redis';

/** Marks a forwarded request, so it is never forwarded again. */
const FORWARDED_HEADER = 'x-voice-agent-forwarded';

/** Thrown by CallSessions.open: another gateway drives this call. */
export class CallDrivenElsewhere extends Error {
  constructor(
    readonly callId: string,
    readonly ownerUrl: string,
  ) {
    super(`call ${callId} is driven by ${ownerUrl}`);
  }
}

/** Deletes the claim only if it is still ours. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class CallOwnership {
  /** How other gateways reach this one; null until it listens (then every claim is ours). */
  selfUrl: string | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly ttlMs: number,
  ) {}

  /** Claims the call for this gateway; returns the URL of the gateway that has it, or null when it is ours. */
  async claim(callId: string): Promise<string | null> {
    const self = this.selfUrl;
    if (!self) return null;
    const key = this.key(callId);
    // Two tries: the other gateway's claim may expire between SET and GET.
    for (let i = 0; i < 2; i++) {
      if (await this.redis.set(key, self, 'PX', this.ttlMs, 'NX')) return null;
      const owner = await this.redis.get(key);
      if (owner === self) return null;
      if (owner) return owner;
    }
    return null;
  }

  /**
   * Takes the call for this gateway whoever had it: a new connection replaces the call's driver
   * wherever it was (call-host.ts), and HTTP requests for the call must now come here.
   */
  async take(callId: string): Promise<void> {
    if (this.selfUrl) await this.redis.set(this.key(callId), this.selfUrl, 'PX', this.ttlMs);
  }

  /** Keeps the claims of this gateway's live sessions. */
  async refresh(callIds: string[]): Promise<void> {
    if (!this.selfUrl || callIds.length === 0) return;
    // One SET each, sent together (a pipeline cannot span a cluster's nodes; ioredis sends these without waiting).
    const self = this.selfUrl;
    await Promise.all(callIds.map((id) => this.redis.set(this.key(id), self, 'PX', this.ttlMs)));
  }

  async release(callId: string): Promise<void> {
    if (this.selfUrl) await this.redis.eval(RELEASE, 1, this.key(callId), this.selfUrl);
  }

  private key(callId: string): string {
    return this.keys.callOwner(callId);
  }
}

/** Request headers that carry meaning to the owner (auth, body type, what the client accepts). */
const PASSED = ['authorization', 'content-type', 'accept', 'last-event-id'] as const;

/**
 * Sends the request, as parsed here, to the gateway that drives its call, and its answer back.
 * A request that was itself forwarded is not sent on: the claim moved meanwhile, so the client
 * retries.
 */
export async function forwardToOwner(req: FastifyRequest, reply: FastifyReply, e: CallDrivenElsewhere): Promise<void> {
  if (req.headers[FORWARDED_HEADER]) {
    throw new ApiError(503, 'server_error', 'call_owner_changed', `Call '${e.callId}' moved to another gateway while this request was forwarded; retry it.`, null, { 'retry-after': '1' });
  }
  const headers: Record<string, string> = { [FORWARDED_HEADER]: '1' };
  for (const h of PASSED) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const b = req.body;
  const body = b === undefined || b === null ? undefined : Buffer.isBuffer(b) ? new Uint8Array(b) : typeof b === 'string' ? b : JSON.stringify(b);
  let res: Response;
  try {
    res = await fetch(new URL(req.url, e.ownerUrl), { method: req.method, headers, body });
  } catch (err) {
    req.log.warn({ call_id: e.callId, owner: e.ownerUrl, err: (err as Error).message }, 'gateway driving the call is unreachable');
    throw new ApiError(503, 'server_error', 'call_owner_unreachable', `The gateway driving call '${e.callId}' does not answer; if it is gone, the call can be taken up again within a minute or two.`, null, { 'retry-after': '5' });
  }
  const type = res.headers.get('content-type');
  if (type) reply.header('content-type', type);
  const retryAfter = res.headers.get('retry-after');
  if (retryAfter) reply.header('retry-after', retryAfter);
  reply.code(res.status).send(Buffer.from(await res.arrayBuffer()));
}
