/**
 * POST /v1/audio/speech on the wire (docs/PROTOCOLS.md §5): the request checked as OpenAI checks it, and
 * 24 kHz PCM16 written as `pcm` (raw s16le) or `wav`, in chunks of an odd size as real streams split
 * samples. What the audio is comes from the caller (eSpeak NG here, a synthetic voice in the fake).
 */
import type { ServerResponse } from 'node:http';
import { apiError, commonHeaders, sendError, write } from './http';
import { PCM_RATE, wavHeader } from './pcm';

export const TTS_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
/** Formats the provider produces; mp3/opus/aac/flac are real OpenAI formats refused with a 400. */
const SUPPORTED_FORMATS = ['pcm', 'wav'];
const OPENAI_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];
export const MAX_INPUT_CHARS = 4096;
/** Odd on purpose: every other chunk boundary splits a sample, as real streams do. */
export const SPEECH_CHUNK_BYTES = 4801;

export interface SpeechRequest {
  input: string;
  voice: string;
  format: 'pcm' | 'wav';
  speed: number;
}

export function voiceName(voice: unknown): string | undefined {
  if (typeof voice === 'string') return voice;
  if (typeof voice === 'object' && voice !== null && typeof (voice as { id?: unknown }).id === 'string') return (voice as { id: string }).id;
  return undefined;
}

/** Answers a request OpenAI would refuse (or a format this provider cannot make) with a 400; else returns it. */
export function checkSpeech(res: ServerResponse, rawBody: unknown, providerName: string): SpeechRequest | undefined {
  const body = (typeof rawBody === 'object' && rawBody !== null ? rawBody : {}) as Record<string, unknown>;
  const bad = (message: string, param: string, code: string | null = 'invalid_value'): undefined => void sendError(res, 400, apiError(400, message, param, code));
  if (typeof body.model !== 'string' || !body.model) return bad('you must provide a model parameter', 'model', null);
  if (typeof body.input !== 'string' || body.input.length === 0) return bad("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  if (body.input.length > MAX_INPUT_CHARS) {
    return bad(`Invalid 'input': string too long. Expected a string with maximum length ${MAX_INPUT_CHARS}, but got a string with length ${body.input.length} instead.`, 'input', 'string_above_max_length');
  }
  const voice = voiceName(body.voice);
  const customVoice = typeof body.voice === 'object';
  if (!voice || (!customVoice && !(TTS_VOICES as readonly string[]).includes(voice))) {
    return bad(`Invalid value: '${String(body.voice)}'. Supported values are: ${TTS_VOICES.map((v) => `'${v}'`).join(', ')}.`, 'voice');
  }
  const format = body.response_format === undefined ? 'mp3' : String(body.response_format);
  if (!OPENAI_FORMATS.includes(format)) return bad(`Invalid value: '${format}'. Supported values are: ${OPENAI_FORMATS.map((f) => `'${f}'`).join(', ')}.`, 'response_format');
  if (!SUPPORTED_FORMATS.includes(format)) {
    return bad(`The ${providerName} only synthesizes 'pcm' and 'wav', not '${format}'.`, 'response_format', 'unsupported_format');
  }
  const speed = body.speed === undefined ? 1 : Number(body.speed);
  if (!Number.isFinite(speed) || speed < 0.25 || speed > 4) return bad('speed must be between 0.25 and 4.0', 'speed', 'decimal_out_of_range');
  return { input: body.input, voice, format: format as 'pcm' | 'wav', speed };
}

/** Streams 24 kHz PCM16 as the requested format, in chunks. */
export async function sendAudio(res: ServerResponse, pcm: Buffer, format: 'pcm' | 'wav'): Promise<void> {
  const audio = format === 'wav' ? Buffer.concat([wavHeader(pcm.length, PCM_RATE), pcm]) : pcm;
  res.writeHead(200, {
    ...commonHeaders(),
    'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm',
    'transfer-encoding': 'chunked',
  });
  const chunkBytes = oddChunkSize(audio.length);
  for (let offset = 0; offset < audio.length; offset += chunkBytes) {
    if (!(await write(res, audio.subarray(offset, offset + chunkBytes)))) return;
  }
  res.end();
}

/** SPEECH_CHUNK_BYTES, or an odd size that still splits short audio into at least two chunks. */
function oddChunkSize(total: number): number {
  if (total > SPEECH_CHUNK_BYTES) return SPEECH_CHUNK_BYTES;
  return Math.max(1, Math.floor(total / 2) | 1);
}
