/**
 * Session audio formats (PROTOCOLS §2) and the converters between them and
 * the gateway's internal PCM16: the client's bytes in → PCM16 at 16 kHz for
 * VAD/STT; PCM16 from TTS (24 kHz) → the client's bytes out.
 */
import { alawDecodeInto, alawEncode, ulawDecodeInto, ulawEncode } from './g711';
import { bytesToPcm16, pcm16ToBytes } from './pcm';
import { Resampler } from './resample';

/** pcm16 = 24 kHz s16le mono (as OpenAI Realtime); g711_* = 8 kHz, one byte per sample. */
export type AudioFormat = 'pcm16' | 'g711_ulaw' | 'g711_alaw';

export const AUDIO_FORMATS: readonly AudioFormat[] = ['pcm16', 'g711_ulaw', 'g711_alaw'];

export function formatRate(f: AudioFormat): number {
  return f === 'pcm16' ? 24000 : 8000;
}

/** Bytes per millisecond on the wire: 48 for pcm16, 8 for G.711. */
export function bytesPerMs(f: AudioFormat): number {
  return f === 'pcm16' ? 48 : 8;
}

/**
 * Client bytes (any chunking) → PCM16 at targetRate.
 *
 * Two forms of the same decoding. `pushView` is the hot path and allocates nothing once warmed
 * up: it returns a view of the decoder's own output buffer, which the next push overwrites — for
 * a consumer that is done with the chunk when the call returns (the chained input: the turn
 * detector copies it into its ring, the VAD keeps only numbers). `push` returns a copy the caller
 * may keep (the recorder hands it to a file stream that writes it later).
 */
export class InputDecoder {
  readonly format: AudioFormat;
  readonly targetRate: number;
  private readonly resampler: Resampler;
  /** Wire bytes as samples (PCM16 bytes copied in, or G.711 decoded); `in8` is its byte view. */
  private in16 = new Int16Array(0);
  private in8 = new Uint8Array(0);
  /** The pcm16 byte that waits for its other half (a sample split across chunks), or -1. */
  private carry = -1;
  private out = new Int16Array(0);
  /** Views of in16/out by length, kept while the length repeats (a steady chunk size). */
  private readonly inView = new LengthView();
  private readonly outView = new LengthView();

  constructor(format: AudioFormat, targetRate = 16000) {
    this.format = format;
    this.targetRate = targetRate;
    this.resampler = new Resampler(formatRate(format), targetRate);
  }

  /** The chunk decoded, as a view that is valid only until the next push, pushView or flush. */
  pushView(bytes: Uint8Array): Int16Array {
    const pcm = this.samples(bytes);
    const need = this.resampler.maxOutput(pcm.length);
    if (need > this.out.length) this.out = new Int16Array(Math.max(need, this.out.length * 2));
    return this.outView.of(this.out, this.resampler.processInto(pcm, this.out));
  }

  /** The chunk decoded, in a new array of its own. */
  push(bytes: Uint8Array): Int16Array {
    return this.pushView(bytes).slice();
  }

  /** End of input: the resampler's look-ahead tail (a few samples). */
  flush(): Int16Array {
    this.carry = -1;
    return this.resampler.flush();
  }

  /** The wire bytes as samples at the wire rate, in `in16` (copied: the caller's bytes may be reused too). */
  private samples(bytes: Uint8Array): Int16Array {
    if (this.format !== 'pcm16') {
      this.reserve(bytes.length);
      if (this.format === 'g711_ulaw') ulawDecodeInto(bytes, this.in16);
      else alawDecodeInto(bytes, this.in16);
      return this.inView.of(this.in16, bytes.length);
    }
    // Little-endian PCM16: the bytes are the samples. A copy also realigns an odd byte offset.
    const lead = this.carry >= 0 ? 1 : 0;
    const total = lead + bytes.length;
    this.reserve(total >> 1);
    if (lead) this.in8[0] = this.carry;
    this.in8.set(bytes, lead);
    this.carry = total % 2 === 1 ? this.in8[total - 1]! : -1;
    return this.inView.of(this.in16, total >> 1);
  }

  /** Room for `samples` input samples (+1 byte for an odd PCM16 tail). */
  private reserve(samples: number): void {
    if (samples + 1 <= this.in16.length) return;
    this.in16 = new Int16Array(Math.max(samples + 1, this.in16.length * 2));
    this.in8 = new Uint8Array(this.in16.buffer);
  }
}

/** `buf.subarray(0, n)`, made again only when the buffer or n changes: no allocation per chunk. */
class LengthView {
  private view: Int16Array = new Int16Array(0);

  of(buf: Int16Array, n: number): Int16Array {
    if (this.view.length !== n || this.view.buffer !== buf.buffer) this.view = buf.subarray(0, n);
    return this.view;
  }
}

/** PCM16 at sourceRate → client bytes. */
export class OutputEncoder {
  readonly format: AudioFormat;
  readonly sourceRate: number;
  private readonly resampler: Resampler;

  constructor(format: AudioFormat, sourceRate = 24000) {
    this.format = format;
    this.sourceRate = sourceRate;
    this.resampler = new Resampler(sourceRate, formatRate(format));
  }

  push(pcm: Int16Array): Uint8Array {
    return this.encode(this.resampler.process(pcm));
  }

  flush(): Uint8Array {
    return this.encode(this.resampler.flush());
  }

  private encode(pcm: Int16Array): Uint8Array {
    if (this.format === 'pcm16') return pcm16ToBytes(pcm);
    return this.format === 'g711_ulaw' ? ulawEncode(pcm) : alawEncode(pcm);
  }
}

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

/** A 44-byte-header RIFF/WAVE file of mono PCM16. */
export function encodeWav(pcm: Int16Array, rate: number): Buffer {
  return Buffer.concat([wavHeader(pcm.length, rate, 1), pcm16ToBytes(pcm)]);
}

export interface ParsedWav {
  sampleRate: number;
  channels: number;
  /** Interleaved when channels > 1. */
  pcm: Int16Array;
}

/**
 * Parse a PCM16 WAV (any chunk order, skips LIST etc.). Throws a RangeError
 * naming the problem for anything else; use decodeAudioFile for other codecs.
 */
export function parseWav(buf: Uint8Array): ParsedWav {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new RangeError('not a RIFF/WAVE file');
  }
  let at = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) throw new RangeError('truncated fmt chunk');
      fmt = {
        format: b.readUInt16LE(body),
        channels: b.readUInt16LE(body + 2),
        rate: b.readUInt32LE(body + 4),
        bits: b.readUInt16LE(body + 14),
      };
      // WAVE_FORMAT_EXTENSIBLE carries the real format in its sub-format GUID.
      if (fmt.format === 0xfffe && size >= 26 && body + 26 <= b.length) fmt.format = b.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!fmt) throw new RangeError('data chunk before fmt chunk');
      if (fmt.format !== 1 || fmt.bits !== 16) {
        throw new RangeError(`only PCM16 WAV is supported (format ${fmt.format}, ${fmt.bits} bits)`);
      }
      // Streamed WAVs (ffmpeg to a pipe) write a bogus size: clamp to what is there.
      let end = Math.min(b.length, body + size);
      end -= (end - body) % 2;
      return { sampleRate: fmt.rate, channels: fmt.channels, pcm: bytesToPcm16(b.subarray(body, end)) };
    }
    at = body + size + (size % 2); // chunks are word-aligned
  }
  throw new RangeError('no data chunk');
}
