/**
 * Hang-ups across gateways: a call's sockets, HTTP session and SSE readers may sit on different
 * gateways, and DELETE /v1/calls/:id may land on yet another. A hang-up is published on Redis and
 * every gateway (this one included) turns it into its local 'hangup' signal. Plain pub/sub on a
 * Redis Cluster too (see cancel.ts): one message per call, broadcast over the cluster bus.
 */
import type { EventEmitter } from 'node:events';
import { dedicatedConnection, type Keys, type Redis } from './redis';

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
    sub.on('message', (_channel: string, callId: string) => local.emit('hangup', callId));
    if (sub.status === 'wait') await sub.connect();
    await sub.subscribe(bus.channel);
    return bus;
  }

  /** Tells every gateway the call is over; with Redis away, at least this one hears it. */
  async publish(callId: string): Promise<void> {
    try {
      await this.redis.publish(this.channel, callId);
    } catch {
      this.local.emit('hangup', callId);
    }
  }

  close(): void {
    this.sub.disconnect();
  }
}
