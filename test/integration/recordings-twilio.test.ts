/**
 * A recorded phone call: Twilio's media stream (μ-law 8 kHz frames every 20 ms, marks echoed as
 * played). The caller's μ-law audio is on the left at 24 kHz; the agent's answer, which the Twilio
 * transport plays itself (no audio deltas), on the right, up to the hang-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulawEncode } from '../../src/core/audio/g711';
import { loadWavFixture } from '../fixtures';
import { serviceWithAcme, SIMPLE_BUSINESS } from '../helpers/service';

const dir = mkdtempSync(join(tmpdir(), 'recordings-twilio-'));
const svc = serviceWithAcme({ env: { TWILIO_INSECURE_DEV: '1', RECORDINGS_DIR: dir } });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await svc.api('/v1/businesses/phone', { method: 'PUT', json: { ...SIMPLE_BUSINESS, recording: { enabled: true } } });
});

type Msg = { event: string; [k: string]: any };

const rms = (s: Int16Array) => Math.sqrt(s.reduce((a, v) => a + v * v, 0) / Math.max(1, s.length));

describe('a recorded Twilio call', () => {
  it('has the caller on the left and the played answer on the right', async () => {
    const { pcm, rate } = loadWavFixture('hours_8k.wav');
    expect(rate).toBe(8000);
    const ulaw = ulawEncode(pcm);
    const ws = new WebSocket(`${svc.wsUrl}/v1/twilio/media-stream`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const received: Msg[] = [];
    // A second of the answer played: 50 frames came back (Twilio's transport paces them).
    let secondPlayed: (() => void) | null = null;
    const played = new Promise<void>((resolve) => (secondPlayed = resolve));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      received.push(m);
      if (m.event === 'mark') ws.send(JSON.stringify({ event: 'mark', streamSid: 'MZ1', mark: { name: m.mark.name } }));
      if (m.event === 'media' && received.filter((r) => r.event === 'media').length === 50) secondPlayed?.();
    });
    const closed = new Promise((resolve) => ws.once('close', resolve));
    const send = (m: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const callSid = `CA${Math.random().toString(16).slice(2, 14)}`;
    send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    send({ event: 'start', sequenceNumber: '1', streamSid: 'MZ1', start: { streamSid: 'MZ1', accountSid: 'AC1', callSid, tracks: ['inbound'], customParameters: { business_id: 'phone' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } });
    // The line: the caller's words, then silence, a frame every 20 ms (as Twilio sends them).
    let frame = 0;
    const timer = setInterval(() => {
      const f = new Uint8Array(160).fill(0xff);
      f.set(ulaw.subarray(frame * 160, frame * 160 + 160));
      frame++;
      send({ event: 'media', sequenceNumber: String(frame + 1), streamSid: 'MZ1', media: { track: 'inbound', chunk: String(frame), timestamp: String(frame * 20), payload: Buffer.from(f).toString('base64') } });
    }, 20);
    await played;
    send({ event: 'stop', sequenceNumber: String(frame + 2), streamSid: 'MZ1', stop: { accountSid: 'AC1', callSid } });
    await closed;
    clearInterval(timer);

    const list = (await (await svc.api('/v1/calls?business_id=phone')).json()) as { data: { id: string; metadata: Record<string, unknown> }[] };
    const call = list.data.find((c) => c.metadata['call_sid'] === callSid)!;
    const res = await svc.api(`/v1/calls/${call.id}/recording`);
    expect(res.status).toBe(200);
    const wav = Buffer.from(await res.arrayBuffer());
    expect([wav.readUInt16LE(22), wav.readUInt32LE(24)]).toEqual([2, 24_000]);
    const s = new Int16Array(wav.buffer.slice(wav.byteOffset + 44));
    const left = s.filter((_, i) => i % 2 === 0);
    const right = s.filter((_, i) => i % 2 === 1);
    const speechSamples = (ulaw.length / 8000) * 24_000;
    // The caller's words as energy in the first part of the left channel (decoded from μ-law, 24 kHz).
    expect(rms(left.subarray(0, speechSamples))).toBeGreaterThan(300);
    // The agent: nothing while the caller spoke, then its answer; cut at the hang-up (at most what
    // was sent and about what was played: a second or so, not the whole answer).
    const start = right.findIndex((v) => Math.abs(v) > 200);
    expect(start).toBeGreaterThan(speechSamples * 0.8);
    const end = right.findLastIndex((v) => v !== 0);
    expect(rms(right.subarray(start, end))).toBeGreaterThan(300);
    expect(end).toBeLessThan(right.length);
    expect(end - start).toBeGreaterThan(24_000 * 0.5);
  });
});
