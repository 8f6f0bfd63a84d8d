/**
 * A call's server events, kept in its Redis stream (`keys.callEvents`) so Server-Sent Events can
 * be replayed and resumed with Last-Event-ID. Events are stored in the internal (beta-shaped)
 * model and translated to the reader's dialect when served. One stream entry holds the events
 * recorded while the previous write was in flight (field `e`: a JSON array; older entries hold
 * one event as a JSON object), and its wire events are the flatMap of theirs (one internal event
 * can also become several, or none for a dialect). An entry with more than one wire event gives
 * them ids `<stream id>:<index>`, so a resume lands exactly between any two of them.
 */
import type { ServerEvent } from '../../contracts/realtime';
import { toClientWireAll, type Dialect, type WireEvent } from '../../core/protocol';
import { ExpiryRefresher, type Keys, type Redis } from '../../adapters/redis';
import type { Logger } from '../../logger';

/**
 * The newest entries kept per call: a few minutes of conversation, audio deltas included (each
 * ~6 KB, about one per entry given ENTRY_CHARS), so one call's stream stays around 10–15 MB; a
 * reader further behind resumes at the oldest.
 */
const MAX_ENTRIES = 2_000;

/**
 * An entry takes pending events up to this many characters of JSON (always at least one event): batching is
 * for the many small events of a turn, and the bound keeps MAX_ENTRIES a bound on memory too.
 */
const ENTRY_CHARS = 8_192;

export interface SseEvent {
  id: string;
  data: WireEvent;
}

export interface Cursor {
  /** The stream id of the last entry read. */
  id: string;
  /** Wire events of that entry already read (-1: none of a partially read entry is pending). */
  index: number;
}

const START: Cursor = { id: '0-0', index: -1 };

/** `1712345678901-0` or `1712345678901-0:1`; anything else means "from the start". */
export function parseLastEventId(value: string | undefined): Cursor {
  const m = /^(\d+-\d+)(?::(\d+))?$/.exec((value ?? '').trim());
  if (!m) return START;
  return { id: m[1]!, index: m[2] === undefined ? -1 : Number(m[2]) };
}

/** The SSE events of one stream entry, after `skipThrough` (an index of a partly delivered entry). */
export function toSse(streamId: string, events: ServerEvent[], dialect: Dialect, skipThrough = -1): SseEvent[] {
  const wires = events.flatMap((e) => toClientWireAll(e, dialect));
  const many = wires.length > 1;
  return wires.flatMap((data, i) => (i <= skipThrough ? [] : [{ id: many ? `${streamId}:${i}` : streamId, data }]));
}

export function formatSse(e: SseEvent): string {
  return `id: ${e.id}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * SSE is for following a call and catching up after a disconnect, not an archive (transcripts,
 * stage logs and the audit log are): a call's events are kept an hour after its last one.
 */
const EVENTS_TTL_S = 3_600;

export class CallEventLog {
  private readonly expiry: ExpiryRefresher;
  private readonly ttlS: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    callTtlS: number,
  ) {
    this.ttlS = Math.min(callTtlS, EVENTS_TTL_S);
    this.expiry = new ExpiryRefresher(redis);
  }

  /** One stream entry holding the events given as JSON texts, in order. */
  async append(callId: string, eventsJson: string[]): Promise<void> {
    const key = this.keys.callEvents(callId);
    const written = this.redis.xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 'e', `[${eventsJson.join(',')}]`);
    this.expiry.touch(key, this.ttlS);
    await written;
  }

  /** The Redis stream of a call's events. */
  keyOf(callId: string): string {
    return this.keys.callEvents(callId);
  }

  /** The wire events of a partly read entry not read yet (a resume in the middle of an entry). */
  async rest(callId: string, cursor: Cursor, dialect: Dialect): Promise<SseEvent[]> {
    if (cursor.index < 0) return [];
    const [entry] = await this.redis.xrange(this.keys.callEvents(callId), cursor.id, cursor.id);
    return entry ? toSse(entry[0], decode(entry[1]), dialect, cursor.index) : [];
  }
}

/**
 * Records one call's events in the order they were sent, without making the sender wait. One
 * write is in flight at a time; the events recorded meanwhile go together in the next one (a
 * turn sends ~35 events, mostly in bursts: one XADD each cost as many round trips). A transport
 * that gives its own client the audio skips the audio deltas (recording them would double the
 * traffic); one whose readers only have SSE keeps them.
 */
export class CallEventRecorder {
  /** JSON texts of the events not written yet. */
  private pending: string[] = [];
  private writing: Promise<void> | null = null;

  constructor(
    private readonly log: CallEventLog,
    private readonly callId: string,
    private readonly logger: Logger,
    private readonly o: { skipAudio: boolean },
  ) {}

  record(e: ServerEvent): void {
    if (this.o.skipAudio && e.type === 'response.audio.delta') return;
    // Serialised now: the caller may change the event object once it has been sent.
    this.pending.push(JSON.stringify(e));
    this.writing ??= this.writeAll();
  }

  /** Resolves when every event recorded so far is in Redis (or its write has failed and been logged). */
  async flushed(): Promise<void> {
    await this.writing;
  }

  private async writeAll(): Promise<void> {
    // A microtask first, so the events of one synchronous burst go in the first entry together.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const batch = takeBatch(this.pending, ENTRY_CHARS);
      try {
        await this.log.append(this.callId, batch);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, events: batch.length }, 'could not record call events');
      }
    }
    this.writing = null;
  }
}

/** Takes from the front of `pending` the events of one entry: up to `maxChars` characters of JSON, at least one. */
export function takeBatch(pending: string[], maxChars: number): string[] {
  let n = 0;
  let size = 0;
  while (n < pending.length && (n === 0 || size + pending[n]!.length <= maxChars)) size += pending[n++]!.length;
  return pending.splice(0, n);
}

/** The events of one stream entry: an array, or (entries written before batching) one event. */
export function decode(fields: string[]): ServerEvent[] {
  const value = JSON.parse(fields[1] ?? '[]') as ServerEvent | ServerEvent[];
  return Array.isArray(value) ? value : [value];
}
