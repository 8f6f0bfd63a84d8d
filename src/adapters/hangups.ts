/**
 * Call-wide signals across gateways: a call's sockets, HTTP session and SSE readers may sit on
 * different gateways, and the request that changes the call may land on yet another. Each signal
 * is published on one Redis channel and every gateway (this one included) turns it into a local
 * event on `local`. Plain pub/sub on a Redis Cluster too (see cancel.ts): a few messages per call,
 * broadcast over the cluster bus.
 * - 'hangup' (callId): the call is over; its transports and streams close.
 * - 'driver' (callId, hostId): a new live driver took the call; the others give way
 *   (sessions/call-host.ts). One channel gives every gateway the same order, which is what
 *   decides who wins when two connect at once.
 * - 'revoked' (keyId): a business key was deleted; streams opened with it close.
 */
import type { EventEmitter } from 'node:events';
import { dedicatedConnection, listen, type Keys, type Redis } from './redis';

type Signal = { t: 'driver'; call: string; host: string } | { t: 'revoked'; key: string };

export class HangupBus {
  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly channel: string,
    private readonly local: EventEmitter,
  ) {}

  static async start(redis: Redis, keys: Keys, local: EventEmitter): Promise<HangupBus> {
    const sub = dedicatedConnection(redis, { pubsub: true });
    const bus = new HangupBus(redis, sub, keys.hangupChannel(), local);
    await listen(sub, bus.channel, (message) => bus.emit(message));
    return bus;
  }

  /** Tells every gateway the call is over; with Redis away, at least this one hears it. */
  publish(callId: string): Promise<void> {
    return this.send(callId);
  }

  /** A new driver (`hostId`) took the call: every other driver of it, on any gateway, gives way. */
  announceDriver(callId: string, hostId: string): Promise<void> {
    return this.send(JSON.stringify({ t: 'driver', call: callId, host: hostId } satisfies Signal));
  }

  /** A business key was revoked: streams opened with it close, on every gateway. */
  revokeKey(keyId: string): Promise<void> {
    return this.send(JSON.stringify({ t: 'revoked', key: keyId } satisfies Signal));
  }

  close(): void {
    this.sub.disconnect();
  }

  private async send(message: string): Promise<void> {
    try {
      await this.redis.publish(this.channel, message);
    } catch {
      this.emit(message);
    }
  }

  /** A plain message is a call id (the hang-up, as gateways before these signals send it). */
  private emit(message: string): void {
    if (!message.startsWith('{')) return void this.local.emit('hangup', message);
    let s: Signal;
    try {
      s = JSON.parse(message) as Signal;
    } catch {
      return;
    }
    if (s.t === 'driver') this.local.emit('driver', s.call, s.host);
    else if (s.t === 'revoked') this.local.emit('revoked', s.key);
  }
}
