/**
 * business.early_transcription_ms: the caller's turn is transcribed during the pause, before
 * silence_duration_ms (500 ms) ends the turn; the turn then takes that transcript. Speech after the
 * pause makes it stale, and the next pause's transcription is the one used. The fake's transcript
 * names the size of the audio it was sent, so each test can tell which audio was transcribed.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  const res = await svc.api('/v1/businesses/early', { method: 'PUT', json: { ...SIMPLE_BUSINESS, early_transcription_ms: 200 } });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await svc?.stop();
});
beforeEach(() => {
  svc.fake.reset();
  svc.fake.script.transcribe = (req) => `${req.file.size} bytes`;
});

const transcriptions = () => svc.fake.requests.filter((r) => r.path === '/v1/audio/transcriptions').length;

async function talk(pcm24k: Int16Array) {
  const { id } = await newCall(svc, 'early');
  const c = await connectCall(svc, id);
  c.appendAudio(pcm16ToBytes(pcm24k));
  const transcript = (await c.waitFor('conversation.item.input_audio_transcription.completed')).transcript as string;
  const done = await c.waitFor('response.done');
  c.close();
  const logs = (await (await svc.api(`/v1/calls/${id}/logs`)).json()) as { data: { stage: string; event: string; data: Record<string, unknown> }[] };
  const stt = logs.data.find((e) => e.stage === 'stt' && e.event === 'completed')!;
  const turnMs = logs.data.find((e) => e.stage === 'vad' && e.event === 'completed')!.data['audio_ms'] as number;
  return { transcript, status: done.response.status as string, stt, turnMs };
}

/** Milliseconds of 16 kHz PCM16 in the WAV the fake was sent (its transcript names the file size). */
const transcribedMs = (transcript: string) => (Number(transcript.split(' ')[0]) - 44) / 32;

it('answers from the transcript made during the pause, without transcribing the turn again', async () => {
  const { transcript, status, stt, turnMs } = await talk(spokenTurn());
  expect(status).toBe('completed');
  expect(transcriptions()).toBe(1);
  expect(stt.data['early']).toBe(true);
  expect(stt.data['transcript']).toBe(transcript);
  // The early audio is the turn less the end of its closing silence: cut ≥ 200 ms into the 500 ms.
  expect(transcribedMs(transcript)).toBeGreaterThanOrEqual(turnMs - 300);
  expect(transcribedMs(transcript)).toBeLessThan(turnMs);
});

it('drops a transcription that speech after the pause made stale, and uses the next pause’s', async () => {
  // The fixture's words span 0.5–1.83 s of its 2.63 s: said twice with a 300 ms pause between
  // (past early_transcription_ms, short of the turn's end), then a second of silence.
  const words = spokenTurn(24_000, 0).subarray(0.45 * 24_000, 1.85 * 24_000);
  const ms = (n: number) => (n * 24_000) / 1000;
  const both = new Int16Array(ms(500) + 2 * words.length + ms(300) + ms(1_000));
  both.set(words, ms(500));
  both.set(words, ms(500) + words.length + ms(300));
  const { transcript, status, stt, turnMs } = await talk(both);
  expect(status).toBe('completed');
  await expect.poll(transcriptions).toBe(2); // the stale one may still be on its way
  expect(stt.data['early']).toBe(true);
  // The first (stale) one stopped at the pause; what was answered covers both stretches of speech.
  const sent = svc.fake.requests.filter((r) => r.path === '/v1/audio/transcriptions').map((r) => ((r.body as { file: { size: number } }).file.size - 44) / 32);
  const stale = Math.min(...sent);
  expect(transcribedMs(transcript)).toBeGreaterThanOrEqual(turnMs - 300);
  expect(stale).toBeLessThan(turnMs / 2 + 300);
});
