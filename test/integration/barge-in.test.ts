/**
 * Barge-in in chained mode: the caller interrupts while the answer is being generated, synthesised
 * or played; the response stops everywhere and history keeps only what was heard.
 */
import { once } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { resample } from '../../src/core/audio/resample';
import { loadManifest, loadWavFixture } from '../fixtures';
import { chatRequests, connectCall, newCall, spokenTurn } from '../helpers/calls';
import type { RealtimeClient } from '../helpers/realtime-client';
import { serviceWithAcme, SIMPLE_BUSINESS } from '../helpers/service';

const svc = serviceWithAcme();
beforeEach(() => svc.fake.reset());

const LONG_ANSWER =
  'Our opening hours are nine to five on weekdays. On Saturdays we open at ten and close at four. ' +
  'On Sundays and public holidays we are closed, but the online shop is always open. Is there anything else?';

const speech = () => pcm16ToBytes(spokenTurn());

/** Speech comes in; waits until `ready` says the response is far enough along; then the caller talks again. */
async function interruptWhen(c: RealtimeClient, ready: () => Promise<unknown>) {
  c.appendAudio(speech());
  await ready();
  const mark = c.events.length;
  c.appendAudio(speech());
  const started = await c.waitFor('input_audio_buffer.speech_started', mark);
  const done = await c.waitFor('response.done', mark);
  return { started, done, mark };
}

function audioAfter(c: RealtimeClient, responseId: string, index: number) {
  return c.events.slice(index + 1).filter((e) => e.type === 'response.audio.delta' && e.response_id === responseId);
}

describe('barge-in', () => {
  it('cancels during LLM streaming: the provider request is aborted and nothing more is sent', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.llmTokenMs = 40;
    svc.fake.script.delays.ttsFirstByteMs = 10_000; // no audio yet: the caller heard nothing
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const aborted = once(svc.fake.events, 'request:aborted');
    const { started, done } = await interruptWhen(c, () => c.waitFor('response.audio_transcript.delta'));
    expect(done.response.status).toBe('cancelled');
    expect(done.response.status_details).toMatchObject({ type: 'cancelled', reason: 'turn_detected' });
    expect(c.events.indexOf(started)).toBeLessThan(c.events.indexOf(done));
    await aborted; // the in-flight provider request was really aborted
    svc.fake.script.delays.ttsFirstByteMs = 0;
    // The next turn runs with a history that has no trace of the unheard answer.
    const next = await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'completed');
    expect(audioAfter(c, done.response.id, c.events.indexOf(done))).toEqual([]);
    expect(next.response.id).not.toBe(done.response.id);
    const last = chatRequests(svc).at(-1)!;
    expect(last.messages.map((m) => m.role)).toEqual(['system', 'user', 'user']);
    c.close();
  });

  it('cancels during TTS and keeps in history only the sentences that were played', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    let deltas = 0;
    const { done } = await interruptWhen(c, () =>
      c.waitFor((e) => e.type === 'response.audio.delta' && ++deltas >= 2),
    );
    expect(done.response.status).toBe('cancelled');
    expect(audioAfter(c, done.response.id, c.events.indexOf(done))).toEqual([]);
    await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'completed');
    // Audio ran ahead of real time: only a little of it can have been heard.
    const logs = (await (await svc.api(`/v1/calls/${call.id}/logs`)).json()) as { data: { stage: string; event: string; data: Record<string, number> }[] };
    const cancel = logs.data.find((e) => e.stage === 'gateway' && e.event === 'cancelled')!;
    expect(cancel.data.played_ms!).toBeLessThanOrEqual(cancel.data.sent_ms!);
    const history = chatRequests(svc).at(-1)!.messages;
    const assistant = history.find((m) => m.role === 'assistant');
    if (assistant) expect(LONG_ANSWER.startsWith(String(assistant.content))).toBe(true);
    expect(String(assistant?.content ?? '').length).toBeLessThan(LONG_ANSWER.length);
    c.close();
  });

  it('after an answer was fully sent, cuts history to what real-time playback reached', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(speech());
    const first = await c.waitFor('response.done');
    expect(first.response.status).toBe('completed');
    const mark = c.events.length;
    c.appendAudio(speech()); // ~10 s of answer cannot have been played yet
    await c.waitFor('input_audio_buffer.speech_started', mark);
    await c.waitFor('response.done', mark);
    const history = chatRequests(svc).at(-1)!.messages;
    expect(history.map((m) => m.role).slice(0, 2)).toEqual(['system', 'user']);
    const assistant = history.find((m) => m.role === 'assistant');
    expect(String(assistant?.content ?? '').length).toBeLessThan(LONG_ANSWER.length / 2);
    // The call's transcript tells the same story as the history.
    const record = (await (await svc.api(`/v1/calls/${call.id}`)).json()) as { transcript: { role: string; text: string }[] };
    expect(record.transcript.some((t) => t.text === LONG_ANSWER)).toBe(false);
    c.close();
  });

  it('is not triggered by a short noise burst', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.ttsFirstByteMs = 300;
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(speech());
    await c.waitFor('response.created');
    const mark = c.events.length;
    const { pcm, rate } = loadWavFixture('click_cough_16k.wav');
    c.appendAudio(pcm16ToBytes(resample(pcm, rate, 24_000)));
    const done = await c.waitFor('response.done', mark);
    expect(done.response.status).toBe('completed');
    expect(c.types(mark)).not.toContain('input_audio_buffer.speech_started');
    c.close();
  });

  it('lets a business require longer speech before the agent is interrupted', async () => {
    // Half a second of the caller's voice: enough to interrupt by default (200 ms), not at 1,000 ms.
    const { pcm, rate } = loadWavFixture('hours_16k.wav');
    const start = loadManifest()['hours_16k.wav']!.segments[0]!.startMs;
    const word = new Int16Array(rate); // 500 ms of speech, then 500 ms of silence
    word.set(pcm.subarray((start * rate) / 1000, ((start + 500) * rate) / 1000));
    const interjection = pcm16ToBytes(resample(word, rate, 24_000));
    await svc.api('/v1/businesses/patient', { method: 'PUT', json: { ...SIMPLE_BUSINESS, interruption: { min_speech_ms: 1_000 } } });
    for (const [business, interrupted] of [['acme', true], ['patient', false]] as const) {
      svc.fake.script.chat.push({ text: LONG_ANSWER });
      svc.fake.script.delays.ttsFirstByteMs = 300;
      const c = await connectCall(svc, (await newCall(svc, business)).id);
      c.appendAudio(speech());
      await c.waitFor('response.created');
      const mark = c.events.length;
      c.appendAudio(interjection);
      const done = await c.waitFor('response.done', mark);
      expect(done.response.status).toBe(interrupted ? 'cancelled' : 'completed');
      c.close();
    }
  });

  it('stops on response.cancel, and answers a cancel with nothing running with an error', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.llmTokenMs = 40;
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(speech());
    await c.waitFor('response.audio_transcript.delta');
    c.send({ type: 'response.cancel' });
    const done = await c.waitFor('response.done');
    expect(done.response.status_details).toMatchObject({ type: 'cancelled', reason: 'client_cancelled' });
    c.send({ type: 'response.cancel', event_id: 'evt_2' });
    expect((await c.waitFor('error')).error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_2' });
    c.close();
  });

  it('truncates at the client-reported position with response.interrupt', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.llmTokenMs = 5;
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(speech());
    let deltas = 0;
    await c.waitFor((e) => e.type === 'response.audio.delta' && ++deltas >= 3);
    // 2.5 s at 40 ms per character ≈ the first sentence's 62 characters.
    c.send({ type: 'response.interrupt', audio_end_ms: 2_500 });
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('cancelled');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And on Sunday?' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor((e) => e.type === 'response.done' && e.response.id !== done.response.id);
    const assistant = chatRequests(svc).at(-1)!.messages.find((m) => m.role === 'assistant')!;
    expect(String(assistant.content)).toBe('Our opening hours are nine to five on weekdays.');
    c.close();
  });

  it('answers conversation.item.truncate past the end of the audio with an error', async () => {
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(speech());
    const done = await c.waitFor('response.done');
    const itemId = done.response.output[0].id as string;
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 999_999 });
    expect((await c.waitFor('error')).error.param).toBe('audio_end_ms');
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 0 });
    const truncated = await c.waitFor('conversation.item.truncated');
    expect(truncated).toMatchObject({ item_id: itemId, audio_end_ms: 0 });
    c.close();
  });
});
