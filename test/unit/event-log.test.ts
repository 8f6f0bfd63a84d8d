/**
 * A call's event log without Redis: how one stream entry (a batch of events) becomes SSE events
 * with ids a resume can land between, how old single-event entries still read, and how the
 * recorder batches the events recorded while a write is in flight.
 */
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/contracts/realtime';
import { serverEvents } from '../../src/core/protocol/server-events';
import { CallEventRecorder, decode, parseLastEventId, takeBatch, toSse, type CallEventLog } from '../../src/gateway/sessions/event-log';
import { createLogger } from '../../src/logger';

const item = serverEvents.userAudioItem('item_1');
/** Four internal events; beta has no conversation.item.done, so it gets three wire events. */
const batch: ServerEvent[] = [
  serverEvents.speechStarted({ audio_start_ms: 0, item_id: 'item_1' }),
  serverEvents.itemCreated(item, null),
  serverEvents.itemDone(item, null),
  serverEvents.speechStopped({ audio_end_ms: 900, item_id: 'item_1' }),
];

describe('toSse', () => {
  it('gives an entry’s wire events, the flatMap of its events’, ids <stream id>:<index>', () => {
    const ga = toSse('17-0', batch, 'ga');
    expect(ga.map((e) => e.id)).toEqual(['17-0:0', '17-0:1', '17-0:2', '17-0:3']);
    expect(ga.map((e) => e.data.type)).toEqual(['input_audio_buffer.speech_started', 'conversation.item.added', 'conversation.item.done', 'input_audio_buffer.speech_stopped']);
    const beta = toSse('17-0', batch, 'beta');
    expect(beta.map((e) => [e.id, e.data.type])).toEqual([
      ['17-0:0', 'input_audio_buffer.speech_started'],
      ['17-0:1', 'conversation.item.created'],
      ['17-0:2', 'input_audio_buffer.speech_stopped'],
    ]);
  });

  it('gives an entry with one wire event the plain stream id', () => {
    expect(toSse('17-0', [batch[0]!], 'ga').map((e) => e.id)).toEqual(['17-0']);
  });

  it('resumes between any two wire events of an entry', () => {
    for (let at = 0; at < 4; at++) {
      const cursor = parseLastEventId(`17-0:${at}`);
      expect(cursor).toEqual({ id: '17-0', index: at });
      const rest = toSse(cursor.id, batch, 'ga', cursor.index);
      expect(rest.map((e) => e.id)).toEqual(toSse('17-0', batch, 'ga').slice(at + 1).map((e) => e.id));
    }
  });
});

describe('decode', () => {
  it('reads a batch entry and an entry written before batching (one event object)', () => {
    expect(decode(['e', JSON.stringify(batch)])).toEqual(batch);
    expect(decode(['e', JSON.stringify(batch[0])])).toEqual([batch[0]]);
  });
});

describe('takeBatch', () => {
  it('takes events up to the size, always at least one, and leaves the rest in order', () => {
    const pending = ['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(10), 'd'.repeat(50), 'e'];
    expect(takeBatch(pending, 25)).toEqual(['a'.repeat(10), 'b'.repeat(10)]);
    expect(takeBatch(pending, 25)).toEqual(['c'.repeat(10)]);
    expect(takeBatch(pending, 25)).toEqual(['d'.repeat(50)]);
    expect(takeBatch(pending, 25)).toEqual(['e']);
    expect(pending).toEqual([]);
  });
});

/** A CallEventLog whose writes finish when the test says so. */
function fakeLog() {
  const writes: { events: ServerEvent[]; finish: (err?: Error) => void }[] = [];
  let wrote: (() => void) | null = null;
  const log = {
    append(_callId: string, json: string[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        writes.push({ events: json.map((j) => JSON.parse(j) as ServerEvent), finish: (err) => (err ? reject(err) : resolve()) });
        wrote?.();
      });
    },
  } as unknown as CallEventLog;
  /** The n-th write (0-based), once it has begun. */
  const write = async (n: number) => {
    while (writes.length <= n) await new Promise<void>((resolve) => (wrote = resolve));
    return writes[n]!;
  };
  return { log, writes, write };
}

describe('CallEventRecorder', () => {
  const logger = createLogger('silent');

  it('writes one synchronous burst as one entry, and what comes during a write as the next one', async () => {
    const f = fakeLog();
    const rec = new CallEventRecorder(f.log, 'call_1', logger, { skipAudio: false });
    rec.record(batch[0]!);
    rec.record(batch[1]!);
    const first = await f.write(0);
    expect(first.events).toEqual(batch.slice(0, 2));
    rec.record(batch[2]!);
    rec.record(batch[3]!);
    expect(f.writes).toHaveLength(1); // one write in flight at a time
    first.finish();
    const second = await f.write(1);
    expect(second.events).toEqual(batch.slice(2));
    let flushed = false;
    const done = rec.flushed().then(() => (flushed = true));
    await Promise.resolve();
    expect(flushed).toBe(false);
    second.finish();
    await done;
    expect(f.writes).toHaveLength(2);
  });

  it('goes on after a failed write, and flushed() still resolves', async () => {
    const f = fakeLog();
    const rec = new CallEventRecorder(f.log, 'call_1', logger, { skipAudio: false });
    rec.record(batch[0]!);
    const first = await f.write(0);
    rec.record(batch[1]!);
    first.finish(new Error('connection lost'));
    (await f.write(1)).finish();
    await rec.flushed();
    expect(f.writes.map((w) => w.events)).toEqual([[batch[0]], [batch[1]]]);
  });

  it('skips audio deltas when the transport delivers the audio itself', async () => {
    const f = fakeLog();
    const rec = new CallEventRecorder(f.log, 'call_1', logger, { skipAudio: true });
    rec.record({ type: 'response.audio.delta', event_id: 'e', response_id: 'r', item_id: 'i', output_index: 0, content_index: 0, delta: 'AAAA' } as ServerEvent);
    rec.record(batch[0]!);
    (await f.write(0)).finish();
    await rec.flushed();
    expect(f.writes.map((w) => w.events)).toEqual([[batch[0]]]);
  });
});
