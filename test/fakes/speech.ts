/** POST /v1/audio/speech of the fake: the local provider's wire format with deterministic synthetic audio (exact durations for tests). */
import type { ServerResponse } from 'node:http';
import { checkSpeech, sendAudio } from '../../src/local-provider/speech';
import { delay } from './http';
import { DEFAULT_MS_PER_CHAR, type FakeScript } from './script';
import { samplesToBuffer, synthesize } from './synth';

export { MAX_INPUT_CHARS, SPEECH_CHUNK_BYTES, TTS_VOICES, voiceName } from '../../src/local-provider/speech';

export interface SpeechContext {
  script: FakeScript;
  signal: AbortSignal;
}

/** Duration of the fake's speech for `text`: msPerChar × characters ÷ speed. */
export function speechDurationMs(text: string, msPerChar = DEFAULT_MS_PER_CHAR, speed = 1): number {
  return Math.round((msPerChar * text.length) / speed);
}

export async function handleSpeech(ctx: SpeechContext, res: ServerResponse, rawBody: unknown): Promise<void> {
  const request = checkSpeech(res, rawBody, 'fake OpenAI provider');
  if (!request) return;
  const durationMs = speechDurationMs(request.input, ctx.script.speech.msPerChar, request.speed);
  const pcm = samplesToBuffer(synthesize({ voice: request.voice, durationMs }));
  if (!(await delay(ctx.script.delays.ttsFirstByteMs, ctx.signal))) return;
  await sendAudio(res, pcm, request.format);
}
