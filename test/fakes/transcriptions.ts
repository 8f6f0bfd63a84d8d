/** POST /v1/audio/transcriptions of the fake: the local provider's wire format with scripted transcripts and delays. */
import type { ServerResponse } from 'node:http';
import { checkTranscription, sendTranscript, type TranscriptionUpload } from '../../src/local-provider/transcriptions';
import { delay } from './http';
import { takeTranscript, type FakeScript } from './script';

export { audioDurationSeconds, toTranscriptionRequest } from '../../src/local-provider/transcriptions';

export interface TranscriptionContext {
  script: FakeScript;
  signal: AbortSignal;
}

export async function handleTranscription(ctx: TranscriptionContext, res: ServerResponse, upload: TranscriptionUpload): Promise<void> {
  const request = checkTranscription(res, upload);
  if (!request) return;
  const text = takeTranscript(ctx.script, request);
  if (!(await delay(ctx.script.delays.sttMs, ctx.signal))) return;
  sendTranscript(res, request.fields, request.file, text);
}
