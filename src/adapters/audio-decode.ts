/**
 * Uploaded audio files (wav, mp3, ogg/opus, webm, …) → PCM16 mono, through
 * prism-media's FFmpeg transform (the system ffmpeg, fed on stdin).
 *
 * Failure is always a rejected promise with an AudioDecodeError whose `code`
 * a caller can switch on — never a hang (timeout / abort kill ffmpeg) and never
 * an exception thrown out of a stream event. Formats that need a seekable
 * input (MP4/M4A with the index at the end) cannot be decoded from a pipe and
 * come back as `invalid_input`.
 */
import prism from 'prism-media';
import { parseWav } from '../core/audio/formats';

/** The longest audio a file may decode to, on either path. */
const MAX_AUDIO_DURATION_S = 600;
/** Sample rates the WAV fast path takes from a header (anything else is a lie or a mistake). */
const WAV_FAST_PATH_RATES = { min: 8_000, max: 48_000 } as const;

export type AudioDecodeErrorCode =
  | 'empty_input' // zero bytes
  | 'invalid_input' // not a media file ffmpeg understands, or corrupt
  | 'no_audio' // a media file without an audio stream, or nothing decodable in it
  | 'too_long' // decoded audio longer than maxDurationS
  | 'ffmpeg_missing'
  | 'timeout'
  | 'aborted';

export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';
  readonly code: AudioDecodeErrorCode;
  /** ffmpeg's own explanation, when it gave one. */
  readonly detail: string | undefined;

  constructor(code: AudioDecodeErrorCode, message: string, detail?: string) {
    super(message);
    this.code = code;
    this.detail = detail;
  }
}

export interface DecodeOptions {
  /** Output rate in Hz (default 16000). */
  sampleRate?: number;
  signal?: AbortSignal;
  /** Kill ffmpeg after this long (default 30 s). */
  timeoutMs?: number;
  /** Refuse (and stop decoding) audio longer than this (default 600 s). */
  maxDurationS?: number;
}

function ffmpegAvailable(): boolean {
  try {
    prism.FFmpeg.getInfo();
    return true;
  } catch {
    return false;
  }
}

/**
 * The fast path for a plain mono PCM16 WAV: no ffmpeg. Null when the file is not one (ffmpeg then
 * decodes it). The header is not trusted: a sample rate outside 8–48 kHz is refused, and the
 * duration it implies is held to the same cap as the ffmpeg path (a 128 KiB file claiming 100 Hz
 * would otherwise be 655 s of audio after resampling).
 */
export function decodePlainWav(data: Uint8Array, maxDurationS = MAX_AUDIO_DURATION_S): { pcm: Int16Array; sampleRate: number } | null {
  let wav;
  try {
    wav = parseWav(data);
  } catch {
    return null;
  }
  if (wav.channels !== 1 || wav.pcm.length === 0) return null;
  const { min, max } = WAV_FAST_PATH_RATES;
  if (wav.sampleRate < min || wav.sampleRate > max) {
    throw new AudioDecodeError('invalid_input', `the WAV header says ${wav.sampleRate} Hz; WAV files must be ${min}-${max} Hz`);
  }
  if (wav.pcm.length / wav.sampleRate > maxDurationS) throw new AudioDecodeError('too_long', `the audio is longer than ${maxDurationS} s`);
  return { pcm: wav.pcm, sampleRate: wav.sampleRate };
}

export function decodeAudioFile(data: Buffer, opts: DecodeOptions = {}): Promise<Int16Array> {
  const rate = opts.sampleRate ?? 16000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBytes = (opts.maxDurationS ?? MAX_AUDIO_DURATION_S) * rate * 2;
  if (data.length === 0) return Promise.reject(new AudioDecodeError('empty_input', 'the audio file is empty'));
  if (opts.signal?.aborted) return Promise.reject(new AudioDecodeError('aborted', 'audio decoding was aborted'));
  if (!ffmpegAvailable()) {
    return Promise.reject(new AudioDecodeError('ffmpeg_missing', 'ffmpeg is not installed or not on PATH; install it (apt-get install ffmpeg) to accept audio files'));
  }

  return new Promise<Int16Array>((resolve, reject) => {
    let ff: prism.FFmpeg;
    try {
      ff = new prism.FFmpeg({
        args: ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', '-', '-vn', '-map', '0:a:0', '-ac', '1', '-ar', String(rate), '-f', 's16le', '-acodec', 'pcm_s16le'],
      });
    } catch (err) {
      reject(new AudioDecodeError('ffmpeg_missing', `could not start ffmpeg: ${(err as Error).message}`));
      return;
    }
    const proc = ff.process;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let settled = false;

    const finish = (err: AudioDecodeError | null, pcm?: Int16Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        reject(err);
      } else resolve(pcm!);
    };
    const onAbort = (): void => finish(new AudioDecodeError('aborted', 'audio decoding was aborted'));
    const timer = setTimeout(() => finish(new AudioDecodeError('timeout', `ffmpeg did not finish decoding within ${timeoutMs} ms`)), timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    // EPIPE when ffmpeg rejects the input early: the exit status tells the real story.
    ff.on('error', () => {});
    proc.on('error', (err) => finish(new AudioDecodeError('ffmpeg_missing', `could not run ffmpeg: ${err.message}`)));
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      if (stderr.length < 4000) stderr += s;
    });
    ff.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        finish(new AudioDecodeError('too_long', `the audio is longer than ${opts.maxDurationS ?? MAX_AUDIO_DURATION_S} s`));
        return;
      }
      chunks.push(chunk);
    });
    proc.on('close', (code) => {
      const detail = stderr.trim().split('\n').slice(-3).join(' | ') || undefined;
      if (code !== 0) {
        const noAudio = /matches no streams|does not contain any stream|Output file .* does not contain/i.test(stderr);
        finish(
          noAudio
            ? new AudioDecodeError('no_audio', 'the file has no audio stream', detail)
            : new AudioDecodeError('invalid_input', `the file is not audio ffmpeg can decode (corrupt or unsupported format${detail ? `: ${detail}` : ''})`, detail),
        );
        return;
      }
      const all = Buffer.concat(chunks, bytes);
      const usable = all.length - (all.length % 2);
      if (usable === 0) {
        finish(new AudioDecodeError('no_audio', 'no audio could be decoded from the file', detail));
        return;
      }
      // Buffer.concat may return a pooled slice at an odd offset: copy into an aligned array.
      const pcm = new Int16Array(usable / 2);
      new Uint8Array(pcm.buffer).set(all.subarray(0, usable));
      finish(null, pcm);
    });

    ff.end(data);
  });
}
