/** PCM16 helpers of the local provider: sample buffers, WAV headers, resampling to the 24 kHz the TTS contract uses. */
import { wavHeader as pcm16WavHeader } from '../core/audio/formats';

/** The sample rate of `response_format: "pcm"` (OpenAI's speech API: 24 kHz s16le mono). */
export const PCM_RATE = 24_000;

export function samplesToBuffer(samples: Int16Array): Buffer {
  const buf = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i] ?? 0, i * 2);
  return buf;
}

/** Little-endian s16 bytes to samples; a trailing odd byte is ignored. */
export function bufferToSamples(buf: Buffer): Int16Array {
  const samples = new Int16Array(Math.floor(buf.length / 2));
  for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(i * 2);
  return samples;
}

/**
 * Linear-interpolation resampling. Enough for speech going up in rate (eSpeak's 22.05 kHz to
 * 24 kHz): nothing above the source's Nyquist frequency exists to alias.
 */
export function resample(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate || samples.length === 0) return samples.slice();
  const count = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const out = new Int16Array(count);
  const step = fromRate / toRate;
  for (let i = 0; i < count; i++) {
    const pos = i * step;
    const left = Math.floor(pos);
    const a = samples[Math.min(left, samples.length - 1)] ?? 0;
    const b = samples[Math.min(left + 1, samples.length - 1)] ?? 0;
    out[i] = Math.round(a + (b - a) * (pos - left));
  }
  return out;
}

/** The header of a PCM16 WAV holding `dataBytes` of audio (the core's header, sized in bytes). */
export function wavHeader(dataBytes: number, sampleRate = PCM_RATE, channels = 1): Buffer {
  return pcm16WavHeader(dataBytes / (channels * 2), sampleRate, channels);
}

/** Duration of a RIFF/WAVE file from its header, or undefined if it isn't one. */
export function wavDurationSeconds(bytes: Buffer): number | undefined {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  let byteRate = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 20 <= bytes.length) byteRate = bytes.readUInt32LE(offset + 16);
    if (id === 'data') {
      const available = Math.min(size, bytes.length - offset - 8);
      return byteRate > 0 ? available / byteRate : undefined;
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}
