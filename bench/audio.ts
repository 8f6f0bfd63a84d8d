/**
 * Audio core benchmark: node --expose-gc --import tsx bench/audio.ts   (writes bench/out/audio.json)
 *
 * 1. Throughput of the gateway's input path as chained mode runs it (src/modes/chained/input.ts):
 *    the client's wire bytes in 20 ms chunks → InputDecoder (src/core/audio/formats.ts, to 16 kHz)
 *    → TurnDetector.push (the utterance ring + the VAD) — as a multiple of real time on one core,
 *    for a pcm16 24 kHz client and a G.711 μ-law 8 kHz one (Twilio); and the heap it leaves per
 *    chunk (with --expose-gc). The kernels on their own (Resampler.processInto, Vad.push) too.
 * 2. Endpointing delay per utterance over the fixtures: when speech_stopped
 *    is emitted (stream position, 20 ms chunks) minus the true end of speech
 *    minus silence_duration_ms. Negative = the turn ended before the last
 *    quiet phoneme; the turn's audio still covers it (audioEndMs includes the
 *    silence duration).
 * 3. Accuracy: onset/offset errors against the manifest, missed and extra
 *    turns, false turns in noise-only audio.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputDecoder, type AudioFormat } from '../src/core/audio/formats';
import { ulawEncode } from '../src/core/audio/g711';
import { resample, Resampler } from '../src/core/audio/resample';
import { TurnDetector } from '../src/core/vad/turn-detector';
import { Vad, VAD_DEFAULTS } from '../src/core/vad/vad';
import { loadManifest, loadWavFixture } from '../test/fixtures/index';
import { machine, percentile } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'audio.json');
const PAD = VAD_DEFAULTS.prefixPaddingMs;
const SIL = VAD_DEFAULTS.silenceDurationMs;
const manifest = loadManifest();
const wavs = Object.entries(manifest).filter(([n]) => n.endsWith('.wav'));
const to16k = (name: string): Int16Array => {
  const { rate, pcm } = loadWavFixture(name);
  return rate === 16000 ? pcm : resample(pcm, rate, 16000);
};

/** How the chained input decodes a chunk (what src/modes/chained/input.ts calls). */
const gatewayDecode = (d: InputDecoder, bytes: Uint8Array): Int16Array => d.pushView(bytes);
/** The decoder's copying form (a chunk the caller may keep; what the recorder uses). */
const ownedDecode = (d: InputDecoder, bytes: Uint8Array): Int16Array => d.push(bytes);

// ---- 1. throughput -------------------------------------------------------
/** One measured configuration: a loop over the whole audio that returns the events it saw. */
interface Path {
  name: string;
  /** A fresh pipeline (decoder, detector…) and its loop over every chunk. */
  make: () => () => number;
}

interface PathResult {
  name: string;
  xRealTime: number;
  /** Least heap growth over a warmed-up pass, per 20 ms chunk (null without --expose-gc). */
  heapBytesPerChunk: number | null;
  heapKbPerPass: number | null;
  /** What the loop counted in one pass: turns ended (gateway rows) or VAD events (kernel rows). */
  eventsPerPass: number;
}

function throughput(): { seconds: number; chunks: number; paths: PathResult[] } {
  // ~120 s of speech and noise: every fixture, concatenated, repeated.
  const parts = wavs.map(([n]) => to16k(n));
  const one16 = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    one16.set(p, at);
    at += p.length;
  }
  const reps = Math.ceil((120 * 16000) / one16.length);
  const audio16 = new Int16Array(one16.length * reps);
  for (let r = 0; r < reps; r++) audio16.set(one16, r * one16.length);
  const audio24 = resample(audio16, 16000, 24000);
  const chunks = Math.floor(audio16.length / 320);
  const seconds = chunks * 0.02;

  // The wire chunks, made up front (in the gateway the WebSocket library hands over each one):
  // 20 ms of pcm16 24 kHz = 960 bytes, of μ-law 8 kHz = 160 bytes.
  const pcmBytes = Buffer.from(audio24.buffer, audio24.byteOffset, audio24.byteLength);
  const ulaw = ulawEncode(resample(audio16, 16000, 8000));
  const wire = (bytes: Uint8Array, per: number): Uint8Array[] => Array.from({ length: chunks }, (_, k) => bytes.subarray(k * per, (k + 1) * per));
  const wireByFormat: Record<'pcm16' | 'g711_ulaw', Uint8Array[]> = { pcm16: wire(pcmBytes, 960), g711_ulaw: wire(ulaw, 160) };
  const in24 = Array.from({ length: chunks }, (_, k) => audio24.subarray(k * 480, (k + 1) * 480));
  const in16 = Array.from({ length: chunks }, (_, k) => audio16.subarray(k * 320, (k + 1) * 320));

  // Each loop is an indexed for in a function run (and so optimised) before the measured pass: a
  // for…of in code that runs once is interpreted, and its iterator results alone were ~40 B per chunk.
  const gateway = (format: 'pcm16' | 'g711_ulaw', decode: (d: InputDecoder, b: Uint8Array) => Int16Array) => (): (() => number) => {
    const dec = new InputDecoder(format as AudioFormat, 16000);
    // VAD_DEFAULTS (min speech 150 ms); the chained input passes the session's options and the business's minimum interruption.
    const td = new TurnDetector({ ...VAD_DEFAULTS });
    const w = wireByFormat[format];
    return () => {
      let events = 0;
      for (let k = 0; k < w.length; k++) {
        const pcm = decode(dec, w[k]!);
        if (pcm.length === 0) continue;
        const evs = td.push(pcm);
        for (let i = 0; i < evs.length; i++) if (evs[i]!.type === 'speech_stopped') events++;
      }
      return events;
    };
  };
  const kernels = (doResample: boolean, doVad: boolean) => (): (() => number) => {
    const rs = new Resampler(24000, 16000);
    const vad = new Vad();
    const out = new Int16Array(rs.maxOutput(480));
    const outViews = Array.from({ length: out.length + 1 }, (_, n) => out.subarray(0, n));
    return () => {
      let events = 0;
      for (let k = 0; k < in24.length; k++) {
        if (doResample) {
          const n = rs.processInto(in24[k]!, out);
          if (doVad) events += vad.push(outViews[n]!).length;
        } else events += vad.push(in16[k]!).length;
      }
      return events;
    };
  };
  const paths: Path[] = [
    { name: 'gateway input pcm16 24 kHz: InputDecoder → TurnDetector (as chained input runs it)', make: gateway('pcm16', gatewayDecode) },
    { name: 'gateway input G.711 μ-law 8 kHz: InputDecoder → TurnDetector', make: gateway('g711_ulaw', gatewayDecode) },
    { name: 'pcm16 24 kHz with the copying decode (InputDecoder.push) → TurnDetector', make: gateway('pcm16', ownedDecode) },
    { name: 'kernels: Resampler.processInto 24k→16k → Vad.push', make: kernels(true, true) },
    { name: 'kernel: Resampler.processInto 24k→16k alone', make: kernels(true, false) },
    { name: 'kernel: Vad.push alone (16 kHz)', make: kernels(false, true) },
  ];

  const gc = (globalThis as { gc?: () => void }).gc;
  const results = paths.map((p): PathResult => {
    // Speed: best of 5 fresh pipelines (after one warm-up), each over the whole audio.
    p.make()();
    let best = 0;
    for (let k = 0; k < 5; k++) {
      const loop = p.make();
      const t0 = performance.now();
      loop();
      best = Math.max(best, seconds / ((performance.now() - t0) / 1000));
    }
    const eventsPerPass = p.make()();
    if (!gc) return { name: p.name, xRealTime: best, heapBytesPerChunk: null, heapKbPerPass: null, eventsPerPass };
    // Heap: one pipeline, three warm-up passes, then the least growth of three passes (a pass during
    // which V8 (re)compiles something shows that code's heap objects too).
    const loop = p.make();
    let events = loop() + loop() + loop();
    // heapUsed counts every typed array's object; a backing store over 64 B lives outside the heap
    // and is not counted (ArrayBuffer totals are freed concurrently, too noisy to difference here).
    let kb = Infinity;
    for (let k = 0; k < 3; k++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      events += loop();
      kb = Math.min(kb, (process.memoryUsage().heapUsed - before) / 1024);
    }
    if (events === 0 && !p.name.includes('alone')) throw new Error(`no turns in the benchmark audio (${p.name})`);
    return { name: p.name, xRealTime: best, heapKbPerPass: kb, heapBytesPerChunk: (kb * 1024) / chunks, eventsPerPass };
  });
  return { seconds, chunks, paths: results };
}

// ---- 2 + 3. endpointing and accuracy ----------------------------------------
interface FileResult {
  name: string;
  noise: string;
  snrDb: number | null;
  truth: number;
  turns: number;
  onsetErrMs: number[];
  offsetErrMs: number[];
  endpointDelayMs: number[];
}

function accuracy(name: string): FileResult {
  const info = manifest[name]!;
  const audio = to16k(name);
  const vad = new Vad();
  const starts: number[] = [];
  const stops: { audioEndMs: number; emittedMs: number }[] = [];
  for (let at = 0; at < audio.length; at += 320) {
    const end = Math.min(audio.length, at + 320);
    for (const e of vad.push(audio.subarray(at, end))) {
      if (e.type === 'speech_started') starts.push(e.audioStartMs + PAD);
      else stops.push({ audioEndMs: e.audioEndMs, emittedMs: end / 16 });
    }
  }
  const r: FileResult = { name, noise: info.noise, snrDb: info.snrDb, truth: info.segments.length, turns: stops.length, onsetErrMs: [], offsetErrMs: [], endpointDelayMs: [] };
  if (stops.length !== info.segments.length) return r; // misaligned: counted as missed/extra turns only
  info.segments.forEach((seg, i) => {
    r.onsetErrMs.push(starts[i]! - seg.startMs);
    r.offsetErrMs.push(stops[i]!.audioEndMs - SIL - seg.endMs);
    r.endpointDelayMs.push(stops[i]!.emittedMs - seg.endMs - SIL);
  });
  return r;
}

const tp = throughput();
const files = wavs.map(([n]) => accuracy(n));
const speech = files.filter((f) => f.truth > 0);
const noiseOnly = files.filter((f) => f.truth === 0);
const all = (k: 'onsetErrMs' | 'offsetErrMs' | 'endpointDelayMs', fs = speech): number[] => fs.flatMap((f) => f[k]);
const groups = new Map<string, FileResult[]>();
for (const f of speech) {
  const key = f.noise === 'none' ? 'clean' : `${f.noise} ${f.snrDb} dB`;
  groups.set(key, [...(groups.get(key) ?? []), f]);
}

const result = {
  date: new Date().toISOString(),
  machine: machine(),
  node: process.version,
  vadDefaults: VAD_DEFAULTS,
  throughput: tp,
  endpointing: { p50: percentile(all('endpointDelayMs'), 50), p95: percentile(all('endpointDelayMs'), 95), max: Math.max(...all('endpointDelayMs')), n: all('endpointDelayMs').length },
  accuracy: {
    utterances: speech.reduce((a, f) => a + f.truth, 0),
    filesWithWrongTurnCount: speech.filter((f) => f.turns !== f.truth).map((f) => f.name),
    falseTurnsInNoiseOnly: noiseOnly.reduce((a, f) => a + f.turns, 0),
    noiseOnlyFiles: noiseOnly.length,
    byCondition: Object.fromEntries(
      [...groups].map(([k, fs]) => [
        k,
        {
          onsetP50: percentile(all('onsetErrMs', fs), 50),
          onsetMaxAbs: Math.max(...all('onsetErrMs', fs).map(Math.abs)),
          offsetP50: percentile(all('offsetErrMs', fs), 50),
          offsetMaxAbs: Math.max(...all('offsetErrMs', fs).map(Math.abs)),
        },
      ]),
    ),
  },
  files,
};

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 1));

const f0 = (x: number | null): string => (x === null ? '-' : x.toFixed(0));
console.log(`Audio core benchmark (${machine()}, ${f0(tp.seconds)} s of audio, ${tp.chunks} chunks of 20 ms)\n`);
console.table(
  Object.fromEntries(
    tp.paths.map((p) => [
      p.name,
      {
        'x real time': f0(p.xRealTime),
        'heap B / chunk': p.heapBytesPerChunk === null ? 'run with --expose-gc' : p.heapBytesPerChunk.toFixed(1),
        'heap KiB / pass': p.heapKbPerPass === null ? '-' : p.heapKbPerPass.toFixed(1),
        'turns (VAD events) / pass': p.eventsPerPass,
      },
    ]),
  ),
);
console.log('(heap: least growth over three warmed-up passes, after a GC; it includes what each turn hands over — its events and a copy of its audio)');
console.log(`\nEndpointing delay (emitted speech_stopped − true end − ${SIL} ms), n=${result.endpointing.n}: p50 ${f0(result.endpointing.p50)} ms, p95 ${f0(result.endpointing.p95)} ms, max ${f0(result.endpointing.max)} ms\n`);
console.table(result.accuracy.byCondition);
console.log(
  `turn count right in ${speech.length - result.accuracy.filesWithWrongTurnCount.length}/${speech.length} speech files (${result.accuracy.utterances} utterances); ` +
    `false turns in noise-only audio: ${result.accuracy.falseTurnsInNoiseOnly} over ${noiseOnly.length} files`,
);
console.log(`\nwrote ${OUT}`);
