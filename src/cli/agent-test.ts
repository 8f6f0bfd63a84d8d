/**
 * `voice-agent test <scenario.yaml>...` (docs/DESIGN.md §10): each scenario is one call against a
 * running service over the Realtime WebSocket (beta dialect), turn by turn:
 * - `text:` a typed user item, then response.create;
 * - `say:` the text synthesised by the TTS provider the service's environment names (the same
 *   variables: TTS_BASE_URL / OPENAI_BASE_URL and their keys; with none, the built-in local
 *   provider is started in this process), then sent like `audio:`;
 * - `audio:` a PCM16 WAV appended as fast as the socket takes it, committed by hand (the call runs
 *   with turn_detection off, so the turn is exactly the file), then response.create.
 * A turn is over at its response.done (and, for spoken turns, its transcription). `judge` asks
 * the service's own LLM through a temporary grader business. Inline business configs and the
 * judge need the admin key.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../config';
import { pcm16ToBytes } from '../core/audio/pcm';
import { loadWav } from './call';
import { request, type Target } from './client';
import { checkTurn, parseVerdict, type Scenario, type ScenarioTurn, type ToolCall, type TurnOutcome } from './scenario';

const RATE = 24_000;
const TURN_TIMEOUT_MS = 60_000;

export interface TurnResult extends TurnOutcome {
  failures: string[];
  judge: { pass: boolean; reason: string } | null;
}

export interface ScenarioRun {
  name: string;
  file: string;
  run: number;
  turns: TurnResult[];
  /** An error that stopped the scenario (the service refused the call, a timeout…). */
  error: string | null;
  durationMs: number;
}

export const passed = (r: ScenarioRun) => r.error === null && r.turns.every((t) => t.failures.length === 0);

interface Event {
  type: string;
  [k: string]: unknown;
}

/** The call's WebSocket: every event kept with the time it came. */
class EventSocket {
  readonly events: { e: Event; at: number }[] = [];
  private readonly waiters = new Set<() => void>();
  private closed: string | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.events.push({ e: JSON.parse(data.toString()) as Event, at: performance.now() });
      this.wake();
    });
    ws.on('close', (_c, reason) => {
      this.closed = reason.toString() || 'the service closed the call';
      this.wake();
    });
    ws.on('error', (err) => {
      this.closed = err.message;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  send(e: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(e));
  }

  /** The first event from `from` on matching, waiting for it. */
  async waitFor(match: (e: Event) => boolean, from: number, timeoutMs = TURN_TIMEOUT_MS): Promise<{ e: Event; at: number; index: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((x, i) => i >= from && match(x.e));
      if (index >= 0) return { ...this.events[index]!, index };
      if (this.closed) throw new Error(`the call ended: ${this.closed}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no answer within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      }).finally(() => this.waiters.clear());
    }
  }
}

export interface RunnerDeps {
  env: NodeJS.ProcessEnv;
}

/** Shared across the scenarios of one `voice-agent test`: the TTS endpoint and the judge business. */
export class AgentTester {
  private tts: Promise<{ url: string; key: string; model: string; close?: () => Promise<void> }> | null = null;
  private judgeBusiness: Promise<string> | null = null;

  constructor(private readonly t: Target, private readonly deps: RunnerDeps) {}

  async run(sc: Scenario, file: string, run: number): Promise<ScenarioRun> {
    const started = performance.now();
    const result: ScenarioRun = { name: sc.name ?? file, file, run, turns: [], error: null, durationMs: 0 };
    let temp: string | null = null;
    let callId: string | null = null;
    let ws: WebSocket | null = null;
    try {
      let business: string;
      if (typeof sc.business === 'string') business = sc.business;
      else {
        temp = business = `agent-test-${randomBytes(4).toString('hex')}`;
        await request(this.t, `/v1/businesses/${temp}`, { method: 'PUT', json: sc.business.config });
      }
      const spoken = sc.turns.some((t) => t.text === undefined);
      // Spoken turns are committed by hand: the turn is exactly the audio, whatever the VAD would say.
      const session = { ...(sc.session ?? {}), ...(spoken ? { turn_detection: null } : {}) };
      const call = await request<{ id: string }>(this.t, '/v1/calls', { method: 'POST', json: { business_id: business, session, metadata: { source: 'voice-agent-test' } } });
      callId = call.id;
      ws = new WebSocket(`${this.t.url.replace(/^http/, 'ws')}/v1/calls/${call.id}/stream?dialect=beta`, { headers: { authorization: `Bearer ${this.t.key}` } });
      const sock = new EventSocket(ws);
      await sock.waitFor((e) => e.type === 'session.created', 0);
      for (const turn of sc.turns) {
        const outcome = await this.turn(sock, turn, file);
        const failures = checkTurn(outcome, turn.expect);
        let judge: TurnResult['judge'] = null;
        if (turn.expect.judge) {
          judge = await this.judge(turn.expect.judge, outcome).catch((err: Error) => ({ pass: false, reason: `could not judge: ${err.message}` }));
          if (!judge.pass) failures.push(`judge "${turn.expect.judge}": ${judge.reason}`);
        }
        result.turns.push({ ...outcome, failures, judge });
      }
    } catch (err) {
      result.error = (err as Error).message;
    } finally {
      ws?.close();
      if (callId) await request(this.t, `/v1/calls/${callId}`, { method: 'DELETE' }).catch(() => {});
      if (temp) await request(this.t, `/v1/businesses/${temp}`, { method: 'DELETE' }).catch(() => {});
      result.durationMs = performance.now() - started;
    }
    return result;
  }

  /** Deletes the judge business and stops a local TTS provider started here. */
  async close(): Promise<void> {
    const judge = await this.judgeBusiness?.catch(() => null);
    if (judge) await request(this.t, `/v1/businesses/${judge}`, { method: 'DELETE' }).catch(() => {});
    const tts = await this.tts?.catch(() => null);
    await tts?.close?.();
  }

  private async turn(sock: EventSocket, turn: ScenarioTurn, file: string): Promise<TurnOutcome> {
    const began = performance.now();
    const from = sock.events.length;
    let said: string;
    if (turn.text !== undefined) {
      said = `text: ${turn.text}`;
      sock.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.text }] } });
    } else {
      const pcm = turn.say !== undefined ? await this.synthesize(turn.say) : loadWav(resolve(dirname(file), turn.audio!));
      said = turn.say !== undefined ? `say: ${turn.say}` : `audio: ${turn.audio}`;
      const bytes = pcm16ToBytes(pcm);
      for (let i = 0; i < bytes.length; i += 9600) sock.send({ type: 'input_audio_buffer.append', audio: Buffer.from(bytes.subarray(i, i + 9600)).toString('base64') });
      sock.send({ type: 'input_audio_buffer.commit' });
    }
    sock.send({ type: 'response.create' });
    const t0 = performance.now();
    const done = await sock.waitFor((e) => e.type === 'response.done', from);
    let transcript: string | null = null;
    if (turn.text === undefined) {
      const tr = await sock.waitFor((e) => e.type === 'conversation.item.input_audio_transcription.completed' || e.type === 'conversation.item.input_audio_transcription.failed', from);
      transcript = tr.e.type.endsWith('completed') ? String(tr.e.transcript ?? '') : `(transcription failed: ${JSON.stringify(tr.e.error)})`;
    }
    const slice = sock.events.slice(from, done.index + 1);
    const firstAudio = slice.find((x) => x.e.type === 'response.audio.delta');
    const response = done.e.response as { status: string; output?: { type: string; name?: string; arguments?: string; content?: { text?: string; transcript?: string }[] }[] };
    const toolCalls: ToolCall[] = (response.output ?? []).filter((i) => i.type === 'function_call').map((i) => ({ name: i.name ?? '', arguments: parseArgs(i.arguments) }));
    const text = (response.output ?? [])
      .filter((i) => i.type === 'message')
      .flatMap((i) => i.content ?? [])
      .map((c) => c.transcript ?? c.text ?? '')
      .join(' ')
      .trim();
    const deltas = slice.filter((x) => x.e.type === 'response.audio_transcript.delta' || x.e.type === 'response.text.delta').map((x) => String(x.e.delta ?? '')).join('');
    const errors = slice.filter((x) => x.e.type === 'error').map((x) => (x.e.error as { message?: string }).message);
    const status = response.status === 'completed' || errors.length === 0 ? response.status : `${response.status} (${errors.join('; ')})`;
    return { said, transcript, response: text || deltas.trim(), toolCalls, firstAudioMs: firstAudio ? firstAudio.at - t0 : null, status, durationMs: performance.now() - began };
  }

  /** Text → PCM16 24 kHz through the TTS provider of the service's environment, then 300 ms of silence. */
  private async synthesize(text: string): Promise<Int16Array> {
    this.tts ??= this.ttsEndpoint();
    const tts = await this.tts;
    const res = await fetch(`${tts.url}/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tts.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: tts.model, voice: 'alloy', input: text, response_format: 'pcm' }),
    });
    if (!res.ok) throw new Error(`TTS ${tts.url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    const body = Buffer.from(await res.arrayBuffer());
    const out = new Int16Array(Math.floor(body.length / 2) + (RATE * 300) / 1000);
    out.set(new Int16Array(body.buffer, body.byteOffset, Math.floor(body.length / 2)));
    return out;
  }

  private async ttsEndpoint(): Promise<{ url: string; key: string; model: string; close?: () => Promise<void> }> {
    const c = loadConfig(this.deps.env);
    if (!c.localProvider) return { url: c.tts.baseURL.replace(/\/+$/, ''), key: c.tts.apiKey, model: c.tts.model };
    const { startLocalProvider } = await import('../local-provider/server');
    const p = await startLocalProvider();
    return { url: p.url, key: 'local', model: c.tts.model, close: () => p.close() };
  }

  /** Asks the service's LLM, through a grader business, whether the answer meets `criterion`. */
  private async judge(criterion: string, o: TurnOutcome): Promise<{ pass: boolean; reason: string }> {
    this.judgeBusiness ??= this.createJudge();
    const business = await this.judgeBusiness;
    const call = await request<{ id: string }>(this.t, '/v1/calls', { method: 'POST', json: { business_id: business, session: { modalities: ['text'] }, metadata: { source: 'voice-agent-test judge' } } });
    const ws = new WebSocket(`${this.t.url.replace(/^http/, 'ws')}/v1/calls/${call.id}/stream?dialect=beta`, { headers: { authorization: `Bearer ${this.t.key}` } });
    const sock = new EventSocket(ws);
    try {
      await sock.waitFor((e) => e.type === 'session.created', 0);
      const from = sock.events.length;
      const caller = o.transcript ?? o.said.replace(/^\w+: /, '');
      const tools = o.toolCalls.length ? `\nTools the agent called: ${o.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(', ')}` : '';
      sock.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `Criterion: ${criterion}\nThe caller said: ${caller}\nThe agent answered: ${o.response}${tools}` }] } });
      sock.send({ type: 'response.create' });
      const done = await sock.waitFor((e) => e.type === 'response.done', from);
      const answer = sock.events
        .slice(from, done.index + 1)
        .filter((x) => x.e.type === 'response.text.delta' || x.e.type === 'response.audio_transcript.delta')
        .map((x) => String(x.e.delta ?? ''))
        .join('');
      return parseVerdict(answer) ?? { pass: false, reason: `the judge gave no PASS/FAIL verdict: "${answer.trim().slice(0, 200)}"` };
    } finally {
      ws.close();
      await request(this.t, `/v1/calls/${call.id}`, { method: 'DELETE' }).catch(() => {});
    }
  }

  private async createJudge(): Promise<string> {
    const id = `agent-test-judge-${randomBytes(4).toString('hex')}`;
    await request(this.t, `/v1/businesses/${id}`, {
      method: 'PUT',
      json: {
        name: 'voice-agent test judge',
        session: {
          instructions:
            "You grade a voice agent's answer against a criterion. You get the criterion, what the caller said and what the agent answered. " +
            'Reply with one line only: PASS: <one-sentence reason> if the answer meets the criterion, else FAIL: <one-sentence reason>.',
          temperature: 0,
        },
        allowed_overrides: ['modalities'],
      },
    });
    return id;
  }
}

function parseArgs(s: string | undefined): Record<string, unknown> {
  try {
    const v = JSON.parse(s ?? '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
