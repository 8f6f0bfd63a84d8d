import { describe, expect, it } from 'vitest';
import { ByteCarry, bytesToPcm16, concatPcm16, dbfs, msToSamples, pcm16ToBytes, rms, samplesToMs } from '../../../src/core/audio/pcm';

describe('PCM16 helpers', () => {
  it('views aligned bytes as samples without copying', () => {
    const bytes = Buffer.from([0x01, 0x00, 0xff, 0x7f, 0x00, 0x80]);
    const s = bytesToPcm16(bytes);
    expect(Array.from(s)).toEqual([1, 32767, -32768]);
    expect(s.buffer).toBe(bytes.buffer);
  });

  it('copies when the bytes start at an odd offset', () => {
    const backing = new Uint8Array([9, 0x02, 0x00, 0x03, 0x00]);
    const s = bytesToPcm16(backing.subarray(1));
    expect(Array.from(s)).toEqual([2, 3]);
  });

  it('rejects an odd number of bytes', () => {
    expect(() => bytesToPcm16(new Uint8Array(3))).toThrow(RangeError);
  });

  it('turns samples back into the same bytes without copying', () => {
    const s = Int16Array.of(1, -1, 256);
    const b = pcm16ToBytes(s);
    expect(Array.from(b)).toEqual([1, 0, 0xff, 0xff, 0, 1]);
    expect(b.buffer).toBe(s.buffer);
  });

  it('carries a sample split across chunks to the next chunk', () => {
    const carry = new ByteCarry();
    const bytes = pcm16ToBytes(Int16Array.of(1000, -2000, 3000, -4000));
    const out = [carry.push(bytes.subarray(0, 3)), carry.push(bytes.subarray(3, 4)), carry.push(bytes.subarray(4, 7)), carry.push(bytes.subarray(7))];
    expect(Array.from(concatPcm16(out))).toEqual([1000, -2000, 3000, -4000]);
    expect(carry.pending).toBe(false);
  });

  it('measures a full-scale square wave as 0 dBFS and silence as -Infinity', () => {
    const sq = Int16Array.from({ length: 100 }, (_, i) => (i % 2 ? 32767 : -32768));
    expect(rms(sq)).toBeCloseTo(1, 4);
    expect(dbfs(sq)).toBeCloseTo(0, 3);
    expect(dbfs(new Int16Array(10))).toBe(-Infinity);
    expect(rms(new Int16Array(0))).toBe(0);
  });

  it('concatenates parts and returns a single part as is', () => {
    const a = Int16Array.of(1, 2);
    expect(concatPcm16([a])).toBe(a);
    expect(Array.from(concatPcm16([a, Int16Array.of(3), new Int16Array(0)]))).toEqual([1, 2, 3]);
  });

  it('converts between milliseconds and samples', () => {
    expect(msToSamples(20, 24000)).toBe(480);
    expect(samplesToMs(160, 16000)).toBe(10);
  });
});
