/**
 * ITU-T G.711 μ-law and A-law, bit-exact with the ITU-T G.191 reference
 * implementation (g711.c). Both directions are table lookups: a 64 KiB table
 * per law for encoding (indexed by the raw 16-bit sample) and 256 entries for
 * decoding, built once at module load (~0.5 ms).
 */

function ulawCompress(x: number): number {
  // G.191: one's complement magnitude of the 14-bit sample, plus the bias 33.
  let absno = (x < 0 ? ~x >> 2 : x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const high = 0x8 - segno;
  const low = 0xf - ((absno >> segno) & 0xf);
  let out = (high << 4) | low;
  if (x >= 0) out |= 0x80;
  return out;
}

function ulawExpand(b: number): number {
  const sign = b < 0x80 ? -1 : 1;
  let mantissa = ~b;
  const exponent = (mantissa >> 4) & 0x7;
  const segment = exponent + 1;
  mantissa &= 0xf;
  const step = 4 << segment;
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

function alawCompress(x: number): number {
  // G.191: one's complement magnitude of the 12-bit sample.
  let ix = x < 0 ? ~x >> 4 : x >> 4;
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16;
    ix += iexp << 4;
  }
  if (x >= 0) ix |= 0x80;
  return ix ^ 0x55;
}

function alawExpand(b: number): number {
  const ix = (b ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0xf;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x8;
  if (iexp > 1) mant <<= iexp - 1;
  return b > 127 ? mant : -mant;
}

const ULAW_ENC = new Uint8Array(65536);
const ALAW_ENC = new Uint8Array(65536);
const ULAW_DEC = new Int16Array(256);
const ALAW_DEC = new Int16Array(256);
for (let i = 0; i < 65536; i++) {
  const x = i < 32768 ? i : i - 65536; // table index is the sample's raw 16 bits
  ULAW_ENC[i] = ulawCompress(x);
  ALAW_ENC[i] = alawCompress(x);
}
for (let b = 0; b < 256; b++) {
  ULAW_DEC[b] = ulawExpand(b);
  ALAW_DEC[b] = alawExpand(b);
}

function encodeWith(table: Uint8Array, s: Int16Array, out: Uint8Array): Uint8Array {
  for (let i = 0; i < s.length; i++) out[i] = table[s[i]! & 0xffff]!;
  return out;
}

function decodeWith(table: Int16Array, b: Uint8Array, out: Int16Array): Int16Array {
  for (let i = 0; i < b.length; i++) out[i] = table[b[i]!]!;
  return out;
}

export function ulawEncode(s: Int16Array): Uint8Array {
  return encodeWith(ULAW_ENC, s, new Uint8Array(s.length));
}

export function ulawDecode(b: Uint8Array): Int16Array {
  return decodeWith(ULAW_DEC, b, new Int16Array(b.length));
}

export function alawEncode(s: Int16Array): Uint8Array {
  return encodeWith(ALAW_ENC, s, new Uint8Array(s.length));
}

export function alawDecode(b: Uint8Array): Int16Array {
  return decodeWith(ALAW_DEC, b, new Int16Array(b.length));
}

/** Decodes into `out` (length ≥ b.length), allocating nothing: for the per-chunk input path. */
export function ulawDecodeInto(b: Uint8Array, out: Int16Array): void {
  decodeWith(ULAW_DEC, b, out);
}

export function alawDecodeInto(b: Uint8Array, out: Int16Array): void {
  decodeWith(ALAW_DEC, b, out);
}
