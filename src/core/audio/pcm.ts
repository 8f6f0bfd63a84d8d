/**
 * PCM16 helpers. Internally audio is little-endian signed 16-bit mono held in
 * an Int16Array (every platform Node runs on is little-endian, so a byte view
 * of the wire format *is* the sample array — no per-sample decoding).
 */

export type Pcm16 = Int16Array;

/**
 * View bytes as PCM16. Zero-copy when the byte offset is 2-aligned (the usual
 * case for a Buffer from a socket); a copy otherwise, because a typed array
 * cannot start at an odd offset.
 */
export function bytesToPcm16(buf: Uint8Array): Int16Array {
  if (buf.byteLength % 2 !== 0) {
    throw new RangeError(`PCM16 needs an even number of bytes, got ${buf.byteLength}`);
  }
  if (buf.byteOffset % 2 === 0) {
    return new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  }
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Int16Array(copy.buffer, 0, copy.byteLength / 2);
}

/** Byte view of samples (zero-copy): what goes on the wire. */
export function pcm16ToBytes(s: Int16Array): Buffer {
  return Buffer.from(s.buffer, s.byteOffset, s.byteLength);
}

/**
 * Turns a byte stream into whole samples. TTS and socket streams may split a
 * sample across chunks; the odd trailing byte is carried to the next push.
 */
export class ByteCarry {
  private carry = -1; // pending low byte, or -1 when none

  push(chunk: Uint8Array): Int16Array {
    if (this.carry < 0) {
      if (chunk.byteLength % 2 === 0) return bytesToPcm16(chunk);
      const last = chunk[chunk.byteLength - 1];
      this.carry = last ?? -1;
      return bytesToPcm16(chunk.subarray(0, chunk.byteLength - 1));
    }
    if (chunk.byteLength === 0) return new Int16Array(0);
    const total = chunk.byteLength + 1;
    const usable = total - (total % 2);
    const out = new Uint8Array(usable);
    out[0] = this.carry;
    out.set(chunk.subarray(0, usable - 1), 1);
    this.carry = total % 2 === 1 ? (chunk[chunk.byteLength - 1] ?? -1) : -1;
    return new Int16Array(out.buffer, 0, usable / 2);
  }

  /** True when half a sample is waiting for its other byte. */
  get pending(): boolean {
    return this.carry >= 0;
  }

  reset(): void {
    this.carry = -1;
  }
}

/** Root mean square, normalised so a full-scale square wave is 1. */
export function rms(s: Int16Array): number {
  const n = s.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = s[i]!;
    sum += v * v;
  }
  return Math.sqrt(sum / n) / 32768;
}

/** Level in dB relative to full scale; -Infinity for digital silence. */
export function dbfs(s: Int16Array): number {
  const r = rms(s);
  return r > 0 ? 20 * Math.log10(r) : -Infinity;
}

/** Concatenate; returns the only part itself when there is nothing to join. */
export function concatPcm16(parts: Int16Array[]): Int16Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Int16Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function msToSamples(ms: number, rate: number): number {
  return Math.round((ms * rate) / 1000);
}

export function samplesToMs(n: number, rate: number): number {
  return (n * 1000) / rate;
}

/** Split into frames of `size` samples (views, no copies); the last may be short. */
export function* frames(s: Int16Array, size: number): Generator<Int16Array> {
  for (let i = 0; i < s.length; i += size) yield s.subarray(i, Math.min(s.length, i + size));
}
