/**
 * An OpenAI-compatible fake provider for the tests: chat completions (streaming + tools),
 * transcriptions, speech and the realtime WebSocket (GA and beta), on real sockets, scripted per
 * test. The official `openai` client talks to it unchanged: `new OpenAI({ baseURL: fake.url, apiKey: 'test' })`.
 *
 * The HTTP wire formats are the local provider's (src/local-provider, what `npm start` runs with no
 * provider key); the fake adds scripts, recordings, failures, delays and deterministic audio.
 * Defaults (empty script): see script.ts (DEFAULT_TRANSCRIPT, defaultChatReply).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { handleChat } from './chat';
import { apiError, BodyTooLargeError, readBody, sendError, sendFailure, sendJson, type RecordedRequest } from './http';
import { boundaryOf, MultipartError, parseMultipart } from '../../src/local-provider/multipart';
import { attachRealtime, type DialectOption, type RecordedRealtimeSession } from './realtime';
import { createScript, resetScript, takeFailure, type FailureEndpoint, type FakeScript } from './script';
import { handleSpeech } from './speech';
import { handleTranscription, toTranscriptionRequest } from './transcriptions';

export type { RecordedRequest } from './http';
export type { RecordedRealtimeSession } from './realtime';
export type { ChatReply, ChatRequestBody, FakeScript, ScriptedFailure, ScriptDelays } from './script';
export { DEFAULT_TRANSCRIPT, DEFAULT_GREETING, DEFAULT_MS_PER_CHAR, defaultChatReply } from './script';

export interface FakeOpenAIOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** auto (default): beta if the client sends `OpenAI-Beta: realtime=v1` or the `openai-beta.realtime-v1` subprotocol, else GA. */
  realtimeDialect?: DialectOption;
  /**
   * Top-level session fields left out of `session.created` / `session.updated`, as older or
   * third-party servers do (e.g. a beta server without `input_audio_noise_reduction`).
   */
  realtimeOmitSessionFields?: string[];
}

/**
 * Events on `fake.events`:
 * - 'request' (rec) when a request arrives (body filled in once read),
 * - 'request:done' (rec) when its response was completely written,
 * - 'request:aborted' (rec) when the client went away first,
 * - 'realtime:connection' / 'realtime:closed' (session),
 * - 'realtime:client-event' / 'realtime:server-event' (event, session).
 */
export interface FakeOpenAI {
  /** 'http://127.0.0.1:PORT/v1', the openai client's baseURL. */
  url: string;
  /** 'ws://127.0.0.1:PORT/v1/realtime'. */
  realtimeUrl: string;
  /** Mutate per test; assigning a partial script fills in the missing fields. */
  script: FakeScript;
  requests: RecordedRequest[];
  realtimeSessions: RecordedRealtimeSession[];
  events: EventEmitter;
  /** Simulates an upstream drop: closes every realtime socket with `code`, or cuts it without a close frame. */
  dropRealtimeConnections(code?: number): void;
  /** Clears the script and the recordings. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 30 * 1024 * 1024;

const ROUTES: Record<string, FailureEndpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/audio/transcriptions': 'transcriptions',
  '/v1/audio/speech': 'speech',
};

export async function startFakeOpenAI(o: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const host = o.host ?? '127.0.0.1';
  let script = createScript();
  const requests: RecordedRequest[] = [];
  const realtimeSessions: RecordedRealtimeSession[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, apiError(500, `Fake provider bug: ${String(err)}`));
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: undefined,
      at: Date.now(),
    };
    requests.push(rec);
    const abort = new AbortController();
    res.on('close', () => {
      rec.status = res.statusCode;
      if (res.writableFinished) {
        rec.completed = true;
        events.emit('request:done', rec);
      } else {
        rec.aborted = true;
        abort.abort();
        events.emit('request:aborted', rec);
      }
    });

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendError(res, 413, apiError(413, 'Maximum content size limit exceeded.'));
      return; // the client went away while sending
    }
    const parsed = parseBody(raw, req.headers['content-type']);
    rec.body = parsed.body;
    events.emit('request', rec);
    if (parsed.error) return sendError(res, 400, apiError(400, parsed.error));

    if (req.method === 'GET' && url.pathname === '/v1/models') return sendJson(res, 200, models());
    const endpoint = ROUTES[url.pathname];
    if (!endpoint || req.method !== 'POST') {
      return sendError(res, 404, apiError(404, `Invalid URL (${req.method} ${url.pathname})`, null, 'unknown_url'));
    }
    const failure = takeFailure(script, endpoint);
    if (failure && !(failure.midStream && endpoint === 'chat')) return sendFailure(res, failure);
    const ctx = { script, signal: abort.signal };
    if (endpoint === 'chat') return handleChat(ctx, res, parsed.body, failure);
    if (endpoint === 'speech') return handleSpeech(ctx, res, parsed.body);
    if (!isUpload(parsed.body)) {
      return sendError(res, 400, apiError(400, 'Expected a multipart/form-data body with a file.', 'file', 'invalid_request_error'));
    }
    return handleTranscription(ctx, res, parsed.body);
  }

  const realtimeSockets: Set<WebSocket> = attachRealtime(server, {
    get script() {
      return script;
    },
    dialect: o.realtimeDialect ?? 'auto',
    omitSessionFields: o.realtimeOmitSessionFields ?? [],
    events,
    sessions: realtimeSessions,
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
    get script() {
      return script;
    },
    set script(next: FakeScript) {
      script = { ...createScript(), ...next };
    },
    requests,
    realtimeSessions,
    events,
    dropRealtimeConnections(code?: number) {
      for (const ws of realtimeSockets) {
        if (code === undefined) ws.terminate();
        else ws.close(code, 'fake upstream dropped the connection');
      }
    },
    reset() {
      resetScript(script);
      requests.length = 0;
      realtimeSessions.length = 0;
    },
    async close() {
      for (const ws of realtimeSockets) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseBody(raw: Buffer, contentType: string | undefined): { body: unknown; error?: string } {
  if (raw.length === 0) return { body: undefined };
  const boundary = boundaryOf(contentType);
  if (boundary) {
    try {
      return { body: toTranscriptionRequest(parseMultipart(raw, boundary)) };
    } catch (err) {
      if (err instanceof MultipartError) return { body: undefined, error: `Could not parse multipart form: ${err.message}` };
      throw err;
    }
  }
  if (contentType?.includes('json')) {
    try {
      return { body: JSON.parse(raw.toString('utf8')) as unknown };
    } catch {
      return { body: raw.toString('utf8'), error: 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)' };
    }
  }
  return { body: raw.toString('utf8') };
}

function isUpload(body: unknown): body is ReturnType<typeof toTranscriptionRequest> {
  return typeof body === 'object' && body !== null && 'fields' in body;
}

function models(): object {
  const ids = ['gpt-4o-mini', 'gpt-realtime', 'whisper-1', 'tts-1', 'gpt-4o-mini-tts', 'gpt-4o-transcribe'];
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake-openai' })) };
}
