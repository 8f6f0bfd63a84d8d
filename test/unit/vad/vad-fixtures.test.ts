import { describe, expect, it } from 'vitest';
import { resample } from '../../../src/core/audio/resample';
import { Vad, VAD_DEFAULTS, type VadEvent } from '../../../src/core/vad/vad';
import { loadManifest, loadWavFixture } from '../../fixtures/index';

const PAD = VAD_DEFAULTS.prefixPaddingMs;
const SILENCE = VAD_DEFAULTS.silenceDurationMs;

/** Default VAD over a fixture (resampled to 16 kHz), fed in 20 ms chunks. */
function detect(name: string): { onsets: number[]; ends: number[]; events: VadEvent[] } {
  const { rate, pcm } = loadWavFixture(name);
  const audio = rate === 16000 ? pcm : resample(pcm, rate, 16000);
  const vad = new Vad();
  const events: VadEvent[] = [];
  for (let at = 0; at < audio.length; at += 320) events.push(...vad.push(audio.subarray(at, at + 320)));
  // Undo the protocol's padding to compare with the true speech boundaries.
  const onsets = events.flatMap((e) => (e.type === 'speech_started' ? [e.audioStartMs + PAD] : []));
  const ends = events.flatMap((e) => (e.type === 'speech_stopped' ? [e.audioEndMs - SILENCE] : []));
  return { onsets, ends, events };
}

const manifest = loadManifest();
const withSpeech = Object.entries(manifest).filter(([n, f]) => n.endsWith('.wav') && f.segments.length > 0);
const noSpeech = Object.entries(manifest).filter(([n, f]) => n.endsWith('.wav') && f.segments.length === 0);

describe('Vad on the spoken fixtures (default server_vad parameters)', () => {
  it.each(withSpeech)('finds one turn per utterance in %s', (name, info) => {
    const { events } = detect(name);
    expect(events.map((e) => e.type)).toEqual(info.segments.flatMap(() => ['speech_started', 'speech_stopped']));
  });

  it.each(withSpeech.filter(([, f]) => f.noise === 'none'))('places turn boundaries within 40 ms of the true speech in clean %s', (name, info) => {
    const { onsets, ends } = detect(name);
    info.segments.forEach((seg, i) => {
      expect(Math.abs(onsets[i]! - seg.startMs)).toBeLessThanOrEqual(40);
      expect(Math.abs(ends[i]! - seg.endMs)).toBeLessThanOrEqual(40);
    });
  });

  // In noise the quiet edges of words (a soft "wh", a trailing "s") drown: onsets come late and ends early.
  it.each(withSpeech.filter(([, f]) => f.noise !== 'none'))('places turn boundaries within tolerance in noisy %s', (name, info) => {
    const { onsets, ends } = detect(name);
    info.segments.forEach((seg, i) => {
      expect(onsets[i]! - seg.startMs).toBeGreaterThanOrEqual(-50);
      expect(onsets[i]! - seg.startMs).toBeLessThanOrEqual(250);
      expect(ends[i]! - seg.endMs).toBeGreaterThanOrEqual(-150);
      expect(ends[i]! - seg.endMs).toBeLessThanOrEqual(50);
    });
  });

  it('keeps the padded turn audio around all of the speech at every noise level', () => {
    for (const [name, info] of withSpeech) {
      const { events } = detect(name);
      info.segments.forEach((seg, i) => {
        const start = events[2 * i];
        const stop = events[2 * i + 1];
        expect(start?.type === 'speech_started' && start.audioStartMs).toBeLessThanOrEqual(seg.startMs);
        expect(stop?.type === 'speech_stopped' && stop.audioEndMs).toBeGreaterThanOrEqual(seg.endMs);
      });
    }
  });

  it.each(noSpeech)('finds no turn in %s', (name) => {
    expect(detect(name).events).toEqual([]);
  });
});
