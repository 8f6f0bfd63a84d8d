/**
 * The LLM job of a spoken turn is queued with its STT job, at the end of speech, and waits in its
 * worker for the transcript instead of being queued once the transcript is in: the hand-over from
 * STT to LLM is then one PUBLISH, not a BullMQ add, a worker wake-up, a move to active and the
 * job's first reads (~4–6 ms of a turn's latency, bench/RESULTS.md).
 *
 * The STT worker marks the turn ('ready': the user message is in the history; 'skip': nothing to
 * answer, or the STT failed and the gateway speaks the fallback) in a key, then publishes it. The
 * waiting LLM job subscribes before it reads the key, so neither order loses it; a message lost
 * while ioredis resubscribes is caught by re-reading the key every second.
 */
import { dedicatedConnection, type Keys, type Redis } from './redis';

export type TranscriptState = 'ready' | 'skip';

/** Long enough for an STT job redelivered after its worker died (lock 5 s + stalled check 5 s) and retried. */
const MARK_TTL_S = 300;
const RECHECK_MS = 1_000;

export class TranscriptSignals {
  private readonly waiters = new Map<string, Set<(state: TranscriptState) => void>>();

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: Keys,
  ) {}

  /** The waiting side (LLM workers): one subscription per process. */
  static async start(redis: Redis, keys: Keys): Promise<TranscriptSignals> {
    const sub = dedicatedConnection(redis, { pubsub: true });
    const s = new TranscriptSignals(redis, sub, keys);
    sub.on('message', (_channel: string, msg: string) => {
      const [callId, turnId, state] = msg.split(' ');
      if (callId && turnId && (state === 'ready' || state === 'skip')) s.resolve(`${callId} ${turnId}`, state);
    });
    if (sub.status === 'wait') await sub.connect();
    await sub.subscribe(keys.transcriptChannel());
    return s;
  }

  /** The STT side: marks the turn and wakes whoever waits for it. */
  static async mark(redis: Redis, keys: Keys, callId: string, turnId: string, state: TranscriptState): Promise<void> {
    await redis.multi().set(keys.transcriptReady(callId, turnId), state, 'EX', MARK_TTL_S).publish(keys.transcriptChannel(), `${callId} ${turnId} ${state}`).exec();
  }

  /** Resolves with the turn's state once it is marked, or null after `timeoutMs`; rejects when `signal` aborts. */
  async wait(callId: string, turnId: string, timeoutMs: number, signal: AbortSignal): Promise<TranscriptState | null> {
    const id = `${callId} ${turnId}`;
    let done!: (state: TranscriptState | null) => void;
    const result = new Promise<TranscriptState | null>((resolve) => (done = resolve));
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(done);
    const read = () =>
      this.redis.get(this.keys.transcriptReady(callId, turnId)).then(
        (v) => (v === 'ready' || v === 'skip') && done(v),
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

  private resolve(id: string, state: TranscriptState) {
    for (const w of this.waiters.get(id) ?? []) w(state);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
