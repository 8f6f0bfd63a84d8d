/**
 * Following a call's Redis stream as Server-Sent Events: GET /v1/calls/:id/events (the call's
 * server events) and GET /v1/calls/:id/logs?follow=1 (its stage log) both serve through here.
 * - At most `limits.sseReadersPerCall` streams of each kind per call on a gateway (429 beyond).
 * - New entries come from the gateway's one reader of that stream (stream-fanout.ts); the backlog
 *   is read without blocking, so a reader costs no Redis connection of its own.
 * - The stream ends once the call has ended here (its last events recorded) and what is left is
 *   delivered; when the business key it was opened with is revoked; and on shutdown.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth';
import { ApiError } from '../../errors';
import type { Services } from '../../services';
import { liveCalls } from './call-host';
import { streamIdAfter, StreamFanout, type StreamEntry } from './stream-fanout';

export type SseKind = 'events' | 'logs';

export interface SseFollow {
  callId: string;
  kind: SseKind;
  /** The Redis stream followed. */
  key: string;
  /** Entries after this stream id are sent ('0-0': from the start). */
  after: string;
  /** The call had already ended when the request came: send what there is and end. */
  ended: boolean;
  principal: Principal;
  /** The SSE text of one entry ('' to skip it). */
  render: (id: string, fields: string[]) => string;
  /** Written before the backlog (the rest of a partly delivered entry). */
  prelude?: string;
  /** Extra headers (e.g. charset). */
  contentType?: string;
  /** Called when the stream ends, whatever ended it. */
  onClose?: () => void;
}

const KEEPALIVE_MS = 15_000;

class SseRegistry {
  readonly fanout: StreamFanout;
  private readonly counts = new Map<string, number>();

  constructor(s: Services) {
    this.fanout = new StreamFanout(s.redis);
  }

  /** Takes a reader slot for the call, or answers 429. */
  reserve(callId: string, kind: SseKind, max: number): () => void {
    const k = `${kind}:${callId}`;
    const n = this.counts.get(k) ?? 0;
    if (n >= max) {
      throw new ApiError(429, 'rate_limit_error', 'too_many_readers', `Call '${callId}' already has ${n} ${kind === 'events' ? 'event-stream readers' : 'log followers'} on this gateway (at most ${max}); close one first.`, null, { 'retry-after': '5' });
    }
    this.counts.set(k, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(k) ?? 1) - 1;
      if (left <= 0) this.counts.delete(k);
      else this.counts.set(k, left);
    };
  }

  readers(callId: string, kind: SseKind): number {
    return this.counts.get(`${kind}:${callId}`) ?? 0;
  }
}

const registries = new WeakMap<Services, SseRegistry>();

export function sseRegistry(s: Services): SseRegistry {
  let r = registries.get(s);
  if (!r) registries.set(s, (r = new SseRegistry(s)));
  return r;
}

/** Process-local signal that ends every open stream (graceful shutdown). */
export const SSE_SHUTDOWN = 'sse-shutdown';

export async function followSse(s: Services, req: FastifyRequest, reply: FastifyReply, f: SseFollow): Promise<void> {
  const reg = sseRegistry(s);
  const release = reg.reserve(f.callId, f.kind, s.limits.sseReadersPerCall);
  let buffered: StreamEntry[] | null = [];
  let last = f.after;
  let open = true;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const res = reply.raw;

  const write = (entries: StreamEntry[]) => {
    if (!open) return;
    for (const [id, fields] of entries) {
      if (!streamIdAfter(id, last)) continue; // the backlog had it already
      last = id;
      const text = f.render(id, fields);
      if (text) res.write(text);
    }
  };
  const sink = (entries: StreamEntry[]) => {
    if (!open) return;
    if (buffered) buffered.push(...entries);
    else write(entries);
  };
  const stop = () => {
    open = false;
    finish();
  };
  /** Reads what is in the stream after `last` without blocking (the backlog, the rest at the end). */
  const drain = async () => {
    while (open) {
      const got = (await s.redis.xread('COUNT', 500, 'STREAMS', f.key, last)) as [string, StreamEntry[]][] | null;
      const entries = got?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      write(entries);
    }
  };
  let ending = false;
  const endAfterCall = () => {
    if (ending) return;
    ending = true;
    void liveCalls(s)
      .whenEnded(f.callId)
      .then(() => (open ? drain() : undefined))
      .catch(() => {})
      .finally(stop);
  };
  const onHangup = (id: string) => id === f.callId && endAfterCall();
  const onRevoked = (keyId: string) => f.principal.kind === 'business' && f.principal.keyId === keyId && stop();

  let sub: { close: () => void } | null = null;
  const keepAlive = setInterval(() => open && res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  s.events.on('hangup', onHangup);
  s.events.on('revoked', onRevoked);
  s.events.on(SSE_SHUTDOWN, stop);
  req.raw.on('close', stop);
  reply.hijack();
  res.writeHead(200, { 'content-type': f.contentType ?? 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 1000\n\n');
  try {
    if (f.prelude) res.write(f.prelude);
    if (f.ended) {
      await drain();
      return;
    }
    // Subscribe first, then read the backlog: the two overlap, so nothing falls between them.
    sub = await reg.fanout.subscribe(f.key, sink);
    await drain();
    const early = buffered;
    buffered = null;
    write(early);
    // The call may have ended between the request's lookup and the subscription.
    const call = await s.calls.get(f.callId);
    if (!call || call.status === 'ended') endAfterCall();
    await finished;
  } catch (err) {
    req.log.warn({ call_id: f.callId, err: (err as Error).message }, `${f.kind} stream failed`);
  } finally {
    open = false;
    clearInterval(keepAlive);
    sub?.close();
    s.events.off('hangup', onHangup);
    s.events.off('revoked', onRevoked);
    s.events.off(SSE_SHUTDOWN, stop);
    req.raw.off('close', stop);
    release();
    f.onClose?.();
    res.end();
  }
}
