/**
 * What the latency benchmarks share: a caller that speaks K turns one after another over the
 * Realtime WebSocket at real-time pace, a business with one builtin tool, the per-turn marks read
 * back from a call's stage log and the fake provider, and the in-process baseline (the same fake
 * providers called directly, with the same builtin tool run in between for a tool turn).
 */
import OpenAI, { toFile } from 'openai';
import WebSocket from 'ws';
import { encodeWav } from '../src/core/audio/formats';
import { SentenceSplitter } from '../src/core/sentences';
import { CUSTOMER_SUPPORT_TOOLS, BUILTIN_HANDLERS, type BuiltinContext } from '../src/tools/customer-support';
import type { StageLogEntry } from '../src/contracts/logs';
import type { FakeOpenAI } from '../test/fakes/openai-server';
import type { RecordedRequest } from '../test/fakes/openai-server';

export const ADMIN = 'bench-admin-key-0123456789';
const FRAME_BYTES = 960; // 20 ms of PCM16 at 24 kHz
const SILENCE = Buffer.alloc(FRAME_BYTES);
export const TOOL_BUSINESS = 'bench-tool';
const CUSTOMER = '+15550100123';
/** The tool round the fake answers a tool turn with (then its default "Here is what I found: …"). */
export const TOOL_CALL = { tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: CUSTOMER } }] };

export async function api(gatewayUrl: string, path: string, init: { method?: string; json?: unknown } = {}): Promise<unknown> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ADMIN}`, ...(init.json ? { 'content-type': 'application/json' } : {}) },
    ...(init.json ? { body: JSON.stringify(init.json) } : {}),
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A business whose agent may call the builtin lookup_customer, and the customer it finds. */
export async function createToolBusiness(gatewayUrl: string): Promise<void> {
  await api(gatewayUrl, `/v1/businesses/${TOOL_BUSINESS}`, {
    method: 'PUT',
    json: {
      name: 'Bench tools',
      session: { instructions: 'You are a helpful agent.', tools: CUSTOMER_SUPPORT_TOOLS.filter((t) => t.name === 'lookup_customer') },
      tool_handlers: { lookup_customer: 'builtin' },
      limits: { max_concurrent_calls: 10_000, requests_per_minute: 100_000 },
    },
  });
  await api(gatewayUrl, `/v1/businesses/${TOOL_BUSINESS}/customers/${encodeURIComponent(CUSTOMER)}`, { method: 'PUT', json: { name: 'Jane Doe' } });
}

export async function createCall(gatewayUrl: string, business: string): Promise<string> {
  return ((await api(gatewayUrl, '/v1/calls', { method: 'POST', json: { business_id: business } })) as { id: string }).id;
}

/** What the caller saw of one turn (its own clock). */
export interface ClientTurn {
  speechStoppedAt: number | null;
  firstAudioAt: number | null;
  status: string | null;
}

/**
 * One caller: speaks `speech` (20 ms frames) `turns` times, each after the previous answer has
 * been heard (plus 300 ms of silence), sending silence in between as a live client does. `beforeTurn`
 * runs before each turn is spoken (to script the fake).
 */
export class SequentialCaller {
  private ws: WebSocket | undefined;
  private queue: Buffer[] = [];
  private current: ClientTurn | null = null;
  private gapFrames = 0;
  /** Audio of the current answer received so far (ms). */
  private audioMs = 0;
  readonly turns: ClientTurn[] = [];
  private done!: (err?: Error) => void;
  readonly finished: Promise<void>;

  constructor(
    private readonly gatewayUrl: string,
    readonly callId: string,
    private readonly speech: Buffer[],
    private readonly count: number,
    private readonly beforeTurn: (i: number) => void = () => {},
  ) {
    this.finished = new Promise((resolve, reject) => (this.done = (err) => (err ? reject(err) : resolve())));
  }

  start(): void {
    this.ws = new WebSocket(`${this.gatewayUrl.replace('http', 'ws')}/v1/calls/${this.callId}/stream?dialect=beta`, { headers: { authorization: `Bearer ${ADMIN}` } });
    this.ws.on('open', () => this.nextTurn());
    this.ws.on('message', (data, binary) => !binary && this.onEvent(JSON.parse(data.toString()) as { type: string; response?: { status: string } }));
    this.ws.on('error', (err) => this.done(err));
    this.ws.on('close', () => this.done(this.turns.length < this.count || this.current ? new Error(`call ${this.callId} closed after ${this.turns.length} turns`) : undefined));
  }

  /** Called every 20 ms by the pacer. */
  tick(): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    if (this.gapFrames > 0 && --this.gapFrames === 0) this.nextTurn();
    this.ws.send(this.queue.shift() ?? SILENCE);
  }

  private nextTurn() {
    if (this.turns.length === this.count) return void this.ws?.close();
    this.beforeTurn(this.turns.length);
    this.current = { speechStoppedAt: null, firstAudioAt: null, status: null };
    this.turns.push(this.current);
    this.queue.push(...this.speech);
  }

  private onEvent(e: { type: string; delta?: string; response?: { status: string } }) {
    const t = this.current;
    if (!t) return;
    if (e.type === 'input_audio_buffer.speech_stopped') t.speechStoppedAt ??= Date.now();
    else if (e.type === 'response.audio.delta') {
      t.firstAudioAt ??= Date.now();
      this.audioMs += ((e.delta?.length ?? 0) * 3) / 4 / 48; // base64 PCM16 at 24 kHz
    } else if (e.type === 'response.done') {
      t.status = e.response?.status ?? null;
      this.current = null;
      // The next question comes once the answer has been heard (plus 300 ms), as a polite caller's
      // would: speaking while it still plays is a barge-in, which is a different turn (a probe).
      const playedAt = (t.firstAudioAt ?? Date.now()) + this.audioMs;
      this.gapFrames = Math.ceil((Math.max(0, playedAt - Date.now()) + 300) / 20);
      this.audioMs = 0;
    }
  }
}

/** One 20 ms timer feeds every caller. */
export function pace(callers: SequentialCaller[]): () => void {
  const timer = setInterval(() => callers.forEach((c) => c.tick()), 20);
  return () => clearInterval(timer);
}

export async function stageLog(gatewayUrl: string, callId: string): Promise<StageLogEntry[]> {
  return ((await api(gatewayUrl, `/v1/calls/${callId}/logs`)) as { data: StageLogEntry[] }).data;
}

/** A turn's marks (epoch ms): each hop's start and end, from the stage log and the fake's requests. */
export type Marks = Record<string, number | null>;

/** The fake's requests of one call, by endpoint, in order (`call` in the STT job's user text is not visible; so: by turn order). */
export function providerRequests(fake: FakeOpenAI, endpoint: 'transcriptions' | 'chat/completions' | 'speech'): RecordedRequest[] {
  return fake.requests.filter((r) => r.path === `/v1/audio/${endpoint}` || r.path === `/v1/${endpoint}`);
}

/**
 * Marks of each turn of one call, in time order. `requests`: that call's provider requests, each
 * with the time it arrived (`at`) and was fully answered (`doneAt`, set by the bench).
 */
export function turnMarks(entries: StageLogEntry[], requests: (RecordedRequest & { doneAt?: number })[]): Marks[] {
  const turns = [...new Set(entries.filter((e) => e.turn_id && e.stage === 'vad' && e.event === 'completed').map((e) => e.turn_id!))];
  return turns.map((turn) => {
    const list = entries.filter((e) => e.turn_id === turn);
    const at = (stage: string, event: string, nth = 0) => list.filter((e) => e.stage === stage && e.event === event)[nth]?.ts ?? null;
    const from = at('vad', 'completed')!;
    const to = at('gateway', 'first_output') ?? Infinity;
    // The provider requests made between this turn's end of speech and its first audio sent.
    const within = (path: string) => requests.filter((r) => r.path.endsWith(path) && r.at >= from && r.at <= to);
    const stt = within('/audio/transcriptions')[0];
    const chats = within('/chat/completions');
    const speech = within('/audio/speech')[0];
    return {
      vad_completed: from,
      stt_queued: at('stt', 'queued'),
      stt_started: at('stt', 'started'),
      stt_request: stt?.at ?? null,
      stt_response: stt?.doneAt ?? null,
      stt_completed: at('stt', 'completed'),
      llm_queued: at('llm', 'queued'),
      llm_started: at('llm', 'started'),
      chat_request: chats[0]?.at ?? null,
      chat_response: chats[0]?.doneAt ?? null,
      tool_started: at('tool', 'started'),
      tool_completed: at('tool', 'completed'),
      chat2_request: chats[1]?.at ?? null,
      chat2_response: chats[1]?.doneAt ?? null,
      llm_first_output: at('llm', 'first_output'),
      tts_started: at('tts', 'started'),
      speech_request: speech?.at ?? null,
      tts_first_output: at('tts', 'first_output'),
      gateway_first_output: at('gateway', 'first_output'),
    };
  });
}

// ------------------------------------------------------------------ in-process baseline

/**
 * The same fake providers, called directly in this process: utterance → transcript → chat stream
 * to the first sentence (with `tool`: a first round that asks for lookup_customer, the builtin
 * handler run in-process, then the second round) → first TTS byte. Returns ms, configured delays included.
 */
export async function baselineTurn(client: OpenAI, wav: Buffer, tool: boolean): Promise<number> {
  const t0 = performance.now();
  const tr = await client.audio.transcriptions.create({ file: await toFile(wav, 'u.wav', { type: 'audio/wav' }), model: 'whisper-1' });
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are a helpful agent.' },
    { role: 'user', content: tr.text },
  ];
  const tools = tool ? CUSTOMER_SUPPORT_TOOLS.filter((t) => t.name === 'lookup_customer').map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) : undefined;
  let first: string | undefined;
  for (let round = 0; first === undefined && round < 2; round++) {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages, ...(tools ? { tools } : {}) });
    const splitter = new SentenceSplitter();
    const calls: { id: string; name: string; args: string }[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      if (delta?.content && first === undefined) first = splitter.push(delta.content)[0];
      for (const c of delta?.tool_calls ?? []) {
        const slot = (calls[c.index] ??= { id: '', name: '', args: '' });
        slot.id ||= c.id ?? '';
        slot.name += c.function?.name ?? '';
        slot.args += c.function?.arguments ?? '';
      }
    }
    if (calls.length === 0) {
      first ??= splitter.flush()[0] ?? 'ok';
      break;
    }
    messages.push({ role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) });
    for (const c of calls) {
      const output = await BUILTIN_HANDLERS[c.name]!(JSON.parse(c.args) as Record<string, unknown>, BASELINE_TOOL_CONTEXT);
      messages.push({ role: 'tool', tool_call_id: c.id, content: JSON.stringify(output) });
    }
  }
  const res = await client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: first ?? 'ok', response_format: 'pcm' });
  const reader = (res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  await reader.next();
  const ms = performance.now() - t0;
  for (let r = await reader.next(); !r.done; r = await reader.next());
  return ms;
}

/** The builtin tool's context in the baseline: the customer from memory (the service reads Redis). */
const BASELINE_TOOL_CONTEXT: BuiltinContext = {
  businessId: TOOL_BUSINESS,
  callId: 'baseline',
  verifiedCallerId: async () => null,
  getCustomer: async () => ({ name: 'Jane Doe' }),
  saveTicket: async () => {},
  requestCallAction: async () => {},
};

export function baselineWav(pcm16k: Int16Array): Buffer {
  return encodeWav(pcm16k, 16_000);
}

export function fakeClient(fake: FakeOpenAI): OpenAI {
  return new OpenAI({ baseURL: fake.url, apiKey: 'test', maxRetries: 0 });
}
