/**
 * What recording costs per call: node --expose-gc --import tsx bench/recording.ts [minutes]
 *
 * Replays a call through CallRecorder on a simulated clock, as the call host would see it: the
 * caller's audio in 20 ms chunks (PCM16 24 kHz as from a WebSocket client, or G.711 µ-law 8 kHz as
 * from Twilio), the agent answering 40 % of the time in 100 ms audio deltas sent ahead of real
 * time, a barge-in every fourth answer. Yields to the event loop every simulated second (so the
 * file streams drain as they would in a live gateway). Reports:
 * - hot path: CPU time in the recorder per minute of call (µs per 20 ms caller chunk);
 * - memory: heap + external growth while recording (sampled every simulated second, after GC);
 * - end of call: the time to lay out the channels and write the WAV, and the WAV's size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerEvent } from '../src/contracts/realtime';
import { ulawEncode } from '../src/core/audio/g711';
import { createLogger } from '../src/logger';
import { CallRecorder } from '../src/recording/recorder';
import { DirRecordingStore } from '../src/recording/store';

const minutes = Number(process.argv[2] ?? 5);
const gc = (globalThis as { gc?: () => void }).gc;

function tone(n: number, rate: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 180 * i) / rate) * (0.6 + 0.4 * Math.sin(i / 900))));
}

const mem = () => {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};

async function run(format: 'pcm16' | 'g711_ulaw') {
  const dir = await mkdtemp(join(tmpdir(), 'bench-rec-'));
  const clock = { ms: 0 };
  const rec = new CallRecorder({ callId: 'call_bench', store: new DirRecordingStore(dir), tmpDir: dir, log: createLogger('silent'), inputFormat: format, outputFormat: 'pcm16', now: () => clock.ms });
  const chunk = format === 'pcm16' ? Buffer.from(tone(480, 24_000).buffer) : Buffer.from(ulawEncode(tone(160, 8_000)));
  const agentChunk = Buffer.from(tone(2400, 24_000).buffer).toString('base64'); // 100 ms
  const delta = (item: string) => ({ type: 'response.audio.delta', event_id: 'e', response_id: 'r', item_id: item, output_index: 0, content_index: 0, delta: agentChunk }) as ServerEvent;
  const base = mem();
  let peak = 0;
  let hot = 0n;
  const totalMs = minutes * 60_000;
  let answer = 0;
  for (let t = 0; t < totalMs; t += 20) {
    clock.ms = t;
    const start = process.hrtime.bigint();
    rec.caller(chunk);
    // Every 10 s the agent answers: 4 s of audio sent in the first 400 ms (10× real time).
    const inCycle = t % 10_000;
    if (inCycle >= 6_000 && inCycle < 6_400) {
      const item = `item_${Math.floor(t / 10_000)}`;
      for (let k = 0; k < 5; k++) rec.serverEvent(delta(item));
      if (inCycle === 6_000) answer++;
    }
    if (inCycle === 7_000 && answer % 4 === 0) rec.serverEvent({ type: 'input_audio_buffer.speech_started', event_id: 'e', audio_start_ms: t, item_id: 'u' } as ServerEvent);
    hot += process.hrtime.bigint() - start;
    if (t % 1000 === 0) {
      await new Promise((r) => setImmediate(r));
      if (t % 10_000 === 0) peak = Math.max(peak, mem() - base);
    }
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await rec.finish();
  const finishMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const got = await new DirRecordingStore(dir).get('call_bench');
  got?.body.destroy();
  await rm(dir, { recursive: true, force: true });
  const hotMs = Number(hot) / 1e6;
  return {
    format,
    call_minutes: minutes,
    hot_cpu_ms_per_call_minute: +(hotMs / minutes).toFixed(1),
    hot_us_per_20ms_chunk: +((hotMs * 1000) / (totalMs / 20)).toFixed(2),
    hot_share_of_one_core: `${((hotMs / totalMs) * 100).toFixed(3)} %`,
    peak_memory_growth_kib: Math.round(peak / 1024),
    finish_ms: Math.round(finishMs),
    finish_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    wav_mib: +((got?.size ?? 0) / 1048576).toFixed(1),
  };
}

for (const format of ['pcm16', 'g711_ulaw'] as const) console.log(JSON.stringify(await run(format)));
