import { describe, expect, it } from 'vitest';
import { concatPcm16 } from '../../../src/core/audio/pcm';
import { Resampler, resample } from '../../../src/core/audio/resample';

function tone(hz: number, rate: number, seconds: number, amp = 10000): Int16Array {
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)));
}

/** Level change in dB, ignoring the edges (filter start-up). */
function gainDb(input: Int16Array, output: Int16Array): number {
  const level = (s: Int16Array): number => {
    const edge = Math.floor(s.length / 10);
    let sum = 0;
    for (let i = edge; i < s.length - edge; i++) sum += s[i]! * s[i]!;
    return Math.sqrt(sum / (s.length - 2 * edge));
  };
  return 20 * Math.log10(Math.max(1e-9, level(output)) / level(input));
}

const PAIRS: [number, number][] = [
  [24000, 16000],
  [16000, 24000],
  [8000, 16000],
  [16000, 8000],
  [48000, 16000],
  [48000, 8000],
  [24000, 8000],
  [8000, 24000],
  [16000, 48000],
];

describe('Resampler', () => {
  it.each(PAIRS)('keeps a 1 kHz tone at its level from %i Hz to %i Hz', (from, to) => {
    const x = tone(1000, from, 0.5);
    expect(Math.abs(gainDb(x, resample(x, from, to)))).toBeLessThan(0.1);
  });

  it.each(PAIRS)('produces the expected number of samples from %i Hz to %i Hz', (from, to) => {
    expect(resample(new Int16Array(from), from, to).length).toBe(to);
  });

  it.each([
    [24000, 16000, 10000],
    [16000, 8000, 6000],
    [48000, 8000, 7000],
    [48000, 16000, 12000],
  ])('attenuates a tone above the new Nyquist frequency (%i → %i Hz, %i Hz tone) by 40 dB or more', (from, to, hz) => {
    const x = tone(hz, from, 0.5);
    expect(gainDb(x, resample(x, from, to))).toBeLessThan(-40);
  });

  it.each([
    [24000, 16000],
    [48000, 16000],
    [44100, 16000],
  ])('keeps 60 dB or more of stopband from 500 Hz above the new Nyquist frequency (%i → %i Hz)', (from, to) => {
    for (const hz of [8500, 9000, 10000, 11000, 12000, 15000, 20000]) {
      if (hz >= from / 2) continue;
      const x = tone(hz, from, 0.5);
      expect(gainDb(x, resample(x, from, to)), `${hz} Hz`).toBeLessThan(-60);
    }
  });

  it('passes speech to 16 kHz flat to 3.4 kHz and within 1 dB to 5 kHz (the documented trade for a short filter)', () => {
    for (const from of [24000, 48000]) {
      for (const hz of [300, 1000, 2000, 3400]) expect(Math.abs(gainDb(tone(hz, from, 0.5), resample(tone(hz, from, 0.5), from, 16000)))).toBeLessThan(0.05);
      const x = tone(5000, from, 0.5);
      expect(Math.abs(gainDb(x, resample(x, from, 16000)))).toBeLessThan(1);
    }
  });

  it('passes the telephone band (300–3,400 Hz) within 1.5 dB between 8 kHz and 16 kHz', () => {
    for (const hz of [300, 1000, 2000, 3000, 3400]) {
      const up = tone(hz, 8000, 0.5);
      const down = tone(hz, 16000, 0.5);
      expect(Math.abs(gainDb(up, resample(up, 8000, 16000)))).toBeLessThan(1.5);
      expect(Math.abs(gainDb(down, resample(down, 16000, 8000)))).toBeLessThan(1.5);
    }
  });

  it('gives identical output however the input is chunked', () => {
    const x = tone(440, 24000, 0.3);
    const whole = resample(x, 24000, 16000);
    for (const sizes of [[1], [7, 13], [480], [3, 1000, 1]]) {
      const r = new Resampler(24000, 16000);
      const parts: Int16Array[] = [];
      for (let at = 0, k = 0; at < x.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(r.process(x.subarray(at, at + n)));
        at += n;
      }
      parts.push(r.flush());
      expect(concatPcm16(parts)).toEqual(whole);
    }
  });

  it.each(PAIRS)('gives identical output for noise however it is chunked, from %i Hz to %i Hz', (from, to) => {
    // Broadband input and chunk sizes of every residue mod 3, so the paired 3:2 fast path starts and
    // stops on both phases and falls back to single outputs at chunk edges.
    let seed = 12345;
    const x = Int16Array.from({ length: from / 5 }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed % 60001) - 30000;
    });
    const whole = resample(x, from, to);
    for (const sizes of [[2], [3, 5, 1], [479, 480, 481], [1000]]) {
      const r = new Resampler(from, to);
      const out = new Int16Array(r.maxOutput(1000));
      const parts: Int16Array[] = [];
      for (let at = 0, k = 0; at < x.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(out.slice(0, r.processInto(x.subarray(at, at + n), out)));
        at += n;
      }
      parts.push(r.flush());
      expect(concatPcm16(parts)).toEqual(whole);
    }
  });

  it('keeps the signal time-aligned (an impulse lands at the same instant)', () => {
    const x = new Int16Array(2400);
    x[1200] = 30000;
    const y = resample(x, 24000, 16000);
    expect(y.indexOf(Math.max(...y))).toBe(800);
  });

  it('is the identity when the rates are equal', () => {
    const x = Int16Array.of(1, -2, 3);
    const r = new Resampler(16000, 16000);
    expect(r.process(x)).toEqual(x);
    expect(r.flush().length).toBe(0);
  });

  it('writes into a caller buffer without allocating via processInto', () => {
    const r = new Resampler(24000, 16000);
    const out = new Int16Array(r.maxOutput(480));
    let total = 0;
    for (let i = 0; i < 10; i++) total += r.processInto(tone(440, 24000, 0.02), out);
    expect(total + r.flush().length).toBe(3200);
  });

  it('rejects rates that are not positive integers', () => {
    expect(() => new Resampler(0, 16000)).toThrow(RangeError);
    expect(() => new Resampler(16000.5, 8000)).toThrow(RangeError);
  });
});
