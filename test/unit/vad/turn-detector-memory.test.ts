import { describe, expect, it } from 'vitest';
import { TurnDetector, type TurnEvent } from '../../../src/core/vad/turn-detector';
import { cat, silence, voice } from './signals';

function feed(td: TurnDetector, signal: Int16Array, chunk = 320): TurnEvent[] {
  const out: TurnEvent[] = [];
  for (let at = 0; at < signal.length; at += chunk) out.push(...td.push(signal.subarray(at, at + chunk)));
  return out;
}

describe('TurnDetector memory', () => {
  it('keeps an idle call under 256 KB of audio buffer however long it lasts', () => {
    const td = new TurnDetector({});
    feed(td, silence(60_000));
    expect(td.bufferBytes).toBeLessThanOrEqual(256 * 1024);
  });

  it('grows for a long utterance, hands it over whole, then shrinks back', () => {
    const td = new TurnDetector({});
    const small = td.bufferBytes;
    const events = feed(td, cat(silence(500), voice(20_000, -20), silence(1_000)));
    const stop = events.find((e) => e.type === 'speech_stopped');
    expect(stop?.type === 'speech_stopped' && stop.audio.length).toBeGreaterThanOrEqual(20_000 * 16);
    expect(td.bufferBytes).toBe(small);
  });

  it('keeps a long manual buffer whole until it is committed', () => {
    const td = new TurnDetector(null);
    feed(td, voice(12_000, -20));
    const c = td.commit();
    expect(c?.audio.length).toBe(12_000 * 16);
    expect(td.bufferBytes).toBeLessThanOrEqual(256 * 1024);
  });
});
