/**
 * Audio posted over HTTP → bytes in the session's input format (what CallDriver.onAudio takes).
 * Three kinds of body, by Content-Type:
 * - `audio/pcm;rate=N`: raw PCM16 little-endian mono at N Hz (default 16000), resampled;
 * - `application/octet-stream`: already in the session's input format, passed through;
 * - a file (`audio/wav`, `audio/mpeg`, `audio/ogg`, `audio/webm`, any other `audio/*`): decoded
 *   with ffmpeg (a plain PCM16 WAV is parsed directly).
 * Raw PCM chunks of one call share a resampler, so a stream cut into chunks sounds like one.
 */
import { AudioDecodeError, decodeAudioFile, decodePlainWav } from '../../adapters/audio-decode';
import { bytesPerMs, formatRate, OutputEncoder, type AudioFormat } from '../../core/audio/formats';
import { ByteCarry, pcm16ToBytes } from '../../core/audio/pcm';
import { resample } from '../../core/audio/resample';
import { ApiError } from '../../errors';

export type AudioBodyKind = { kind: 'pcm'; rate: number } | { kind: 'native' } | { kind: 'file'; wav: boolean };

export const AUDIO_CONTENT_TYPES = ['audio/pcm', 'application/octet-stream', 'audio/wav', 'audio/mpeg', 'audio/ogg', 'audio/webm'];

/** Which kind of body a Content-Type announces; a 415 naming the accepted types otherwise. */
export function audioBodyKind(contentType: string | undefined): AudioBodyKind {
  const [type = '', ...params] = (contentType ?? '').toLowerCase().split(';').map((p) => p.trim());
  if (type === 'audio/pcm') {
    const rateParam = params.find((p) => p.startsWith('rate='));
    const rate = rateParam ? Number(rateParam.slice(5)) : 16_000;
    if (!Number.isInteger(rate) || rate < 8_000 || rate > 48_000) {
      throw ApiError.badRequest(`audio/pcm rate must be an integer from 8000 to 48000 Hz, got '${rateParam?.slice(5)}'.`, 'content-type', 'invalid_audio_format');
    }
    return { kind: 'pcm', rate };
  }
  if (type === 'application/octet-stream') return { kind: 'native' };
  if (type.startsWith('audio/') || type === 'video/webm') return { kind: 'file', wav: /wav/.test(type) };
  throw new ApiError(415, 'invalid_request_error', 'unsupported_media_type', `Send audio as ${AUDIO_CONTENT_TYPES.join(', ')} (got '${type || 'no content-type'}').`, 'content-type');
}

/** Decodes a whole audio file to PCM16 at `rate`; a 400 `invalid_audio` when it is not audio. */
async function decodeFile(bytes: Buffer, rate: number, tryWav: boolean): Promise<Int16Array> {
  try {
    // A plain PCM16 WAV is read directly (header checked); anything else goes to ffmpeg.
    const wav = tryWav ? decodePlainWav(bytes) : null;
    if (wav) return resample(wav.pcm, wav.sampleRate, rate);
    return await decodeAudioFile(bytes, { sampleRate: rate });
  } catch (err) {
    if (err instanceof AudioDecodeError) {
      if (err.code === 'ffmpeg_missing' || err.code === 'timeout' || err.code === 'aborted') {
        throw new ApiError(503, 'server_error', 'audio_decoder_unavailable', `Could not decode the audio file: ${err.message}.`);
      }
      throw ApiError.badRequest(`Could not decode the audio: ${err.message}.`, 'body', 'invalid_audio');
    }
    throw err;
  }
}

/** Per-call state for raw PCM chunks: the odd byte and the resampler carry over between requests. */
export class AudioInput {
  private pcm: { rate: number; carry: ByteCarry; enc: OutputEncoder } | null = null;

  constructor(public format: AudioFormat) {}

  /** The body as session-format bytes, and its duration. */
  async convert(kind: AudioBodyKind, body: Buffer): Promise<{ bytes: Uint8Array; ms: number }> {
    let bytes: Uint8Array;
    if (kind.kind === 'native') bytes = body;
    else if (kind.kind === 'pcm') {
      if (!this.pcm || this.pcm.rate !== kind.rate || this.pcm.enc.format !== this.format) {
        this.pcm = { rate: kind.rate, carry: new ByteCarry(), enc: new OutputEncoder(this.format, kind.rate) };
      }
      bytes = this.pcm.enc.push(this.pcm.carry.push(body));
    } else {
      const rate = formatRate(this.format);
      const enc = new OutputEncoder(this.format, rate);
      const pcm = await decodeFile(body, rate, kind.wav);
      bytes = this.format === 'pcm16' ? pcm16ToBytes(pcm) : concat(enc.push(pcm), enc.flush());
    }
    return { bytes, ms: Math.round(bytes.length / bytesPerMs(this.format)) };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
