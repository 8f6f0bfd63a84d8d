/**
 * One blocking Redis read per stream per gateway, fanned out to the local subscribers (SSE
 * readers of a call's events, followers of its stage log): a hundred readers of one call cost one
 * Redis connection, not a hundred. The reader starts when the first subscriber comes and stops
 * when the last one leaves.
 */
import { dedicatedConnection, type Redis } from '../../adapters/redis';

export type StreamEntry = [id: string, fields: string[]];
export type EntrySink = (entries: StreamEntry[]) => void;

/** Stream ids compare as (ms, seq) pairs. */
export function streamIdAfter(a: string, b: string): boolean {
  const [am = 0n, as = 0n] = a.split('-').map((x) => BigInt(x || '0'));
  const [bm = 0n, bs = 0n] = b.split('-').map((x) => BigInt(x || '0'));
  return am !== bm ? am > bm : as > bs;
}

const BLOCK_MS = 15_000;

class StreamFollower {
  readonly sinks = new Set<EntrySink>();
  /** Resolves with the id the follower starts after: every later entry reaches the sinks. */
  readonly ready: Promise<string>;
  private conn: Redis | null = null;
  private last = '0-0';
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {
    this.ready = this.begin();
  }

  stop(): void {
    this.stopped = true;
    this.conn?.disconnect();
  }

  private async begin(): Promise<string> {
    const [newest] = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    this.last = newest?.[0] ?? '0-0';
    if (this.stopped) return this.last; // every subscriber left before it began
    this.conn = dedicatedConnection(this.redis);
    void this.loop();
    return this.last;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let got: [string, StreamEntry[]][] | null;
      try {
        got = (await this.conn!.xread('COUNT', 500, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.last)) as [string, StreamEntry[]][] | null;
      } catch {
        if (this.stopped) return;
        continue; // a dropped connection reconnects (ioredis); the read resumes at `last`
      }
      const entries = got?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      this.last = entries[entries.length - 1]![0];
      for (const sink of this.sinks) sink(entries);
    }
  }
}

export class StreamFanout {
  private readonly followers = new Map<string, StreamFollower>();

  constructor(private readonly redis: Redis) {}

  /**
   * Adds a sink for the stream's new entries. Resolves with the id after which entries reach it
   * (read anything up to that yourself) and the function that removes it.
   */
  async subscribe(key: string, sink: EntrySink): Promise<{ from: string; close: () => void }> {
    let f = this.followers.get(key);
    if (!f) this.followers.set(key, (f = new StreamFollower(this.redis, key)));
    f.sinks.add(sink);
    const follower = f;
    const close = () => {
      follower.sinks.delete(sink);
      if (follower.sinks.size === 0 && this.followers.get(key) === follower) {
        this.followers.delete(key);
        follower.stop();
      }
    };
    try {
      return { from: await follower.ready, close };
    } catch (err) {
      close();
      throw err;
    }
  }

  /** Streams followed now (for tests and metrics). */
  get size(): number {
    return this.followers.size;
  }

  /** The streams followed now. */
  keys(): string[] {
    return [...this.followers.keys()];
  }

  close(): void {
    for (const f of this.followers.values()) f.stop();
    this.followers.clear();
  }
}
