/**
 * False-interruption recovery in chained mode (docs/DESIGN.md §8): a noise or a "mhm" that barges in
 * cancels the answer, then the answer resumes from where the caller stopped hearing it, with no
 * new LLM request, and history keeps the whole answer once. Words still interrupt.
 */
import { once } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { resample } from '../../src/core/audio/resample';
import { loadManifest, loadWavFixture } from '../fixtures';
import { chatRequests, connectCall, newCall, spokenTurn } from '../helpers/calls';
import type { RealtimeClient, WireEvent } from '../helpers/realtime-client';
import { serviceWithAcme, SIMPLE_BUSINESS } from '../helpers/service';

const svc = serviceWithAcme();
beforeEach(() => svc.fake.reset());

const LONG_ANSWER =
  'Our opening hours are nine to five on weekdays. On Saturdays we open at ten and close at four. ' +
  'On Sundays and public holidays we are closed, but the online shop is always open. Is there anything else?';

const speech = () => pcm16ToBytes(spokenTurn());

/** A door or a loud cough: 400 ms of broadband noise (long enough to barge in), then 1 s of silence. */
function noiseBurst(): Uint8Array {
  const rate = 24_000;
  const out = new Int16Array(rate * 1.4);
  let x = 12345;
  for (let i = 0; i < rate * 0.4; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = ((x >> 8) % 16_000) - 8_000;
  }
  return pcm16ToBytes(out);
}

/** Half a second of the caller's voice (a "mhm" for the VAD), then silence. */
function shortUtterance(): Uint8Array {
  const { pcm, rate } = loadWavFixture('hours_16k.wav');
  const start = loadManifest()['hours_16k.wav']!.segments[0]!.startMs;
  const word = new Int16Array(rate * 1.5);
  word.set(pcm.subarray((start * rate) / 1000, ((start + 500) * rate) / 1000));
  return pcm16ToBytes(resample(word, rate, 24_000));
}

type Log = { stage: string; event: string; turn_id: string; data: Record<string, unknown> };
async function logs(callId: string): Promise<Log[]> {
  return ((await (await svc.api(`/v1/calls/${callId}/logs`)).json()) as { data: Log[] }).data;
}

/** The transcript of a response's assistant message (what it said), from its response.done. */
function said(done: WireEvent): string {
  const output = (done.response as { output: { content?: { transcript?: string }[] }[] }).output;
  return output.flatMap((i) => i.content ?? []).map((c) => c.transcript ?? '').join('');
}

/** The caller asks; once the answer's audio is flowing, `interruption` barges in. */
async function interruptAnswer(c: RealtimeClient, interruption: Uint8Array) {
  c.appendAudio(speech());
  let deltas = 0;
  await c.waitFor((e) => e.type === 'response.audio.delta' && ++deltas >= 2);
  const mark = c.events.length;
  c.appendAudio(interruption);
  await c.waitFor('input_audio_buffer.speech_started', mark);
  const cancelled = await c.waitFor('response.done', mark);
  expect(cancelled.response.status).toBe('cancelled');
  return { cancelled, mark: c.events.indexOf(cancelled) + 1 };
}

async function nextQuestionHistory(c: RealtimeClient) {
  const mark = c.events.length;
  svc.fake.script.chat.push({ text: 'Anything else I can do?' });
  c.appendAudio(speech());
  await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'completed', mark);
  return chatRequests(svc).at(-1)!.messages;
}

describe('false interruption', () => {
  it('a noise burst during the answer: the answer resumes where it stopped, history holds it once, and words still interrupt', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.transcripts.push('What are your opening hours?', '', 'What about Sundays?');
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const { cancelled, mark } = await interruptAnswer(c, noiseBurst());
    const resumed = await c.waitFor('response.done', mark);
    expect(resumed.response.status).toBe('completed');
    expect(resumed.response.id).not.toBe(cancelled.response.id);
    const rest = said(resumed);
    expect(rest.length).toBeGreaterThan(0);
    expect(LONG_ANSWER.endsWith(rest)).toBe(true);
    expect(c.events.slice(mark).some((e) => e.type === 'response.audio.delta' && e.response_id === resumed.response.id)).toBe(true);
    expect(chatRequests(svc)).toHaveLength(1); // no new LLM request
    const entry = (await logs(call.id)).find((e) => e.stage === 'gateway' && e.event === 'resumed')!;
    expect(entry.data).toMatchObject({ reason: 'no_words' });
    expect(typeof entry.data.resumed_from_ms).toBe('number');
    const metrics = await (await svc.api('/metrics', { key: null })).text();
    expect(metrics).toMatch(/voice_agent_false_interruption_resumes_total\{reason="no_words"\} [1-9]/);

    // A real interruption of the resumed answer still interrupts, and is answered.
    const real = c.events.length;
    c.appendAudio(speech());
    await c.waitFor('input_audio_buffer.speech_started', real);
    const answer = await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'completed', real);
    expect(said(answer)).toBe('You said: What about Sundays. How can I help further?');
    const history = chatRequests(svc).at(-1)!.messages;
    expect(history.at(-1)).toMatchObject({ role: 'user', content: 'What about Sundays?' });
    // One assistant message: what was heard of the answer, before and after the noise.
    const assistants = history.filter((m) => m.role === 'assistant');
    expect(assistants.length).toBeLessThanOrEqual(1);
    if (assistants[0]) expect(LONG_ANSWER.startsWith(String(assistants[0].content))).toBe(true);
    expect((await logs(call.id)).filter((e) => e.event === 'resumed')).toHaveLength(1);
    c.close();
  });

  it('resumes the whole answer even if the LLM was still writing it: history and transcript hold it once, not the noise', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.llmTokenMs = 30; // the answer is still being written at the barge-in
    svc.fake.script.transcripts.push('What are your opening hours?', '');
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const { mark } = await interruptAnswer(c, noiseBurst());
    const resumed = await c.waitFor('response.done', mark);
    expect(resumed.response.status).toBe('completed');
    expect(said(resumed)).toMatch(/Is there anything else\?$/);
    expect(chatRequests(svc)).toHaveLength(1);
    const history = (await svc.services.calls.history(call.id)).map((h) => h.message);
    expect(history).toEqual([
      { role: 'user', content: 'What are your opening hours?' },
      { role: 'assistant', content: LONG_ANSWER },
    ]);
    const record = (await (await svc.api(`/v1/calls/${call.id}`)).json()) as { transcript: { role: string; text: string }[] };
    expect(record.transcript.filter((t) => t.role === 'assistant').map((t) => t.text)).toEqual([LONG_ANSWER]);
    c.close();
  });

  it('a backchannel ("mhm") resumes too, and is not a turn for the model', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.transcripts.push('What are your opening hours?', 'Mhm.');
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const { mark } = await interruptAnswer(c, shortUtterance());
    const resumed = await c.waitFor('response.done', mark);
    expect(resumed.response.status).toBe('completed');
    expect(LONG_ANSWER.endsWith(said(resumed))).toBe(true);
    expect(c.events.slice(mark).some((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.transcript === 'Mhm.')).toBe(true);
    expect(chatRequests(svc)).toHaveLength(1);
    expect((await logs(call.id)).find((e) => e.event === 'resumed')!.data).toMatchObject({ reason: 'backchannel' });
    const history = (await svc.services.calls.history(call.id)).map((h) => h.message);
    expect(history).toEqual([
      { role: 'user', content: 'What are your opening hours?' },
      { role: 'assistant', content: LONG_ANSWER },
    ]);
    c.close();
  });

  it('words interrupt as before: no resume, the answer still being written is aborted, the question is answered', async () => {
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.llmTokenMs = 40;
    svc.fake.script.transcripts.push('What are your opening hours?', 'Stop, what about Sundays?');
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const aborted = once(svc.fake.events, 'request:aborted');
    const { mark } = await interruptAnswer(c, speech());
    await aborted; // the LLM request left running until the words were known is stopped
    const answer = await c.waitFor('response.done', mark);
    expect(answer.response.status).toBe('completed');
    expect(said(answer)).toContain('Stop, what about Sundays');
    const history = chatRequests(svc).at(-1)!.messages;
    expect(history.at(-1)).toMatchObject({ role: 'user', content: 'Stop, what about Sundays?' });
    expect(history.some((m) => m.content === LONG_ANSWER)).toBe(false);
    expect((await logs(call.id)).some((e) => e.event === 'resumed')).toBe(false);
    c.close();
  });

  it('a transcript slower than timeout_ms: the answer resumes at the timeout, and words arriving later still interrupt', async () => {
    await svc.api('/v1/businesses/quick', { method: 'PUT', json: { ...SIMPLE_BUSINESS, interruption: { false_interruption: { timeout_ms: 200 } } } });
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.delays.sttMs = 1_500;
    svc.fake.script.transcripts.push('What are your opening hours?', 'What about Sundays?');
    const call = await newCall(svc, 'quick');
    const c = await connectCall(svc, call.id);
    const { cancelled, mark } = await interruptAnswer(c, speech());
    const resumed = await c.waitFor('response.created', mark);
    expect(resumed.response.id).not.toBe(cancelled.response.id);
    // The late transcript has words: whatever the resumed answer is doing, the caller's question is answered.
    const answer = await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'completed' && said(e).startsWith('You said'), mark);
    expect(said(answer)).toBe('You said: What about Sundays. How can I help further?');
    expect((await logs(call.id)).filter((e) => e.event === 'resumed').map((e) => e.data.reason)).toEqual(['timeout']);
    const history = chatRequests(svc).at(-1)!.messages;
    expect(history.at(-1)).toMatchObject({ role: 'user', content: 'What about Sundays?' });
    const assistants = history.filter((m) => m.role === 'assistant');
    expect(assistants.length).toBeLessThanOrEqual(1);
    if (assistants[0]) expect(LONG_ANSWER.startsWith(String(assistants[0].content))).toBe(true);
    c.close();
  });

  it('with false_interruption.resume off, a noise burst cuts the answer for good', async () => {
    await svc.api('/v1/businesses/no-resume', {
      method: 'PUT',
      json: { ...SIMPLE_BUSINESS, interruption: { false_interruption: { resume: false } } },
    });
    const business = (await (await svc.api('/v1/businesses/no-resume')).json()) as { interruption: Record<string, unknown> };
    expect(business.interruption).toMatchObject({ min_speech_ms: 200, false_interruption: { resume: false, timeout_ms: 2000 }, backchannels: ['mm', 'mhm', 'uh-huh', 'uh', 'um'] });
    svc.fake.script.chat.push({ text: LONG_ANSWER });
    svc.fake.script.transcripts.push('What are your opening hours?', '');
    const call = await newCall(svc, 'no-resume');
    const c = await connectCall(svc, call.id);
    const { mark } = await interruptAnswer(c, noiseBurst());
    await c.waitFor((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.transcript === '', mark);
    const history = await nextQuestionHistory(c);
    expect(history.some((m) => m.content === LONG_ANSWER)).toBe(false);
    expect((await logs(call.id)).some((e) => e.event === 'resumed')).toBe(false);
    expect(c.events.slice(mark).filter((e) => e.type === 'response.created')).toHaveLength(1); // only the next question's
    c.close();
  });
});
