/**
 * Chained mode end to end: spoken audio in over the Realtime WebSocket, through the VAD, Redis
 * and the real STT → LLM → TTS BullMQ workers (fake provider behind the official openai client),
 * and spoken audio out, in both dialects.
 */
import { describe, expect, it } from 'vitest';
import { resample } from '../../src/core/audio/resample';
import { ulawEncode, alawEncode } from '../../src/core/audio/g711';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { connectCall, newCall as newCallFor, spokenTurn } from '../helpers/calls';
import { serviceWithAcme } from '../helpers/service';

const svc = serviceWithAcme();

const newCall = (session?: Record<string, unknown>) => newCallFor(svc, 'acme', session);
const connect = (callId: string, dialect: 'beta' | 'ga') => connectCall(svc, callId, dialect);

const BETA_TURN_ORDER = [
  'input_audio_buffer.speech_started',
  'input_audio_buffer.speech_stopped',
  'input_audio_buffer.committed',
  'conversation.item.created',
  'response.created',
  'response.output_item.added',
  'conversation.item.created',
  'response.content_part.added',
  'response.audio_transcript.delta',
  'response.audio.delta',
  'response.audio.done',
  'response.audio_transcript.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.done',
];

/** The first occurrence of each type, in order (deltas repeat and the transcription may come anywhere). */
function firstOccurrences(types: string[]): string[] {
  const out: string[] = [];
  for (const t of types) if (t === 'conversation.item.created' || !out.includes(t)) out.push(t);
  return out.filter((t) => !t.startsWith('conversation.item.input_audio_transcription'));
}

describe('chained mode over the Realtime WebSocket', () => {
  it('answers a spoken question with speech, in the beta event order', async () => {
    const call = await newCall();
    const c = await connect(call.id, 'beta');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(transcript.transcript.length).toBeGreaterThan(0);
    const types = c.types();
    expect(types[0]).toBe('session.created');
    const turn = firstOccurrences(types.slice(types.indexOf('input_audio_buffer.speech_started')));
    expect(turn).toEqual(BETA_TURN_ORDER);
    // Reply text and audio are really there, and the ids tie together.
    const said = await c.waitFor('response.audio_transcript.done');
    expect(said.transcript).toContain(transcript.transcript);
    const audio = c.events.filter((e) => e.type === 'response.audio.delta');
    const bytes = audio.reduce((n, e) => n + Buffer.from(e.delta, 'base64').length, 0);
    expect(bytes).toBeGreaterThan(48 * 500); // at least half a second of 24 kHz PCM16
    expect(new Set(audio.map((e) => e.response_id))).toEqual(new Set([done.response.id]));
    expect(done.response.output[0].content[0].transcript).toBe(said.transcript);
    const ids = c.events.map((e) => e.event_id);
    expect(new Set(ids).size).toBe(ids.length);
    c.close();
  });

  it('speaks the GA dialect to a GA client', async () => {
    const call = await newCall();
    const c = await connect(call.id, 'ga');
    expect(c.events[0]!.session.type).toBe('realtime');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    const types = c.types();
    expect(types).toContain('response.output_audio.delta');
    expect(types).toContain('response.output_audio_transcript.done');
    expect(types).toContain('conversation.item.added');
    expect(types).not.toContain('response.audio.delta');
    expect(types.indexOf('response.output_audio.done')).toBeLessThan(types.indexOf('response.done'));
    c.close();
  });

  it('keeps the history across turns in Redis', async () => {
    // The second question follows at once, while the first answer would still be playing: with
    // interrupt_response off that is not a barge-in, so the whole first answer stays in history.
    const call = await newCall({ turn_detection: { interrupt_response: false } });
    const c = await connect(call.id, 'beta');
    svc.fake.script.transcripts.push('My name is Ada.', 'What is my name?');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    const mark = c.events.length;
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done', mark);
    const chats = svc.fake.requests.filter((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('What is my name?'));
    const messages = (chats.at(-1)!.body as { messages: { role: string; content: string }[] }).messages;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('My name is Ada.');
    const record = (await (await svc.api(`/v1/calls/${call.id}`)).json()) as { transcript: { role: string }[] };
    expect(record.transcript.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    c.close();
  });

  it('waits for commit and response.create when turn detection is off', async () => {
    const call = await newCall({ turn_detection: null });
    const c = await connect(call.id, 'beta');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    c.send({ type: 'input_audio_buffer.commit' });
    await c.waitFor('input_audio_buffer.committed');
    c.send({ type: 'response.create' });
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    expect(c.types()).not.toContain('input_audio_buffer.speech_started');
    // An empty commit is an error, and the call goes on.
    c.send({ type: 'input_audio_buffer.commit', event_id: 'evt_empty' });
    const err = await c.waitFor('error');
    expect(err.error).toMatchObject({ code: 'input_audio_buffer_commit_empty', event_id: 'evt_empty' });
    c.close();
  });

  it.each([
    ['g711_ulaw', 8, (p: Int16Array) => ulawEncode(resample(p, 24_000, 8_000))],
    ['g711_alaw', 8, (p: Int16Array) => alawEncode(resample(p, 24_000, 8_000))],
    ['pcm16', 48, (p: Int16Array) => pcm16ToBytes(p)],
  ] as const)('takes and returns %s audio', async (format, bytesPerMs, encode) => {
    const call = await newCall({ input_audio_format: format, output_audio_format: format });
    const c = await connect(call.id, 'beta');
    c.appendAudio(encode(spokenTurn()));
    await c.waitFor('response.done');
    const deltas = c.events.filter((e) => e.type === 'response.audio.delta');
    const bytes = deltas.reduce((n, e) => n + Buffer.from(e.delta, 'base64').length, 0);
    // The fake speaks 40 ms per character: the audio length matches the transcript in this format.
    const transcript = (await c.waitFor('response.audio_transcript.done')).transcript as string;
    const sentences = transcript.length;
    expect(bytes / bytesPerMs).toBeGreaterThan(sentences * 40 * 0.8);
    expect(bytes / bytesPerMs).toBeLessThan(sentences * 40 * 1.2);
    c.close();
  });

  it('logs every stage of a turn and serves the latency waterfall', async () => {
    const call = await newCall();
    const c = await connect(call.id, 'beta');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    c.close();
    const logs = (await (await svc.api(`/v1/calls/${call.id}/logs`)).json()) as { data: { stage: string; event: string; turn_id: string; attempt: number; worker: string }[] };
    const seen = new Set(logs.data.map((e) => `${e.stage}:${e.event}`));
    for (const k of ['vad:completed', 'stt:queued', 'stt:started', 'stt:completed', 'llm:queued', 'llm:started', 'llm:first_output', 'llm:completed', 'tts:started', 'tts:first_output', 'tts:completed', 'gateway:first_output', 'gateway:completed']) {
      expect(seen, k).toContain(k);
    }
    expect(logs.data.every((e) => e.attempt === 1)).toBe(true);
    // Call records expire: the log keeps CALL_TTL_S, the output stream (a transport) much less.
    const ttl = (key: string) => svc.services.redis.ttl(key);
    expect(await ttl(svc.services.keys.callLog(call.id))).toBeGreaterThan(svc.config.callTtlS - 60);
    expect(await ttl(svc.services.keys.callOutput(call.id))).toBeGreaterThan(0);
    expect(await ttl(svc.services.keys.callOutput(call.id))).toBeLessThanOrEqual(60);
    // The raw utterance is dropped once transcribed; the transcript is what is kept.
    expect(await svc.services.redis.exists(svc.services.keys.callAudio(call.id, logs.data[0]!.turn_id))).toBe(0);
    const turns = (await (await svc.api(`/v1/calls/${call.id}/turns`)).json()) as { data: Record<string, number | null>[] };
    expect(turns.data).toHaveLength(1);
    const w = turns.data[0]!;
    expect(w.stt_done_ms).not.toBeNull();
    expect(w.llm_first_token_ms!).toBeGreaterThanOrEqual(w.stt_done_ms!);
    expect(w.tts_first_audio_ms!).toBeGreaterThanOrEqual(w.llm_first_token_ms!);
    expect(w.first_audio_sent_ms!).toBeGreaterThanOrEqual(w.tts_first_audio_ms!);
    const text = await (await svc.api(`/v1/calls/${call.id}/logs?format=text`)).text();
    expect(text).toMatch(/stt\s+completed/);
    expect(text).toMatch(/══ T1\s+first audio \d+ms = stt \d+ \+ llm \d+ \+ tts \d+ \+ send \d+/);
  });

  it('answers a malformed event with an error and keeps the call going', async () => {
    const call = await newCall();
    const c = await connect(call.id, 'beta');
    c.ws.send('{not json');
    expect((await c.waitFor('error')).error.code).toBe('invalid_json');
    c.send({ type: 'no.such.event' });
    await c.waitFor((e) => e.type === 'error' && e.error.code === 'unknown_event');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    expect((await c.waitFor('response.done')).response.status).toBe('completed');
    c.close();
  });
});
