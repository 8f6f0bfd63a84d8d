import { describe, expect, it } from 'vitest';
import { Vad, type VadEvent, type VadOptions } from '../../../src/core/vad/vad';
import { loadManifest, loadWavFixture } from '../../fixtures/index';
import { cat, mix, noise, silence, voice } from './signals';

/** Run a signal through a fresh Vad in chunks; returns events with the stream position (ms) at emission. */
function run(signal: Int16Array, opts?: VadOptions, chunk = 320): (VadEvent & { atMs: number })[] {
  const vad = new Vad(opts);
  const out: (VadEvent & { atMs: number })[] = [];
  for (let at = 0; at < signal.length; at += chunk) {
    const end = Math.min(signal.length, at + chunk);
    for (const ev of vad.push(signal.subarray(at, end))) out.push({ ...ev, atMs: end / 16 });
  }
  return out;
}

describe('Vad', () => {
  it('reports nothing for digital silence', () => {
    expect(run(silence(3000))).toEqual([]);
  });

  it('reports one turn for a voice in silence, with padding before and silence after', () => {
    const ev = run(cat(silence(1000), voice(1200, -20), silence(1500)));
    expect(ev.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
    const [start, stop] = ev;
    expect(start?.type === 'speech_started' && start.audioStartMs).toBeCloseTo(1000 - 300, -1.5);
    expect(stop?.type === 'speech_stopped' && stop.audioEndMs).toBeCloseTo(2200 + 500, -1.5);
  });

  it('emits speech_started only once minSpeechMs of speech is confirmed, backdated to the onset', () => {
    const ev = run(cat(silence(1000), voice(1000, -20), silence(1000)), { minSpeechMs: 200, prefixPaddingMs: 0 }, 160);
    const start = ev[0]!;
    expect(start.type).toBe('speech_started');
    expect(start.atMs).toBeGreaterThanOrEqual(1200);
    expect(start.atMs).toBeLessThanOrEqual(1260);
    expect(start.type === 'speech_started' && start.audioStartMs).toBeLessThanOrEqual(1010);
  });

  it('emits speech_stopped when silence_duration_ms of silence has passed, not before', () => {
    const ev = run(cat(silence(500), voice(1000, -20), silence(2000)), { silenceDurationMs: 800 }, 160);
    const stop = ev[1]!;
    expect(stop.type === 'speech_stopped' && stop.audioEndMs).toBe(stop.atMs);
    expect(stop.atMs).toBeGreaterThanOrEqual(1500 + 800 - 30);
    expect(stop.atMs).toBeLessThanOrEqual(1500 + 800 + 30);
  });

  it('clamps audioStartMs at zero when speech begins at once', () => {
    // Real speech from its first sample: the floor starts at speech level and drops in the first pause.
    const { pcm } = loadWavFixture('hours_16k.wav');
    const startsTalking = pcm.subarray(loadManifest()['hours_16k.wav']!.segments[0]!.startMs * 16);
    const ev = run(cat(startsTalking, silence(1000)));
    expect(ev[0]).toMatchObject({ type: 'speech_started', audioStartMs: 0 });
    expect(ev.length).toBe(2);
  });

  it('ignores a 5 ms click and a 100 ms cough-like burst', () => {
    const signal = mix(noise(4000, -60), cat(silence(1000), noise(5, -6, 7), silence(1500), noise(100, -12, 9)));
    expect(run(signal)).toEqual([]);
  });

  it('starts a turn for the same burst once it lasts longer than minSpeechMs', () => {
    const signal = cat(silence(1000), voice(100, -20), silence(1000));
    expect(run(signal, { minSpeechMs: 50 }).map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
  });

  it('adapts to steady background noise and still hears a voice above it', () => {
    const bg = noise(6000, -40, 3);
    expect(run(bg)).toEqual([]);
    const ev = run(mix(bg, cat(silence(3000), voice(1000, -22))));
    expect(ev.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
    expect(ev[0]!.type === 'speech_started' && ev[0]!.audioStartMs + 300).toBeGreaterThanOrEqual(2950);
  });

  it('ends the false turn a noise step causes, then settles on the new floor', () => {
    const ev = run(cat(silence(1000), noise(8000, -30, 5)));
    expect(ev.length).toBeLessThanOrEqual(2);
    if (ev.length) expect(ev.at(-1)!.type).toBe('speech_stopped');
  });

  it('is less sensitive at a higher threshold (a voice 10 dB above the noise)', () => {
    const signal = mix(noise(4000, -40, 11), cat(silence(1500), voice(1000, -30)));
    expect(run(signal, { threshold: 0.1 }).length).toBe(2);
    expect(run(signal, { threshold: 1 })).toEqual([]);
  });

  it('gives the same events whatever the chunk size', () => {
    const signal = mix(noise(5000, -45, 2), cat(silence(700), voice(900, -20), silence(800), voice(600, -24)));
    const strip = (evs: ReturnType<typeof run>): VadEvent[] => evs.map(({ atMs: _atMs, ...e }) => e);
    const reference = strip(run(signal, undefined, 160));
    expect(reference.length).toBe(4);
    for (const chunk of [1, 37, 320, 4801, signal.length]) expect(strip(run(signal, undefined, chunk))).toEqual(reference);
  });

  it('counts time from the first sample ever pushed, across turns', () => {
    const ev = run(cat(silence(500), voice(500, -20), silence(1000), voice(500, -20), silence(1000)), { prefixPaddingMs: 0 });
    const starts = ev.filter((e) => e.type === 'speech_started').map((e) => (e.type === 'speech_started' ? e.audioStartMs : 0));
    expect(starts[0]).toBeCloseTo(500, -1.5);
    expect(starts[1]).toBeCloseTo(2000, -1.5);
  });

  it('drops a turn in progress on reset without an event', () => {
    const vad = new Vad();
    vad.push(cat(silence(500), voice(500, -20)));
    expect(vad.speaking).toBe(true);
    vad.reset();
    expect(vad.speaking).toBe(false);
    expect(vad.push(silence(1000))).toEqual([]);
  });

  it('rejects a threshold outside 0..1', () => {
    expect(() => new Vad({ threshold: 1.5 })).toThrow(RangeError);
  });
});
