/**
 * Provider faults in chained mode: latency spikes, 429 storms, 5xx storms and a chat stream cut
 * in the middle of its SSE response. Whatever the provider does, every turn ends — with the real
 * reply, the business's fallback message, or a clear error event — and the call goes on.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/core/audio/resample';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { parseWav } from '../../src/core/audio/formats';
import { DEFAULT_TRANSCRIPT } from '../fakes/script';
import { fixturePath } from '../fixtures';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

const FALLBACK = 'Sorry, I am having trouble right now. One moment please.';
const REPLY = `You said: ${DEFAULT_TRANSCRIPT.replace(/\.$/, '')}. How can I help further?`;

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: { ...SIMPLE_BUSINESS, fallback_message: FALLBACK } });
});
afterEach(() => svc.fake.reset());
afterAll(async () => {
  await svc?.stop();
});

function spokenTurn(): Uint8Array {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const speech = resample(pcm, sampleRate, 24_000);
  const out = new Int16Array(speech.length + 24_000);
  out.set(speech);
  return pcm16ToBytes(out);
}

async function call() {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } });
  const { id } = (await res.json()) as { id: string };
  const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${id}/stream?dialect=beta`, { key: ADMIN_KEY });
  await c.waitFor('session.created');
  return { id, c };
}

/** Speaks one turn and returns what the agent said (the turn must end with response.done). */
async function turn(c: RealtimeClient, timeoutMs = 20_000) {
  const from = c.events.length;
  c.appendAudio(spokenTurn());
  const done = await c.waitFor('response.done', from, timeoutMs);
  const said = (await c.waitFor('response.audio_transcript.done', from)).transcript as string;
  const audio = c.events.slice(from).filter((e) => e.type === 'response.audio.delta').length;
  const errors = c.events.slice(from).filter((e) => e.type === 'error').map((e) => e.error.code as string);
  return { status: done.response.status as string, said, audio, errors };
}

async function stageEvents(callId: string, stage: string, event: string) {
  return (await svc.services.stageLog.read(callId)).filter((l) => l.entry.stage === stage && l.entry.event === event);
}

describe('provider faults', () => {
  it('a latency spike in every stage delays the turn, and it still completes', async () => {
    svc.fake.script.delays = { sttMs: 800, llmFirstTokenMs: 1_500, ttsFirstByteMs: 800 };
    const { c } = await call();
    const t = await turn(c);
    expect(t).toMatchObject({ status: 'completed', said: REPLY, errors: [] });
    expect(t.audio).toBeGreaterThan(0);
    c.close();
  });

  it('a short 429 storm on chat is retried with backoff, and the caller hears the real answer', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 429, times: 3, headers: { 'retry-after-ms': '20' } });
    const { id, c } = await call();
    const t = await turn(c);
    expect(t).toMatchObject({ status: 'completed', said: REPLY, errors: [] });
    expect(await stageEvents(id, 'llm', 'retry')).toHaveLength(3);
    c.close();
  });

  it('a 429 storm longer than the retries ends the turn with the fallback message, and the next turn works', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 429, times: 1_000, headers: { 'retry-after-ms': '20' } });
    const { id, c } = await call();
    const t = await turn(c);
    expect(t.status).toBe('completed');
    expect(t.said).toBe(FALLBACK);
    expect(t.audio).toBeGreaterThan(0); // the fallback is spoken
    expect(t.errors).toContain('turn_failed');
    expect(await stageEvents(id, 'llm', 'failed')).toHaveLength(1);
    svc.fake.script.failures.length = 0;
    expect(await turn(c)).toMatchObject({ status: 'completed', said: REPLY, errors: [] });
    c.close();
  });

  it('a chat stream cut in the middle of its SSE response is retried, and the reply is said once, whole', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 200, times: 1, midStream: true });
    const { id, c } = await call();
    const t = await turn(c);
    expect(t.status).toBe('completed');
    expect(t.errors).toEqual([]);
    // The fake's dropped stream said "Let me check that" before it was cut: that cannot be unsaid, so
    // it stays as its own words, and the retried answer follows it whole.
    expect(t.said).toBe(`Let me check that ${REPLY}`);
    const deltas = c.events.filter((e) => e.type === 'response.audio_transcript.delta').map((e) => e.delta as string).join('');
    expect(deltas).toBe(t.said);
    expect(await stageEvents(id, 'llm', 'retry')).toHaveLength(1);
    const history = await svc.services.calls.history(id);
    expect(history.map((h) => h.message.content)).toEqual([DEFAULT_TRANSCRIPT, t.said]);
    c.close();
  });

  it('a TTS 5xx storm still completes the response, and the client is told what could not be spoken', async () => {
    svc.fake.script.failures.push({ endpoint: 'speech', status: 503, times: 1_000, headers: { 'retry-after-ms': '10' } });
    const { c } = await call();
    const t = await turn(c);
    expect(t.status).toBe('completed');
    expect(t.said).toBe(REPLY);
    expect(t.errors).toContain('tts_failed');
    c.close();
  });

  it('an STT 429 storm ends the turn with a clear error, and the next turn works', async () => {
    svc.fake.script.failures.push({ endpoint: 'transcriptions', status: 429, times: 1_000, headers: { 'retry-after-ms': '10' } });
    const { c } = await call();
    c.appendAudio(spokenTurn());
    const failed = await c.waitFor('conversation.item.input_audio_transcription.failed');
    expect(failed.error.message).toMatch(/429/);
    const err = await c.waitFor((e) => e.type === 'error' && e.error.code === 'turn_failed');
    expect(err.error.message).toMatch(/stt/);
    svc.fake.script.failures.length = 0;
    expect(await turn(c)).toMatchObject({ status: 'completed', said: REPLY });
    c.close();
  });
});
