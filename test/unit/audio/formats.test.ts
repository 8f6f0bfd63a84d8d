import { describe, expect, it } from 'vitest';
import { bytesPerMs, encodeWav, formatRate, InputDecoder, OutputEncoder, parseWav } from '../../../src/core/audio/formats';
import { alawEncode, ulawEncode } from '../../../src/core/audio/g711';
import { concatPcm16, pcm16ToBytes, rms } from '../../../src/core/audio/pcm';
import { loadWavFixture } from '../../fixtures/index';

function tone(hz: number, rate: number, seconds: number): Int16Array {
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)));
}

describe('session audio formats', () => {
  it('knows the wire rate and byte rate of each format', () => {
    expect([formatRate('pcm16'), bytesPerMs('pcm16')]).toEqual([24000, 48]);
    expect([formatRate('g711_ulaw'), bytesPerMs('g711_ulaw')]).toEqual([8000, 8]);
    expect([formatRate('g711_alaw'), bytesPerMs('g711_alaw')]).toEqual([8000, 8]);
  });

  it('decodes pcm16 client bytes split at odd offsets into 16 kHz audio', () => {
    const bytes = pcm16ToBytes(tone(440, 24000, 0.1));
    const dec = new InputDecoder('pcm16');
    const parts: Int16Array[] = [];
    for (let at = 0; at < bytes.length; at += 333) parts.push(dec.push(bytes.subarray(at, at + 333)));
    parts.push(dec.flush());
    const out = concatPcm16(parts);
    expect(out.length).toBe(1600);
    expect(rms(out)).toBeCloseTo(rms(tone(440, 16000, 0.1)), 2);
  });

  it('keeps each chunk from push intact while later chunks are decoded', () => {
    const bytes = pcm16ToBytes(tone(440, 24000, 0.1));
    const dec = new InputDecoder('pcm16');
    const kept: Int16Array[] = [];
    const copies: Int16Array[] = [];
    for (let at = 0; at < bytes.length; at += 960) {
      const pcm = dec.push(bytes.subarray(at, at + 960));
      kept.push(pcm);
      copies.push(pcm.slice());
    }
    expect(kept).toEqual(copies);
  });

  it('decodes the same samples with pushView, in one buffer that the next chunk overwrites', () => {
    for (const [format, bytes] of [
      ['pcm16', pcm16ToBytes(tone(440, 24000, 0.1))],
      ['g711_ulaw', ulawEncode(tone(440, 8000, 0.1))],
      ['g711_alaw', alawEncode(tone(440, 8000, 0.1))],
    ] as const) {
      const owned = new InputDecoder(format);
      const viewed = new InputDecoder(format);
      const step = format === 'pcm16' ? 333 : 161; // odd pcm16 chunks: a sample split across two
      const views: Int16Array[] = [];
      for (let at = 0; at < bytes.length; at += step) {
        const part = bytes.subarray(at, at + step);
        const view = viewed.pushView(part);
        expect(view).toEqual(owned.push(part));
        views.push(view);
      }
      expect(viewed.flush()).toEqual(owned.flush());
      // Once sized for the chunk (it may grow over the first few), one buffer serves every chunk.
      expect(new Set(views.slice(3).map((v) => v.buffer)).size).toBe(1);
    }
  });

  it('decodes μ-law client bytes into 16 kHz audio', () => {
    const dec = new InputDecoder('g711_ulaw');
    const out = concatPcm16([dec.push(ulawEncode(tone(1000, 8000, 0.1))), dec.flush()]);
    expect(out.length).toBe(1600);
    expect(rms(out)).toBeCloseTo(8000 / 32768 / Math.SQRT2, 2);
  });

  it('encodes 24 kHz TTS audio as 8 kHz A-law bytes for the client', () => {
    const enc = new OutputEncoder('g711_alaw');
    const bytes = [enc.push(tone(1000, 24000, 0.1)), enc.flush()];
    expect(bytes.reduce((n, b) => n + b.length, 0)).toBe(800);
  });

  it('passes 24 kHz TTS audio to a pcm16 client unchanged', () => {
    const enc = new OutputEncoder('pcm16');
    const pcm = tone(300, 24000, 0.02);
    expect(Buffer.from(enc.push(pcm))).toEqual(pcm16ToBytes(pcm));
  });

  it('writes a WAV file that parses back to the same samples', () => {
    const pcm = tone(440, 16000, 0.05);
    const wav = encodeWav(pcm, 16000);
    expect(wav.length).toBe(44 + pcm.byteLength);
    const back = parseWav(wav);
    expect(back.sampleRate).toBe(16000);
    expect(back.channels).toBe(1);
    expect(back.pcm).toEqual(pcm);
  });

  it('parses the sox-made fixtures', () => {
    const { rate, pcm } = loadWavFixture('hours_24k.wav');
    expect(rate).toBe(24000);
    expect(pcm.length).toBeGreaterThan(24000);
  });

  it('refuses a file that is not a PCM16 WAV with a clear message', () => {
    expect(() => parseWav(Buffer.from('not a wav at all'))).toThrow(/RIFF\/WAVE/);
    const wav = encodeWav(new Int16Array(4), 8000);
    wav.writeUInt16LE(3, 20); // IEEE float
    expect(() => parseWav(wav)).toThrow(/only PCM16/);
  });
});
