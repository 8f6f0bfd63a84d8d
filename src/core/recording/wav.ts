/** The two-channel WAV of a recording: its header (core/audio/formats.ts) and the interleaving of the two mono channels. */
export { wavHeader } from '../audio/formats';

/**
 * Left and right PCM16 (little-endian bytes; the shorter is padded with silence) as `frames`
 * interleaved stereo frames.
 */
export function interleave(left: Uint8Array, right: Uint8Array, frames: number): Buffer {
  const out = Buffer.alloc(frames * 4);
  const l = Math.min(frames, left.length >> 1);
  const r = Math.min(frames, right.length >> 1);
  for (let i = 0; i < l; i++) {
    out[i * 4] = left[i * 2]!;
    out[i * 4 + 1] = left[i * 2 + 1]!;
  }
  for (let i = 0; i < r; i++) {
    out[i * 4 + 2] = right[i * 2]!;
    out[i * 4 + 3] = right[i * 2 + 1]!;
  }
  return out;
}
