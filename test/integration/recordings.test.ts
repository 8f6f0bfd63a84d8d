/**
 * Call recordings end to end (docs/DESIGN.md §9): a chained call over the WebSocket with a barge-in,
 * the two-channel WAV checked channel by channel, who may fetch it, MP3, deletion.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { decodeAudioFile } from '../../src/adapters/audio-decode';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { serviceWithAcme, SIMPLE_BUSINESS } from '../helpers/service';

const dir = mkdtempSync(join(tmpdir(), 'recordings-'));
const svc = serviceWithAcme({ env: { RECORDINGS_DIR: dir } });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => svc.fake.reset());

const LONG_ANSWER =
  'Our opening hours are nine to five on weekdays. On Saturdays we open at ten and close at four. ' +
  'On Sundays and public holidays we are closed, but the online shop is always open. Is there anything else?';

let recKey = '';
let acmeKey = '';
beforeAll(async () => {
  await svc.api('/v1/businesses/rec', { method: 'PUT', json: { ...SIMPLE_BUSINESS, recording: { enabled: true } } });
  recKey = ((await (await svc.api('/v1/businesses/rec/keys', { method: 'POST' })).json()) as { key: string }).key;
  acmeKey = ((await (await svc.api('/v1/businesses/acme/keys', { method: 'POST' })).json()) as { key: string }).key;
});

function stereo(wav: Buffer) {
  expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
  expect([wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)]).toEqual([2, 24_000, 16]);
  const frames = wav.readUInt32LE(40) / 4;
  const s = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + 44 + frames * 4));
  return { left: s.filter((_, i) => i % 2 === 0), right: s.filter((_, i) => i % 2 === 1) };
}
const peak = (s: Int16Array) => s.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const firstNonZero = (s: Int16Array) => s.findIndex((v) => v !== 0);

/** A recorded call: the caller asks, the agent answers, the caller talks over it; then hang up. */
async function bargedInCall() {
  svc.fake.script.chat.push({ text: LONG_ANSWER });
  const call = await newCall(svc, 'rec');
  const c = await connectCall(svc, call.id);
  const speech = spokenTurn();
  c.appendAudio(pcm16ToBytes(speech));
  let deltas = 0;
  const first = await c.waitFor((e) => e.type === 'response.audio.delta' && ++deltas >= 2);
  svc.fake.script.delays.ttsFirstByteMs = 10_000; // the next answer is not spoken before the hang-up
  const mark = c.events.length;
  c.appendAudio(pcm16ToBytes(speech));
  await c.waitFor('input_audio_buffer.speech_started', mark);
  const done = await c.waitFor((e) => e.type === 'response.done' && e.response.id === first.response_id, mark);
  expect(done.response.status).toBe('cancelled');
  const sent = c.events.filter((e) => e.type === 'response.audio.delta' && e.response_id === first.response_id).map((e) => Buffer.from(String(e.delta), 'base64'));
  expect((await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE' })).status).toBe(200);
  c.close();
  const agent = Buffer.concat(sent);
  return { callId: call.id, speech, agent: new Int16Array(agent.buffer, agent.byteOffset, agent.length / 2) };
}

describe('call recordings', () => {
  let rec: Awaited<ReturnType<typeof bargedInCall>>;
  beforeAll(async () => {
    rec = await bargedInCall();
  });

  it('records the caller on the left and what the agent said, up to the barge-in, on the right', async () => {
    const res = await svc.api(`/v1/calls/${rec.callId}/recording`, { key: recKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const { left, right } = stereo(Buffer.from(await res.arrayBuffer()));
    // Left: silence until the caller's audio came, then its two utterances exactly as sent
    // (PCM16 24 kHz passes through), back to back.
    const from = firstNonZero(left) - firstNonZero(rec.speech);
    expect(from).toBeGreaterThanOrEqual(0);
    expect(peak(left.subarray(0, from))).toBe(0);
    expect(left.length).toBeGreaterThanOrEqual(from + 2 * rec.speech.length);
    expect([...left.subarray(from, from + rec.speech.length)]).toEqual([...rec.speech]);
    expect([...left.subarray(from + rec.speech.length, from + 2 * rec.speech.length)]).toEqual([...rec.speech]);
    expect(peak(left.subarray(from, from + 24_000))).toBeGreaterThan(3000); // caller energy where the caller spoke
    // Right: the agent's audio as sent, from where it started playing...
    const at = firstNonZero(right);
    const a0 = firstNonZero(rec.agent);
    expect(at).toBeGreaterThan(0);
    // ...cut at the barge-in (it came as soon as the audio did: the client sends faster than real
    // time), so only a prefix of what was sent, exactly; then silence to the end.
    const heard = right.findLastIndex((v) => v !== 0) + 1 - at;
    expect(heard).toBeLessThan(rec.agent.length - a0);
    expect([...right.subarray(at, at + heard)]).toEqual([...rec.agent.subarray(a0, a0 + heard)]);
    expect(right.length - (at + heard)).toBeGreaterThan(24_000); // the caller's second utterance: the agent is silent
  });

  it('is refused to another business and to the call\'s client secret', async () => {
    const other = await svc.api(`/v1/calls/${rec.callId}/recording`, { key: acmeKey });
    expect(other.status).toBe(403);
    const call = await newCall(svc, 'rec');
    const secret = await svc.api(`/v1/calls/${call.id}/recording`, { key: call.client_secret.value });
    expect(secret.status).toBe(403);
  });

  it('converts to MP3 with ffmpeg', async () => {
    const res = await svc.api(`/v1/calls/${rec.callId}/recording?format=mp3`, { key: recKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const mp3 = Buffer.from(await res.arrayBuffer());
    const pcm = await decodeAudioFile(mp3, { sampleRate: 24_000 });
    expect(pcm.length).toBeGreaterThan(2 * rec.speech.length * 0.9); // it decodes to the call's length
  });

  it('answers 404 recording_not_found while the call is live and for a business that does not record', async () => {
    const live = await newCall(svc, 'rec');
    const r1 = await svc.api(`/v1/calls/${live.id}/recording`);
    expect(r1.status).toBe(404);
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('recording_not_found');
    const plain = await newCall(svc, 'acme');
    const c = await connectCall(svc, plain.id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    await svc.api(`/v1/calls/${plain.id}`, { method: 'DELETE' });
    c.close();
    const r2 = await svc.api(`/v1/calls/${plain.id}/recording`);
    expect(r2.status).toBe(404);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('recording_not_found');
  });

  it('records a realtime-mode call the same way: the caller left, the relayed answer right', async () => {
    await svc.api('/v1/businesses/rec-rt', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime', recording: { enabled: true } } });
    const call = await newCall(svc, 'rec-rt');
    const c = await connectCall(svc, call.id);
    const speech = spokenTurn();
    c.appendAudio(pcm16ToBytes(speech));
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    const sent = Buffer.concat(c.events.filter((e) => e.type === 'response.audio.delta').map((e) => Buffer.from(String(e.delta), 'base64')));
    const agent = new Int16Array(sent.buffer, sent.byteOffset, sent.length / 2);
    await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE' });
    c.close();
    const res = await svc.api(`/v1/calls/${call.id}/recording`);
    expect(res.status).toBe(200);
    const { left, right } = stereo(Buffer.from(await res.arrayBuffer()));
    const from = firstNonZero(left) - firstNonZero(speech);
    expect([...left.subarray(from, from + speech.length)]).toEqual([...speech]);
    // The answer came far faster than real time and the call ended at once: what had played by
    // then is the recording's, exactly as sent.
    const at = firstNonZero(right);
    const heard = right.findLastIndex((v) => v !== 0) + 1 - at;
    expect(heard).toBeGreaterThan(0);
    expect(heard).toBeLessThanOrEqual(agent.length);
    const a0 = firstNonZero(agent);
    expect([...right.subarray(at, at + heard)]).toEqual([...agent.subarray(a0, a0 + heard)]);
  });

  it('deletes: then 404, and a second delete is 404 too', async () => {
    expect((await svc.api(`/v1/calls/${rec.callId}/recording`, { method: 'DELETE', key: acmeKey })).status).toBe(403);
    expect((await svc.api(`/v1/calls/${rec.callId}/recording`, { method: 'DELETE', key: recKey })).status).toBe(204);
    const gone = await svc.api(`/v1/calls/${rec.callId}/recording`, { key: recKey });
    expect(gone.status).toBe(404);
    expect((await svc.api(`/v1/calls/${rec.callId}/recording`, { method: 'DELETE' })).status).toBe(404);
  });
});
