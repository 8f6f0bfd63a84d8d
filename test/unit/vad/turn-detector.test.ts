import { describe, expect, it } from 'vitest';
import { InputDecoder } from '../../../src/core/audio/formats';
import { pcm16ToBytes } from '../../../src/core/audio/pcm';
import { resample } from '../../../src/core/audio/resample';
import { MAX_UTTERANCE_MS, TurnDetector, type TurnEvent } from '../../../src/core/vad/turn-detector';
import { loadManifest, loadWavFixture } from '../../fixtures/index';
import { cat, silence, voice } from './signals';

function feed(td: TurnDetector, signal: Int16Array, chunk = 320): TurnEvent[] {
  const out: TurnEvent[] = [];
  for (let at = 0; at < signal.length; at += chunk) out.push(...td.push(signal.subarray(at, at + chunk)));
  return out;
}

describe('TurnDetector', () => {
  it('hands over each utterance with exactly the audio from audioStartMs to audioEndMs', () => {
    const { pcm } = loadWavFixture('multi_clean_16k.wav');
    const events = feed(new TurnDetector({}), pcm);
    const stops = events.filter((e) => e.type === 'speech_stopped');
    expect(stops.length).toBe(loadManifest()['multi_clean_16k.wav']!.segments.length);
    events.forEach((e, i) => {
      if (e.type !== 'speech_stopped') return;
      const start = events[i - 1];
      expect(start?.type).toBe('speech_started');
      const startMs = start?.type === 'speech_started' ? start.audioStartMs : NaN;
      expect(e.audio).toEqual(pcm.subarray(startMs * 16, e.audioEndMs * 16));
    });
  });

  it("hands over a turn intact when every chunk comes in the decoder's reused buffer, as chained input feeds it", () => {
    // The chained input pushes InputDecoder.pushView chunks: one buffer, overwritten by each
    // decode. The turn's audio must be what an owned copy of every chunk gives.
    const wire = pcm16ToBytes(resample(cat(silence(400), voice(1200, -20), silence(900)), 16000, 24000));
    const turns = (decode: (d: InputDecoder, b: Uint8Array) => Int16Array): Int16Array[] => {
      const dec = new InputDecoder('pcm16', 16000);
      const td = new TurnDetector({});
      const audio: Int16Array[] = [];
      for (let at = 0; at < wire.length; at += 960) {
        for (const e of td.push(decode(dec, wire.subarray(at, at + 960)))) if (e.type === 'speech_stopped') audio.push(e.audio);
      }
      return audio;
    };
    const owned = turns((d, b) => d.push(b));
    expect(owned.length).toBe(1);
    expect(turns((d, b) => d.pushView(b))).toEqual(owned);
  });

  it('keeps no reference to a pushed chunk: overwriting it afterwards changes nothing', () => {
    const signal = cat(silence(400), voice(1200, -20), silence(900));
    const td = new TurnDetector({});
    const chunk = new Int16Array(320);
    const stops: Int16Array[] = [];
    for (let at = 0; at < signal.length; at += 320) {
      chunk.set(signal.subarray(at, at + 320));
      for (const e of td.push(chunk)) if (e.type === 'speech_stopped') stops.push(e.audio);
      chunk.fill(12345);
    }
    expect(stops.length).toBe(1);
    expect(stops[0]).toEqual(feed(new TurnDetector({}), signal).flatMap((e) => (e.type === 'speech_stopped' ? [e.audio] : []))[0]);
  });

  it('buffers without a VAD until a manual commit, which returns everything once', () => {
    const td = new TurnDetector(null);
    const signal = cat(silence(300), voice(1000, -20), silence(1000));
    expect(feed(td, signal)).toEqual([]);
    expect(td.bufferedMs).toBe(2300);
    const c = td.commit();
    expect(c).toMatchObject({ audioStartMs: 0, audioEndMs: 2300 });
    expect(c?.audio).toEqual(signal);
    expect(td.commit()).toBeNull();
    expect(td.bufferedMs).toBe(0);
  });

  it('starts the next manual commit where the previous one ended', () => {
    const td = new TurnDetector(null);
    td.push(silence(500));
    td.commit();
    td.push(silence(200));
    expect(td.commit()).toMatchObject({ audioStartMs: 500, audioEndMs: 700 });
  });

  it('drops buffered audio and a turn in progress on clear', () => {
    const td = new TurnDetector({});
    const events = feed(td, cat(silence(500), voice(600, -20)));
    expect(events.map((e) => e.type)).toEqual(['speech_started']);
    td.clear();
    expect(td.bufferedMs).toBe(0);
    expect(feed(td, silence(1500))).toEqual([]);
  });

  it('keeps the session timeline when switching from manual turns to the VAD', () => {
    const td = new TurnDetector(null);
    td.push(silence(2000));
    td.updateOptions({ prefixPaddingMs: 0 });
    const events = feed(td, cat(silence(500), voice(800, -20), silence(1000)));
    expect(events[0]?.type === 'speech_started' && events[0].audioStartMs).toBeCloseTo(2500, -1.5);
  });

  it(`ends an utterance at ${MAX_UTTERANCE_MS / 1000} s and starts a new turn if the caller keeps talking`, () => {
    const td = new TurnDetector({});
    // A minute of syllable-like speech (short pauses keep the noise floor down) plus a bit more.
    const syllables = cat(voice(250, -20), silence(60));
    const events: TurnEvent[] = [];
    for (let ms = 0; ms < MAX_UTTERANCE_MS + 3000; ms += 310) events.push(...td.push(syllables));
    const first = events.find((e) => e.type === 'speech_stopped');
    expect(first?.type === 'speech_stopped' && first.audio.length).toBe((MAX_UTTERANCE_MS * 16000) / 1000);
    expect(events.filter((e) => e.type === 'speech_started').length).toBe(2);
  });

  it('accepts one huge push without losing the turn', () => {
    const td = new TurnDetector({});
    const signal = cat(silence(1000), voice(1500, -20), silence(1000));
    const events = td.push(signal);
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
  });
});
