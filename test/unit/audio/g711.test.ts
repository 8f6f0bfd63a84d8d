import { describe, expect, it } from 'vitest';
import { alawDecode, alawEncode, ulawDecode, ulawEncode } from '../../../src/core/audio/g711';

const everySample = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('G.711', () => {
  it('encodes known μ-law values as the ITU-T reference does', () => {
    expect(Array.from(ulawEncode(Int16Array.of(0, -1, 32767, -32768, 1000, -1000)))).toEqual([0xff, 0x7f, 0x80, 0x00, 0xce, 0x4e]);
  });

  it('decodes known μ-law values', () => {
    expect(Array.from(ulawDecode(Uint8Array.of(0xff, 0x7f, 0x80, 0x00)))).toEqual([0, 0, 32124, -32124]);
  });

  it('encodes and decodes known A-law values', () => {
    expect(Array.from(alawEncode(Int16Array.of(0, -1, 32767, -32768)))).toEqual([0xd5, 0x55, 0xaa, 0x2a]);
    expect(Array.from(alawDecode(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a)))).toEqual([8, -8, 32256, -32256]);
  });

  it('re-encodes every μ-law code to itself (except the duplicate zero)', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const again = ulawEncode(ulawDecode(codes));
    for (let c = 0; c < 256; c++) expect(again[c]).toBe(c === 0x7f ? 0xff : c);
  });

  it('re-encodes every A-law code to itself', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Array.from(alawEncode(alawDecode(codes)))).toEqual(Array.from(codes));
  });

  it('keeps the round-trip error of every 16-bit sample within about 3 % of its magnitude', () => {
    for (const [enc, dec, rel] of [
      [ulawEncode, ulawDecode, 1 / 32],
      [alawEncode, alawDecode, 1 / 32],
    ] as const) {
      const back = dec(enc(everySample));
      const tooFar: number[] = [];
      for (let i = 0; i < everySample.length; i++) {
        const x = everySample[i]!;
        // Log companding: the step grows with magnitude (error ≈ 3 % of it), bounded near zero.
        if (Math.abs(back[i]! - x) > Math.max(132, Math.abs(x) * rel + 8)) tooFar.push(x);
      }
      expect(tooFar).toEqual([]);
    }
  });

  it('is monotonic, so louder input never decodes quieter', () => {
    for (const [enc, dec] of [
      [ulawEncode, ulawDecode],
      [alawEncode, alawDecode],
    ] as const) {
      const back = dec(enc(everySample));
      let drops = 0;
      for (let i = 1; i < back.length; i++) if (back[i]! < back[i - 1]!) drops++;
      expect(drops).toBe(0);
    }
  });
});
