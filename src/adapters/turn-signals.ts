/**
 * Jobs queued before their input exists, waiting in their worker for it: a spoken turn's LLM job
 * is queued with its STT job (input: "the transcript is in the history"), and an answer's first
 * TTS job when its LLM job starts (input: the first sentence). The hand-over to the next stage is
 * then one PUBLISH instead of a BullMQ add, a worker wake-up, a move to active and the job's first
 * reads (bench/RESULTS.md: a few ms per hop, on every turn).
 *
 * The producer stores the value under a key, then publishes it. A waiting job registers before it
 * reads the key, so neither order loses it; a message lost while ioredis resubscribes is caught by
 * re-reading the key every second. A job that waits holds a worker slot meanwhile (32–64 per
 * worker process), for about one provider call.
 */
import { dedicatedConnection, listen, type Keys, type Redis } from './redis';

/** `transcript`: 'ready' (the user message is in the history) or 'skip'; `sentence0`: JSON of the first sentence, '' for none. */
export type TurnSignal = 'transcript' | 'sentence0';

/** Long enough for a job redelivered after its worker died (lock 5 s + stalled check 5 s) and retried. */
const MARK_TTL_S = 300;
const RECHECK_MS = 1_000;

export class TurnSignals {
  private readonly waiters = new Map<string, Set<(value: string) => void>>();

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: Keys,
  ) {}

  /** The waiting side (LLM and TTS workers): one subscription per process. */
  static async start(redis: Redis, keys: Keys): Promise<TurnSignals> {
    const sub = dedicatedConnection(redis, { pubsub: true });
    const s = new TurnSignals(redis, sub, keys);
    await listen(sub, keys.turnSignalChannel(), (msg) => {
      try {
        const [callId, turnId, name, value] = JSON.parse(msg) as string[];
        if (typeof value === 'string') s.resolve(`${callId} ${turnId} ${name}`, value);
      } catch {
        // not ours
      }
    });
    return s;
  }

  /**
   * The producing side: stores the value and wakes whoever waits for it. No MULTI: a waiter that
   * hears the message before the key is written finds it by the message; one that reads the key
   * first finds it there.
   */
  static async mark(redis: Redis, keys: Keys, callId: string, turnId: string, name: TurnSignal, value: string): Promise<void> {
    const stored = redis.set(keys.turnSignal(callId, turnId, name), value, 'EX', MARK_TTL_S);
    await Promise.all([stored, redis.publish(keys.turnSignalChannel(), JSON.stringify([callId, turnId, name, value]))]);
  }

  /** Resolves with the value once it is marked, or null after `timeoutMs`; rejects when `signal` aborts. */
  async wait(callId: string, turnId: string, name: TurnSignal, timeoutMs: number, signal: AbortSignal): Promise<string | null> {
    const id = `${callId} ${turnId} ${name}`;
    let done!: (value: string | null) => void;
    const result = new Promise<string | null>((resolve) => (done = resolve));
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(done);
    const read = () =>
      this.redis.get(this.keys.turnSignal(callId, turnId, name)).then(
        (v) => v !== null && done(v),
        () => {},
      );
    void read();
    const recheck = setInterval(read, RECHECK_MS);
    const timeout = setTimeout(() => done(null), timeoutMs);
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {}); // observed by the race below; an abort after it must not go unhandled
    try {
      return await Promise.race([result, aborted]);
    } finally {
      clearInterval(recheck);
      clearTimeout(timeout);
      set.delete(done);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  private resolve(id: string, value: string) {
    for (const w of this.waiters.get(id) ?? []) w(value);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
