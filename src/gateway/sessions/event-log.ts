/**
 * A call's server events, kept in its Redis stream (`keys.callEvents`) so Server-Sent Events can
 * be replayed and resumed with Last-Event-ID. Events are stored in the internal (beta-shaped)
 * model and translated to the reader's dialect when served. One internal event can become two
 * wire events (GA: conversation.item.added + .done); those get ids `<stream id>:<index>`, so a
 * resume lands exactly between them.
 */
import type { ServerEvent } from '../../contracts/realtime';
import { toClientWireAll, type Dialect, type WireEvent } from '../../core/protocol';
import { ExpiryRefresher, type Keys, type Redis } from '../../adapters/redis';
import type { Logger } from '../../logger';

/**
 * The newest events kept per call: a few minutes of conversation, audio deltas included (each
 * ~6 KB), so one call's stream stays around 10 MB; a reader further behind resumes at the oldest.
 */
const MAX_EVENTS = 2_000;

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
export function toSse(streamId: string, event: ServerEvent, dialect: Dialect, skipThrough = -1): SseEvent[] {
  const wires = toClientWireAll(event, dialect);
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

  async append(callId: string, event: ServerEvent): Promise<void> {
    const key = this.keys.callEvents(callId);
    const written = this.redis.xadd(key, 'MAXLEN', '~', MAX_EVENTS, '*', 'e', JSON.stringify(event));
    this.expiry.touch(key, this.ttlS);
    await written;
  }

  /** The Redis stream of a call's events. */
  keyOf(callId: string): string {
    return this.keys.callEvents(callId);
  }

  /** The wire events of a partly read entry not read yet (a resume between GA's .added and .done). */
  async rest(callId: string, cursor: Cursor, dialect: Dialect): Promise<SseEvent[]> {
    if (cursor.index < 0) return [];
    const [entry] = await this.redis.xrange(this.keys.callEvents(callId), cursor.id, cursor.id);
    return entry ? toSse(entry[0], decode(entry[1]), dialect, cursor.index) : [];
  }
}

/**
 * Records one call's events in the order they were sent, without making the sender wait. A
 * transport that gives its own client the audio skips the audio deltas (recording them would
 * double the traffic); one whose readers only have SSE keeps them.
 */
export class CallEventRecorder {
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: CallEventLog,
    private readonly callId: string,
    private readonly logger: Logger,
    private readonly o: { skipAudio: boolean },
  ) {}

  record(e: ServerEvent): void {
    if (this.o.skipAudio && e.type === 'response.audio.delta') return;
    this.written = this.written
      .then(() => this.log.append(this.callId, e))
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not record a call event'));
  }

  /** Resolves when every event recorded so far is in Redis. */
  flushed(): Promise<void> {
    return this.written;
  }
}

export function decode(fields: string[]): ServerEvent {
  return JSON.parse(fields[1] ?? '{}') as ServerEvent;
}
