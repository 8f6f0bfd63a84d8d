/**
 * `voice-agent call <business> <file.wav>`: a new call, the file streamed in as the caller's voice
 * (PCM16 24 kHz over the Realtime WebSocket, paced like a live caller unless --speed says
 * otherwise), the agent's replies written to a WAV file and the transcript to a text file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { encodeWav, parseWav } from '../core/audio/formats';
import { pcm16ToBytes } from '../core/audio/pcm';
import { resample } from '../core/audio/resample';
import { request, type Target } from './client';
import { Progress } from './progress';

const RATE = 24_000;
const CHUNK_MS = 100;

export interface CallOptions {
  business: string;
  file: string;
  out?: string;
  transcriptOut?: string;
  /** Real-time multiple (1 = like a live caller); 0 streams as fast as the socket takes it. */
  speed: number;
  /** Silence sent after the file so the VAD ends the last turn. */
  tailMs: number;
  timeoutMs: number;
  dialect: 'ga' | 'beta';
}

interface ServerEvent {
  type: string;
  [k: string]: unknown;
}

/** Mono PCM16 at 24 kHz from a PCM16 WAV file (any rate, channels mixed down). */
export function loadWav(path: string): Int16Array {
  const { pcm, sampleRate, channels } = parseWav(readFileSync(path));
  let mono = pcm;
  if (channels > 1) {
    mono = new Int16Array(Math.floor(pcm.length / channels));
    for (let i = 0; i < mono.length; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pcm[i * channels + c]!;
      mono[i] = Math.round(sum / channels);
    }
  }
  return sampleRate === RATE ? mono : resample(mono, sampleRate, RATE);
}

export async function runCall(t: Target, o: CallOptions, out: { log: (s: string) => void; progress: Progress }): Promise<{ callId: string; transcript: string[] }> {
  const pcm = loadWav(o.file);
  const call = await request<{ id: string; mode: string }>(t, '/v1/calls', { method: 'POST', json: { business_id: o.business, metadata: { source: 'voice-agent-cli' } } });
  out.log(`call ${call.id} (${call.mode} mode), streaming ${o.file} (${(pcm.length / RATE).toFixed(1)} s)`);
  const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/v1/calls/${call.id}/stream?dialect=${o.dialect}`, { headers: { authorization: `Bearer ${t.key}` } });
  const session = new CallSession(ws);
  await session.opened();

  // Stream the file plus a tail of silence, paced against the wall clock.
  const total = new Int16Array(pcm.length + Math.round((o.tailMs * RATE) / 1000));
  total.set(pcm);
  const chunk = (RATE * CHUNK_MS) / 1000;
  const started = Date.now();
  for (let at = 0; at < total.length; at += chunk) {
    if (session.closedReason !== null) throw new Error(`the service closed the call: ${session.closedReason}`);
    ws.send(pcm16ToBytes(total.subarray(at, at + chunk)));
    out.progress.update(Math.min(at + chunk, pcm.length) / RATE, pcm.length / RATE, `turns ${session.turns} · replies ${session.responsesDone}`);
    if (o.speed > 0) {
      const due = started + ((at + chunk) / RATE) * 1000 / o.speed;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  out.progress.done(`streamed ${(pcm.length / RATE).toFixed(1)} s; waiting for the agent to finish`);
  await session.drain(o.dialect);
  await session.finished(o.timeoutMs);
  ws.close(1000, 'done');

  const reply = Buffer.concat(session.audio);
  const stem = basename(o.file, extname(o.file));
  const audioPath = o.out ?? `${stem}.reply.wav`;
  const transcriptPath = o.transcriptOut ?? `${stem}.transcript.txt`;
  writeFileSync(audioPath, encodeWav(new Int16Array(reply.buffer, reply.byteOffset, reply.length >> 1), RATE));
  writeFileSync(transcriptPath, session.transcript.join('\n') + '\n');
  out.log(`wrote ${audioPath} (${(reply.length / 2 / RATE).toFixed(1)} s of reply audio) and ${transcriptPath}`);
  out.log(`stage timeline: voice-agent logs ${call.id}`);
  return { callId: call.id, transcript: session.transcript };
}

/** What the CLI tracks of the server's events to know when every turn has been answered. */
class CallSession {
  readonly audio: Buffer[] = [];
  readonly transcript: string[] = [];
  turns = 0;
  responsesDone = 0;
  closedReason: string | null = null;
  private speechStarted = 0;
  private speechStopped = 0;
  private manualTurns = 0;
  private transcribed = 0;
  private responsesCreated = 0;
  /** Whether the last transcribed turn still expects an answer. */
  private awaitingAnswer = false;
  private drained = false;
  private readonly waiters = new Set<() => void>();
  private readonly error: Promise<never>;

  constructor(private readonly ws: WebSocket) {
    this.error = new Promise<never>((_, reject) => {
      ws.on('error', (err) => reject(err));
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new Error(`WebSocket refused: ${res.statusCode} ${body}`)));
      });
    });
    this.error.catch(() => {});
    ws.on('close', (_code, reason) => {
      this.closedReason = reason.toString() || 'closed';
      this.notify();
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onEvent(JSON.parse(data.toString()) as ServerEvent);
    });
  }

  async opened(): Promise<void> {
    await Promise.race([this.until(() => this.sessionCreated), this.error]);
  }

  private sessionCreated = false;

  private onEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'session.created':
        this.sessionCreated = true;
        break;
      case 'session.updated':
        this.drained = true;
        break;
      case 'input_audio_buffer.speech_started':
        this.speechStarted++;
        break;
      case 'input_audio_buffer.speech_stopped':
        this.speechStopped++;
        this.turns++;
        break;
      case 'conversation.item.input_audio_transcription.completed': {
        this.transcribed++;
        const text = String(e.transcript ?? '').trim();
        this.awaitingAnswer = text.length > 0;
        if (text) this.transcript.push(`user: ${text}`);
        break;
      }
      case 'conversation.item.input_audio_transcription.failed':
        this.transcribed++;
        this.awaitingAnswer = false;
        this.transcript.push(`user: (transcription failed)`);
        break;
      case 'response.created':
        this.responsesCreated++;
        break;
      case 'response.audio.delta':
      case 'response.output_audio.delta':
        this.audio.push(Buffer.from(String(e.delta), 'base64'));
        break;
      case 'response.audio_transcript.done':
      case 'response.output_audio_transcript.done':
      case 'response.text.done':
      case 'response.output_text.done':
        this.transcript.push(`assistant: ${String(e.transcript ?? e.text ?? '')}`);
        break;
      case 'response.function_call.done':
        this.transcript.push(`tool: ${String(e.name)}(${String(e.arguments)}) → ${String(e.output)} [${String(e.duration_ms)} ms]`);
        break;
      case 'response.done': {
        this.responsesDone++;
        this.awaitingAnswer = false;
        const r = e.response as { status?: string } | undefined;
        if (r?.status && r.status !== 'completed') this.transcript.push(`(response ${r.status})`);
        break;
      }
      case 'error': {
        const err = e.error as { message?: string } | undefined;
        this.transcript.push(`error: ${err?.message ?? JSON.stringify(e.error)}`);
        break;
      }
      default:
        break;
    }
    this.notify();
  }

  /**
   * Frames are handled in order, so the reply to a session.update arrives after the service has
   * run the VAD over every byte sent; a turn still open then is committed by hand.
   */
  async drain(dialect: 'ga' | 'beta'): Promise<void> {
    this.ws.send(JSON.stringify({ type: 'session.update', session: dialect === 'ga' ? { type: 'realtime' } : {} }));
    await this.until(() => this.drained);
    if (this.speechStarted > this.speechStopped) {
      this.manualTurns++;
      this.turns++;
      this.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      this.ws.send(JSON.stringify({ type: 'response.create' }));
    }
  }

  /** Every turn transcribed, the last one answered, no response still running. */
  async finished(timeoutMs: number): Promise<void> {
    const expected = this.speechStopped + this.manualTurns;
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`timed out after ${timeoutMs} ms waiting for the agent (${this.transcribed}/${expected} turns transcribed, ${this.responsesDone} replies)`);
    });
    timeout.catch(() => {});
    try {
      await Promise.race([this.until(() => this.transcribed >= expected && !this.awaitingAnswer && this.responsesCreated === this.responsesDone), timeout]);
    } finally {
      timer.abort(); // a pending timer would keep the process alive
    }
  }

  private until(pred: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          this.waiters.delete(check);
          resolve();
        } else if (this.closedReason !== null) {
          this.waiters.delete(check);
          reject(new Error(`the service closed the call: ${this.closedReason}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
