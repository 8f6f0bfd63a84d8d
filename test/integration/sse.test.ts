/**
 * GET /v1/calls/:id/events: a call's server events as Server-Sent Events from its Redis event
 * stream — ids, dialects, resuming with Last-Event-ID after a disconnect, and the end of the call.
 */
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/contracts/realtime';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { serverEvents } from '../../src/core/protocol/server-events';
import { liveCalls } from '../../src/gateway/sessions/call-host';
import { loadWavFixture } from '../fixtures';
import { serviceWithAcme } from '../helpers/service';
import { connectCall, spokenTurn } from '../helpers/calls';

const svc = serviceWithAcme();

interface Sse {
  id: string;
  type: string;
  event_id: string;
  data: { type: string; [k: string]: any };
}

/** An SSE connection that reads until `until` matches (then disconnects) or the server ends the stream. */
async function readSse(callId: string, o: { query?: string; lastEventId?: string; until?: (e: Sse) => boolean } = {}): Promise<Sse[]> {
  const ctl = new AbortController();
  const res = await svc.api(`/v1/calls/${callId}/events${o.query ?? ''}`, {
    signal: ctl.signal,
    headers: o.lastEventId ? { 'last-event-id': o.lastEventId } : {},
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const out: Sse[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      buf += Buffer.from(value).toString('utf8');
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const lines = buf.slice(0, at).split('\n');
        buf = buf.slice(at + 2);
        const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
        const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
        if (!id || !data) continue;
        const parsed = JSON.parse(data) as Sse['data'];
        const e = { id, type: parsed.type, event_id: parsed.event_id as string, data: parsed };
        out.push(e);
        if (o.until?.(e)) {
          ctl.abort();
          return out;
        }
      }
    }
  } catch (err) {
    if (ctl.signal.aborted) return out;
    throw err;
  }
}

async function newCall() {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } });
  return ((await res.json()) as { id: string }).id;
}

function postSpeech(callId: string) {
  const body = pcm16ToBytes(loadWavFixture('hours_16k.wav').pcm);
  return svc.api(`/v1/calls/${callId}/audio`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'audio/pcm;rate=16000' } });
}

const isDone = (e: Sse) => e.type === 'response.done';

describe('GET /v1/calls/:id/events', () => {
  it('streams the call’s events in the GA dialect with stream ids, and in beta with ?dialect=beta', async () => {
    const id = await newCall();
    const reading = readSse(id, { until: isDone });
    await postSpeech(id);
    const ga = await reading;
    expect(ga[0]!.type).toBe('session.created');
    expect(ga.map((e) => e.type)).toContain('response.output_audio.delta');
    expect(ga.map((e) => e.type)).toContain('conversation.item.added');
    for (const e of ga) expect(e.id).toMatch(/^\d+-\d+(:\d+)?$/);
    expect(new Set(ga.map((e) => e.id)).size).toBe(ga.length);
    // The same events replayed from the start, in the beta dialect.
    const beta = await readSse(id, { query: '?dialect=beta', until: isDone });
    expect(beta.map((e) => e.type)).toContain('response.audio.delta');
    expect(beta.map((e) => e.type)).not.toContain('conversation.item.added');
    expect(beta.filter((e) => e.type === 'response.audio.delta').length).toBe(ga.filter((e) => e.type === 'response.output_audio.delta').length);
  });

  it('resumes with Last-Event-ID after a disconnect without losing or repeating events', async () => {
    const id = await newCall();
    // Disconnect early, in the middle of the turn; the call goes on without a reader.
    const first = readSse(id, { until: (e) => e.type === 'input_audio_buffer.speech_started' });
    await postSpeech(id);
    const before = await first;
    const rest = await readSse(id, { lastEventId: before.at(-1)!.id, until: isDone });
    const whole = await readSse(id, { until: isDone });
    expect([...before, ...rest].map((e) => e.event_id)).toEqual(whole.map((e) => e.event_id));
    expect(rest.length).toBeGreaterThan(5);
  });

  it('resumes with Last-Event-ID in the middle of an entry that holds several events', async () => {
    const id = await newCall();
    const item = serverEvents.userAudioItem('item_batch');
    // One entry, as the recorder writes the events sent while its previous write was in flight: four GA wire events.
    const batch: ServerEvent[] = [
      serverEvents.speechStarted({ audio_start_ms: 0, item_id: item.id! }),
      serverEvents.itemCreated(item, null),
      serverEvents.itemDone(item, null),
      serverEvents.speechStopped({ audio_end_ms: 900, item_id: item.id! }),
    ];
    await liveCalls(svc.services).eventLog.append(id, batch.map((e) => JSON.stringify(e)));
    const last = batch.at(-1)!.event_id;
    const whole = await readSse(id, { until: (e) => e.event_id === last });
    const entry = whole.filter((e) => batch.some((b) => b.event_id === e.event_id));
    expect(entry.map((e) => e.type)).toEqual(['input_audio_buffer.speech_started', 'conversation.item.added', 'conversation.item.done', 'input_audio_buffer.speech_stopped']);
    const streamId = entry[0]!.id.split(':')[0]!;
    expect(entry.map((e) => e.id)).toEqual([0, 1, 2, 3].map((i) => `${streamId}:${i}`));
    // Disconnected after the second of them: the resume gives exactly the last two.
    const before = await readSse(id, { until: (e) => e.id === `${streamId}:1` });
    const rest = await readSse(id, { lastEventId: before.at(-1)!.id, until: (e) => e.event_id === last });
    expect(rest.map((e) => e.id)).toEqual([`${streamId}:2`, `${streamId}:3`]);
    expect([...before, ...rest].map((e) => e.id)).toEqual(whole.map((e) => e.id));
  });

  it('still serves entries written one event each (before batching)', async () => {
    const id = await newCall();
    const old = serverEvents.speechStarted({ audio_start_ms: 0, item_id: 'item_old' });
    const streamId = await svc.services.redis.xadd(liveCalls(svc.services).eventLog.keyOf(id), '*', 'e', JSON.stringify(old));
    const got = await readSse(id, { until: (e) => e.event_id === old.event_id });
    expect(got.at(-1)).toMatchObject({ id: streamId, type: 'input_audio_buffer.speech_started' });
  });

  it('ends the stream when the call is hung up, after its last events', async () => {
    const id = await newCall();
    const reading = readSse(id); // reads until the server ends the stream
    await postSpeech(id);
    await readSse(id, { until: isDone });
    await svc.api(`/v1/calls/${id}`, { method: 'DELETE' });
    const events = await reading;
    expect(events.map((e) => e.type)).toContain('response.done');
    // An ended call still replays its events, then the stream ends by itself.
    expect((await readSse(id)).length).toBe(events.length);
  });

  it('also carries a WebSocket call’s events (all but the audio deltas) and ends with the call', async () => {
    const id = await newCall();
    const ws = await connectCall(svc, id, 'ga');
    const sse = readSse(id); // GA, until the server ends the stream
    ws.appendAudio(pcm16ToBytes(spokenTurn()));
    await ws.waitFor('response.done');
    ws.close();
    const events = await sse;
    const types = events.map((e) => e.type);
    expect(types).toContain('conversation.item.input_audio_transcription.completed');
    expect(types).toContain('response.output_audio_transcript.done');
    expect(types.at(-1)).toBe('response.done');
    expect(types).not.toContain('response.output_audio.delta');
  });

  it('needs a key that may read the call', async () => {
    const id = await newCall();
    const res = await svc.api(`/v1/calls/${id}/events`, { key: null });
    expect(res.status).toBe(401);
  });
});
