/**
 * Turn cancellation across processes (barge-in, response.cancel, hang-up): a Redis set of cancelled
 * turns per call (so a job that starts late still sees it) plus a pub/sub message (so in-flight
 * provider requests abort at once through their AbortSignal).
 *
 * Plain pub/sub, not sharded, on a Redis Cluster too: a PUBLISH reaches every node over the
 * cluster bus and ioredis' Cluster subscribes through one node, resubscribing through another when
 * that one goes. Cancellations are a few messages per call, so the broadcast is cheap; a message
 * lost while resubscribing is covered by the mark, which every job checks when it starts.
 */
import { dedicatedConnection, listen, type Keys, type Redis } from './redis';

export interface TurnWatch {
  signal: AbortSignal;
  release(): void;
}

export class CancelWatcher {
  private readonly watchers = new Map<string, Set<AbortController>>();

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: Keys,
  ) {}

  static async start(redis: Redis, keys: Keys): Promise<CancelWatcher> {
    const sub = dedicatedConnection(redis, { pubsub: true });
    const w = new CancelWatcher(redis, sub, keys);
    await listen(sub, keys.cancelChannel(), (msg) => w.abortLocal(msg));
    return w;
  }

  /** Marks the turn cancelled everywhere. `ttlS` bounds how long the mark is kept. */
  async cancel(callId: string, turnId: string, ttlS = 3_600): Promise<void> {
    const key = this.keys.callCancel(callId);
    await this.redis.multi().sadd(key, turnId).expire(key, ttlS).publish(this.keys.cancelChannel(), `${callId} ${turnId}`).exec();
    this.abortLocal(`${callId} ${turnId}`);
  }

  async isCancelled(callId: string, turnId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.callCancel(callId), turnId)) === 1;
  }

  /** A signal that aborts when the turn is cancelled (including before this call). */
  watch(callId: string, turnId: string): TurnWatch {
    const id = `${callId} ${turnId}`;
    const ctl = new AbortController();
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(ctl);
    void this.isCancelled(callId, turnId).then(
      (yes) => yes && ctl.abort(new CancelledError()),
      () => {},
    );
    return {
      signal: ctl.signal,
      release: () => {
        set.delete(ctl);
        if (set.size === 0) this.watchers.delete(id);
      },
    };
  }

  private abortLocal(id: string) {
    for (const ctl of this.watchers.get(id) ?? []) ctl.abort(new CancelledError());
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}

export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor() {
    super('turn cancelled');
  }
}
