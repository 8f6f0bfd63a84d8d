/**
 * Deterministic, non-silent "speech" for the fake (tests need exact, cheap durations; the local
 * provider of `npm start` speaks real words with eSpeak NG instead): a voiced-like tone (fundamental plus
 * harmonics) under a syllable-rate amplitude envelope, pitched per voice. Also the few
 * audio conversions the fake needs (G.711, 24k↔8k, WAV).
 */

import { bufferToSamples, PCM_RATE, samplesToBuffer, wavHeader } from '../../src/local-provider/pcm';

export { bufferToSamples, PCM_RATE, samplesToBuffer, wavDurationSeconds, wavHeader } from '../../src/local-provider/pcm';
export const G711_RATE = 8_000;

const VOICE_PITCH_HZ: Record<string, number> = {
  alloy: 150, ash: 120, ballad: 135, coral: 205, echo: 110, fable: 165, nova: 215,
  onyx: 95, sage: 190, shimmer: 230, verse: 125, marin: 200, cedar: 105,
};

/** Fundamental frequency for a voice; unknown voices get a stable pitch from their name. */
export function voicePitch(voice: string): number {
  const known = VOICE_PITCH_HZ[voice];
  if (known) return known;
  let hash = 0;
  for (const ch of voice) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return 100 + (hash % 140);
}

export interface SynthOptions {
  voice: string;
  durationMs: number;
  sampleRate?: number;
  /** Peak amplitude 0..1 (default 0.3, about -10 dBFS). */
  amplitude?: number;
}

/** Mono s16 samples. The envelope never drops below 35 %, so VADs see one continuous utterance. */
export function synthesize({ voice, durationMs, sampleRate = PCM_RATE, amplitude = 0.3 }: SynthOptions): Int16Array {
  const count = Math.max(0, Math.round((durationMs * sampleRate) / 1000));
  const samples = new Int16Array(count);
  const f0 = voicePitch(voice);
  const fade = Math.min(Math.round(sampleRate * 0.01), Math.floor(count / 2));
  for (let i = 0; i < count; i++) {
    const t = i / sampleRate;
    const vibrato = 1 + 0.02 * Math.sin(2 * Math.PI * 5 * t);
    const phase = 2 * Math.PI * f0 * vibrato * t;
    const tone = 0.6 * Math.sin(phase) + 0.25 * Math.sin(2 * phase) + 0.1 * Math.sin(3 * phase) + 0.05 * Math.sin(4 * phase);
    const syllables = 0.35 + 0.65 * Math.abs(Math.sin(Math.PI * 4 * t));
    const edge = fade > 0 ? Math.min(1, i / fade, (count - 1 - i) / fade) : 1;
    samples[i] = Math.round(tone * syllables * edge * amplitude * 32767);
  }
  return samples;
}

/** A plain sine burst, handy for tests that need "someone speaking". */
export function tone(durationMs: number, frequencyHz = 220, amplitude = 0.4, sampleRate = PCM_RATE): Int16Array {
  const count = Math.round((durationMs * sampleRate) / 1000);
  const samples = new Int16Array(count);
  for (let i = 0; i < count; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * frequencyHz * i) / sampleRate) * amplitude * 32767);
  return samples;
}

export function silence(durationMs: number, sampleRate = PCM_RATE): Int16Array {
  return new Int16Array(Math.round((durationMs * sampleRate) / 1000));
}

export function concatSamples(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Root mean square of the samples, 0..1. */
export function rms(samples: Int16Array, from = 0, to = samples.length): number {
  if (to <= from) return 0;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const v = (samples[i] ?? 0) / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / (to - from));
}

/** 24 kHz → 8 kHz by averaging each group of three samples (a crude low-pass is enough here). */
export function downsample24kTo8k(samples: Int16Array): Int16Array {
  const out = new Int16Array(Math.floor(samples.length / 3));
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round(((samples[3 * i] ?? 0) + (samples[3 * i + 1] ?? 0) + (samples[3 * i + 2] ?? 0)) / 3);
  }
  return out;
}

export function upsample8kTo24k(samples: Int16Array): Int16Array {
  const out = new Int16Array(samples.length * 3);
  for (let i = 0; i < samples.length; i++) out.fill(samples[i] ?? 0, 3 * i, 3 * i + 3);
  return out;
}

// --- G.711 (ITU-T reference algorithms) ---

export function ulawEncodeSample(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  magnitude = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return magnitude;
}

export function ulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

export function alawEncodeSample(sample: number): number {
  const sign = sample >= 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), 32767) >> 3;
  let encoded: number;
  if (magnitude < 32) encoded = magnitude >> 1;
  else {
    let exponent = 1;
    while (magnitude >= 64 && exponent < 7) {
      magnitude >>= 1;
      exponent++;
    }
    encoded = (exponent << 4) | ((magnitude >> 1) & 0x0f);
  }
  return (encoded | sign) ^ 0x55;
}

export function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  magnitude = Math.min(magnitude, 32767);
  return sign ? magnitude : -magnitude;
}

export type RealtimeAudioFormat = 'pcm16' | 'g711_ulaw' | 'g711_alaw';

export function formatRate(format: RealtimeAudioFormat): number {
  return format === 'pcm16' ? PCM_RATE : G711_RATE;
}

/** Bytes per millisecond of a realtime audio format. */
export function bytesPerMs(format: RealtimeAudioFormat): number {
  return format === 'pcm16' ? 48 : 8;
}

/** Decodes wire bytes of a realtime format into samples at the format's own rate. */
export function decodeAudio(bytes: Buffer, format: RealtimeAudioFormat): Int16Array {
  if (format === 'pcm16') return bufferToSamples(bytes);
  const decode = format === 'g711_ulaw' ? ulawDecodeSample : alawDecodeSample;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = decode(bytes[i] ?? 0);
  return out;
}

/** Encodes 24 kHz samples into a realtime format's wire bytes. */
export function encodeAudio(samples24k: Int16Array, format: RealtimeAudioFormat): Buffer {
  if (format === 'pcm16') return samplesToBuffer(samples24k);
  const encode = format === 'g711_ulaw' ? ulawEncodeSample : alawEncodeSample;
  const narrow = downsample24kTo8k(samples24k);
  const out = Buffer.alloc(narrow.length);
  for (let i = 0; i < narrow.length; i++) out[i] = encode(narrow[i] ?? 0);
  return out;
}

// --- WAV ---

export function toWav(samples: Int16Array, sampleRate = PCM_RATE): Buffer {
  const data = samplesToBuffer(samples);
  return Buffer.concat([wavHeader(data.length, sampleRate), data]);
}
