/** The recorder with a controlled clock: channels, placement, cuts and the stored WAV. */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ulawEncode } from '../../../src/core/audio/g711';
import { CallRecorder } from '../../../src/recording/recorder';
import { DirRecordingStore } from '../../../src/recording/store';
import { createLogger } from '../../../src/logger';
import type { ServerEvent } from '../../../src/contracts/realtime';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rec-unit-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const tone = (n: number, amp = 8000, period = 48) => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * i) / period)));
const b64 = (pcm: Int16Array) => Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
const ev = (e: Record<string, unknown>) => ({ event_id: 'event_1', ...e }) as unknown as ServerEvent;
const delta = (item: string, pcm: Int16Array) => ev({ type: 'response.audio.delta', response_id: 'resp_1', item_id: item, output_index: 0, content_index: 0, delta: b64(pcm) });

function channels(wav: Buffer) {
  expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
  expect(wav.readUInt16LE(22)).toBe(2);
  expect(wav.readUInt32LE(24)).toBe(24_000);
  const frames = wav.readUInt32LE(40) / 4;
  const s = new Int16Array(wav.buffer, wav.byteOffset + 44, frames * 2);
  return { left: s.filter((_, i) => i % 2 === 0), right: s.filter((_, i) => i % 2 === 1) };
}
const peak = (s: Int16Array) => s.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function recorder(clock: { ms: number }, inputFormat: 'pcm16' | 'g711_ulaw' = 'pcm16') {
  const store = new DirRecordingStore(dir);
  const rec = new CallRecorder({ callId: 'call_unit1', store, tmpDir: join(dir, '.tmp'), log: createLogger('silent'), inputFormat, outputFormat: 'pcm16', now: () => clock.ms });
  return { rec, store };
}

describe('CallRecorder', () => {
  it('records G.711 caller audio at 24 kHz on the left and the agent on the right, cut at barge-in', async () => {
    await import('node:fs/promises').then((f) => f.mkdir(join(dir, '.tmp')));
    const clock = { ms: 0 };
    const { rec, store } = recorder(clock, 'g711_ulaw');
    // The caller speaks for 0.5 s (25 chunks of 20 ms at 8 kHz, on time).
    const speech8k = tone(4000, 8000, 16);
    for (let i = 0; i < 25; i++) {
      clock.ms += 20;
      rec.caller(ulawEncode(speech8k.subarray(i * 160, (i + 1) * 160)));
    }
    // At 1 s the agent sends 2 s of audio at once; the caller barges in at 1.5 s.
    clock.ms = 1000;
    rec.serverEvent(delta('item_a', tone(48_000)));
    clock.ms = 1500;
    rec.serverEvent(ev({ type: 'input_audio_buffer.speech_started', audio_start_ms: 1500, item_id: 'item_u' }));
    // More caller audio at 1.5 s - 2 s, then the call ends at 3 s with a last silent chunk.
    for (let i = 0; i < 25; i++) {
      clock.ms = 1500 + (i + 1) * 20;
      rec.caller(ulawEncode(speech8k.subarray(i * 160, (i + 1) * 160)));
    }
    clock.ms = 3000;
    rec.caller(ulawEncode(new Int16Array(160)));
    await rec.finish();
    const got = await store.get('call_unit1');
    expect(got).not.toBeNull();
    const wav = await readFile(join(dir, 'call_unit1.wav'));
    got!.body.destroy();
    const { left, right } = channels(wav);
    expect(left.length).toBe(3000 * 24); // the caller's clock ran to 3 s
    expect(peak(left.subarray(480, 11_500))).toBeGreaterThan(5000); // spoke 0 - 0.5 s
    expect(peak(left.subarray(12_500, 35_000))).toBe(0); // silence until 1.5 s
    expect(peak(left.subarray(36_500, 47_500))).toBeGreaterThan(5000); // spoke again 1.5 - 2 s
    expect(peak(right.subarray(0, 24_000))).toBe(0); // the agent had not spoken yet
    expect([...right.subarray(24_000, 36_000)]).toEqual([...tone(12_000)]); // what was heard, exactly
    expect(peak(right.subarray(36_000))).toBe(0); // nothing after the barge-in
    expect(await readdir(join(dir, '.tmp'))).toEqual([]); // the channel files are gone
  });

  it('cuts an item to the audio_end_ms the client reports', async () => {
    await import('node:fs/promises').then((f) => f.mkdir(join(dir, '.tmp')));
    const clock = { ms: 0 };
    const { rec } = recorder(clock);
    rec.serverEvent(delta('item_a', tone(24_000)));
    rec.serverEvent(delta('item_a', tone(24_000)));
    clock.ms = 1200;
    rec.serverEvent(ev({ type: 'conversation.item.truncated', item_id: 'item_a', content_index: 0, audio_end_ms: 1100 }));
    await rec.finish();
    const { right } = channels(await readFile(join(dir, 'call_unit1.wav')));
    expect(right.length).toBe(1100 * 24);
    expect(peak(right)).toBeGreaterThan(5000);
  });

  it('cuts what was still to play when a live call ends, and keeps it for an HTTP call', async () => {
    await import('node:fs/promises').then((f) => f.mkdir(join(dir, '.tmp')));
    for (const live of [true, false]) {
      const clock = { ms: 0 };
      const rec = new CallRecorder({ callId: `call_end${live}`, store: new DirRecordingStore(dir), tmpDir: join(dir, '.tmp'), log: createLogger('silent'), inputFormat: 'pcm16', outputFormat: 'pcm16', now: () => clock.ms, live });
      rec.serverEvent(delta('item_a', tone(48_000))); // 2 s sent at once
      clock.ms = 500; // the call ends half a second in
      await rec.finish();
      const { right } = channels(await readFile(join(dir, `call_end${live}.wav`)));
      expect(right.length).toBe(live ? 12_000 : 48_000);
    }
  });

  it('stores nothing and leaves no files when the channel files cannot be written', async () => {
    const clock = { ms: 0 };
    const { rec, store } = recorder(clock); // no .tmp directory: the writes fail
    rec.caller(new Uint8Array(4800));
    await rec.finish();
    expect(await store.get('call_unit1')).toBeNull();
  });
});
