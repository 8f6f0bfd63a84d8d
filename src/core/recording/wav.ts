/** The two-channel WAV of a recording: its header and the interleaving of the two mono channels. */

/** The 44-byte header of a PCM16 WAV with `channels` channels and `frames` sample frames. */
export function wavHeader(frames: number, rate: number, channels: number): Buffer {
  const dataBytes = frames * channels * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

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
