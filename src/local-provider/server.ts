/**
 * The built-in local provider that `npm start` runs when no provider is configured: the
 * OpenAI-compatible HTTP API the workers call, answered honestly with what runs on any machine.
 *
 * - POST /v1/audio/speech: real words, spoken by eSpeak NG (WASM), 24 kHz PCM16 or WAV.
 * - POST /v1/audio/transcriptions: no speech model, so every transcript is NO_SPEECH_RECOGNITION.
 * - POST /v1/chat/completions: keyword rules (answers.ts) with real tool calls, streamed or not.
 * - /v1/realtime (WebSocket): no speech-to-speech model; the socket gets one `error` event saying
 *   so, then closes (a realtime business with realtime_fallback "chained" goes on in chained mode).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { localAnswer, NO_SPEECH_RECOGNITION } from './answers';
import { resolveReply, sendCompletion, streamReply, validateChatBody, type ChatRequestBody } from './chat-wire';
import { startSpeaker, type Speaker } from './espeak';
import { apiError, BodyTooLargeError, randomId, readBody, sendError, sendJson } from './http';
import { boundaryOf, MultipartError, parseMultipart } from './multipart';
import { samplesToBuffer } from './pcm';
import { checkSpeech, sendAudio } from './speech';
import { checkTranscription, sendTranscript, toTranscriptionRequest } from './transcriptions';

/** What the first log line of `npm start` says about the local provider. */
export const LOCAL_PROVIDER_SUMMARY =
  'No provider configured (OPENAI_API_KEY, or STT_/LLM_/TTS_BASE_URL): running the built-in local provider. ' +
  'It speaks real words (eSpeak NG) and answers typed text with keyword rules that call the support tools; ' +
  'it cannot recognise speech (every recording is transcribed as "' + NO_SPEECH_RECOGNITION + '") and has no realtime model. ' +
  'Set OPENAI_API_KEY for real STT/LLM/TTS, or see the README ("The local provider").';

export const NO_REALTIME_MESSAGE =
  'The built-in local provider has no realtime speech-to-speech model. Use chained mode, or set OPENAI_API_KEY (or REALTIME_URL).';

export interface LocalProviderOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
}

export interface LocalProvider {
  /** 'http://127.0.0.1:PORT/v1', the openai client's baseURL. */
  url: string;
  /** 'ws://127.0.0.1:PORT/v1/realtime'. */
  realtimeUrl: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 30 * 1024 * 1024;
const MODELS = ['gpt-4o-mini', 'gpt-realtime', 'whisper-1', 'tts-1', 'gpt-4o-mini-tts', 'gpt-4o-transcribe'];

/** Starts the provider once eSpeak NG is loaded, so the first answer is not the one that waits for it. */
export async function startLocalProvider(o: LocalProviderOptions = {}): Promise<LocalProvider> {
  const host = o.host ?? '127.0.0.1';
  const speaker = await startSpeaker();
  const server = createServer((req, res) => {
    handle(speaker, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, apiError(500, `Local provider error: ${String(err)}`));
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://local').pathname !== '/v1/realtime') return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const error = { type: 'invalid_request_error', code: 'realtime_unavailable', message: NO_REALTIME_MESSAGE, param: null, event_id: null };
      ws.send(JSON.stringify({ type: 'error', event_id: randomId('event_'), error }), () => ws.close(1011, 'no realtime model'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostPart}:${port}/v1`,
    realtimeUrl: `ws://${hostPart}:${port}/v1/realtime`,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await speaker.close();
    },
  };
}

async function handle(speaker: Speaker, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return sendError(res, 413, apiError(413, 'Maximum content size limit exceeded.'));
    return; // the client went away while sending
  }
  if (req.method === 'GET' && path === '/v1/models') {
    return sendJson(res, 200, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'local-provider' })) });
  }
  if (req.method !== 'POST' || !['/v1/chat/completions', '/v1/audio/speech', '/v1/audio/transcriptions'].includes(path)) {
    return sendError(res, 404, apiError(404, `Invalid URL (${req.method} ${path})`, null, 'unknown_url'));
  }
  if (path === '/v1/audio/transcriptions') {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) return sendError(res, 400, apiError(400, 'Expected a multipart/form-data body with a file.', 'file', 'invalid_request_error'));
    let upload;
    try {
      upload = toTranscriptionRequest(parseMultipart(raw, boundary));
    } catch (err) {
      if (err instanceof MultipartError) return sendError(res, 400, apiError(400, `Could not parse multipart form: ${err.message}`));
      throw err;
    }
    const request = checkTranscription(res, upload);
    if (request) sendTranscript(res, request.fields, request.file, NO_SPEECH_RECOGNITION);
    return;
  }
  let body: unknown;
  try {
    body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
  } catch {
    return sendError(res, 400, apiError(400, 'We could not parse the JSON body of your request.'));
  }
  if (path === '/v1/audio/speech') {
    const request = checkSpeech(res, body, 'local provider');
    if (!request) return;
    return sendAudio(res, samplesToBuffer(await speaker.speak(request.input, request.voice, request.speed)), request.format);
  }
  const invalid = validateChatBody(body);
  if (invalid) return sendError(res, 400, apiError(400, invalid.message, invalid.param));
  const chat = body as ChatRequestBody;
  const reply = resolveReply(localAnswer(chat));
  if (chat.stream) return streamReply(res, chat, reply);
  sendCompletion(res, chat, reply);
}
