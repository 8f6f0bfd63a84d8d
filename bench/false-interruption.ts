/**
 * False-interruption resume delay: npx tsx bench/false-interruption.ts [--runs 10]
 *   (writes bench/out/false-interruption.json)
 *
 * The whole service in-process (gateway + workers, Redis at REDIS_URL or 127.0.0.1:6379, its own
 * prefix) against the fake provider. Per run: a call asks a question; once the long answer's
 * audio flows, the caller's side streams, in real time (20 ms chunks), a 400 ms noise burst and
 * then silence. The fake STT hears nothing in the burst, so the answer resumes. Measured: from
 * the moment the last chunk of noise was sent to the first audio delta of the resumed response.
 * That is silence_duration_ms (the VAD must hear the end of the turn, 500 ms by default) + STT +
 * the gateway's decision + TTS first byte. Two provider profiles: no provider delay (the
 * service's own cost) and STT 300 ms / TTS first byte 200 ms (a fast hosted provider).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { connectCall, newCall, spokenTurn } from '../test/helpers/calls';
import { SIMPLE_BUSINESS, startService } from '../test/helpers/service';
import { arg, machine, percentile, runMain } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'false-interruption.json');
const LONG_ANSWER =
  'Our opening hours are nine to five on weekdays. On Saturdays we open at ten and close at four. ' +
  'On Sundays and public holidays we are closed, but the online shop is always open. Is there anything else?';
const CHUNK_MS = 20;
const CHUNK_BYTES = 24 * CHUNK_MS * 2; // PCM16 24 kHz

function noise(ms: number): Uint8Array {
  const out = new Int16Array(24 * ms);
  let x = 12345;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = ((x >> 8) % 16_000) - 8_000;
  }
  return pcm16ToBytes(out);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const runs = Number(arg('runs', '10'));
  const svc = await startService();
  const profiles = [
    { name: 'no provider delay', delays: {} },
    { name: 'STT 300 ms, TTS first byte 200 ms', delays: { sttMs: 300, ttsFirstByteMs: 200 } },
  ];
  const results: { profile: string; runs: number; failed: number; p50_ms: number | null; p95_ms: number | null; max_ms: number | null; samples: number[] }[] = [];
  try {
    await svc.api('/v1/businesses/bench', { method: 'PUT', json: SIMPLE_BUSINESS });
    const burst = noise(400);
    const silence = new Uint8Array(CHUNK_BYTES);
    for (const profile of profiles) {
      const samples: number[] = [];
      let failed = 0;
      for (let r = 0; r < runs; r++) {
        svc.fake.reset();
        svc.fake.script.delays = { ...profile.delays };
        svc.fake.script.chat.push({ text: LONG_ANSWER });
        svc.fake.script.transcripts.push('What are your opening hours?', '');
        const c = await connectCall(svc, (await newCall(svc, 'bench')).id);
        c.appendAudio(pcm16ToBytes(spokenTurn()));
        let deltas = 0;
        await c.waitFor((e) => e.type === 'response.audio.delta' && ++deltas >= 2);
        const mark = c.events.length;
        let noiseEnd = 0;
        let resumedAt = 0;
        const resumed = c
          .waitFor('response.created', mark, 15_000)
          .then((created) => c.waitFor((e) => e.type === 'response.audio.delta' && e.response_id === created.response.id, mark, 15_000))
          .then(() => (resumedAt = performance.now()))
          .catch(() => undefined);
        for (let i = 0; i < burst.length; i += CHUNK_BYTES) {
          c.appendAudio(burst.subarray(i, i + CHUNK_BYTES));
          noiseEnd = performance.now();
          await sleep(CHUNK_MS);
        }
        // Silence in real time until the answer resumes (the VAD needs it to end the turn), 10 s at most.
        for (let t = 0; t < 10_000 && !resumedAt; t += CHUNK_MS) {
          c.appendAudio(silence);
          await sleep(CHUNK_MS);
        }
        await resumed;
        if (resumedAt) samples.push(Math.round(resumedAt - noiseEnd));
        else failed++;
        c.close();
      }
      const row = { profile: profile.name, runs, failed, p50_ms: percentile(samples, 50), p95_ms: percentile(samples, 95), max_ms: samples.length ? Math.max(...samples) : null, samples };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    await svc.stop();
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2));
}

runMain(import.meta, main);
