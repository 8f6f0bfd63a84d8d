/**
 * Load benchmark: npx tsx bench/load.ts [--calls 1,50,200,500] [--turns 3] [--scale]
 *   (writes bench/out/load.json and prints a table)
 *
 * N simulated callers speak a fixture at real-time pace (20 ms binary frames, one shared timer)
 * over the Realtime WebSocket to a gateway process, with one worker process per stage, all on a
 * private redis-server (so its command count is ours alone) and the fake provider at fixed delays.
 * Each caller: turn 1; turn 2, barged into with turn 3's speech as soon as its first audio arrives;
 * turn 3. Turns 2 and 3 start while the previous answer still plays, so they take the barge-in path
 * (the gateway waits for the interrupting speech's transcript): for a plain turn's added latency
 * and for capacity, bench/latency.ts is the measure. Measured per N:
 * - added latency per turn = (gateway first_output − vad completed, from GET /v1/calls/:id/turns)
 *   − the fake's configured delays (STT + LLM first token + TTS first byte);
 * - the same for an in-process baseline: the same fake providers called directly, N at once;
 * - barge-in reaction, from the onset of the interrupting speech (the first barge-in frame with
 *   speech sent) to: input_audio_buffer.speech_started received; the last audio delta of the old
 *   response received; its response.done (cancelled) received. All include the minimum
 *   interruption (200 ms of speech by default). The last two count only barge-ins that caught the
 *   old response still active (no later delta: its last delta came before the onset, counted 0);
 * - gateway CPU (per call, % of one core) and RSS growth per active call (/proc of its pid);
 * - Redis commands per turn (INFO stats of the private server, everything: BullMQ included).
 * --scale: N=200 with 1 and then 2 worker processes per stage (throughput and latency).
 * --barge-calls N (default 50, 0 = off): a barge-in scenario: every answer is long and streamed
 *   slowly (LLM 20 ms per token), so the barge-in catches it still active and has to stop it
 *   everywhere; its added-latency figures are not comparable with the other rows.
 *
 * The load generator, the fake provider, the gateway and the workers share this machine's cores:
 * the numbers at high N include the generator's own load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI, { toFile } from 'openai';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import type { Stage } from '../src/config';
import { parseWav, encodeWav } from '../src/core/audio/formats';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { resample } from '../src/core/audio/resample';
import { SentenceSplitter } from '../src/core/sentences';
import { startFakeOpenAI, type FakeOpenAI } from '../test/fakes/openai-server';
import { arg, machine, percentile, runMain } from './common';
import { fixturePath } from '../test/fixtures';
import { freePort, spawnGateway, spawnWorker, type ServiceProcess } from '../test/helpers/processes';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'load.json');
export const ADMIN = 'bench-admin-key-0123456789';
export const DELAYS = { sttMs: 100, llmFirstTokenMs: 150, llmTokenMs: 0, ttsFirstByteMs: 100 };
const CONFIGURED_MS = DELAYS.sttMs + DELAYS.llmFirstTokenMs + DELAYS.ttsFirstByteMs;
const FRAME_BYTES = 960; // 20 ms of PCM16 at 24 kHz
const CALL_TIMEOUT_MS = 120_000;
/** Frames of lead-in before the speech onset in the fixture (set in main). */
let onsetMs = 0;

export function loadSpeech(): { frames: Buffer[]; onsetFrame: number; pcm16k: Int16Array } {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const at24 = pcm16ToBytes(resample(pcm, sampleRate, 24_000));
  const frames: Buffer[] = [];
  for (let i = 0; i < at24.length; i += FRAME_BYTES) {
    const f = Buffer.alloc(FRAME_BYTES);
    Buffer.from(at24.buffer, at24.byteOffset + i, Math.min(FRAME_BYTES, at24.length - i)).copy(f);
    frames.push(f);
  }
  // The fixture starts with a little silence: barge-in is timed from the first frame with speech.
  const onset = frames.findIndex((fr) => {
    for (let i = 0; i + 1 < fr.length; i += 2) if (Math.abs(fr.readInt16LE(i)) > 2_000) return true;
    return false;
  });
  onsetMs = Math.min(5, onset) * 20;
  return { frames: frames.slice(Math.max(0, onset - 5)), onsetFrame: Math.min(5, onset), pcm16k: sampleRate === 16_000 ? pcm : resample(pcm, sampleRate, 16_000) };
}

// ------------------------------------------------------------------ private Redis

export async function startRedis(port: number): Promise<{ url: string; proc: ChildProcess; redis: Redis; stop(): Promise<void> }> {
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  let redis: Redis;
  for (let i = 0; ; i++) {
    redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
      break;
    } catch (err) {
      redis.disconnect();
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    proc,
    redis,
    async stop() {
      redis.disconnect();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

// ------------------------------------------------------------------ /proc

export function procStats(pid: number): { cpuS: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuS: ticks / 100, rssKb: Number(rss ?? 0) };
}

// ------------------------------------------------------------------ callers

/** One 20 ms timer feeds every caller (what a real-time client would do, without N timers). */
class Pacer {
  private readonly callers = new Set<Caller>();
  private timer: NodeJS.Timeout | null = null;
  add(c: Caller) {
    this.callers.add(c);
    if (!this.timer) this.timer = setInterval(() => this.tick(), 20);
  }
  remove(c: Caller) {
    this.callers.delete(c);
    if (this.callers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
  private tick() {
    for (const c of this.callers) c.tick();
  }
}

const SILENCE = Buffer.alloc(FRAME_BYTES);

interface CallerResult {
  callId: string;
  completedTurns: number;
  bargeInMs: number | null;
  /** Onset → response.done (cancelled) of the interrupted response, and → its last audio delta. */
  bargeCancelMs: number | null;
  bargeLastAudioMs: number | null;
  error: string | null;
}

class Caller {
  private ws!: WebSocket;
  private queue: Buffer[] = [];
  private state: 't1' | 't2' | 'barge' | 'done' = 't1';
  private t2ResponseId: string | null = null;
  private bargeSentAt: number | null = null;
  private bargeQueued = false;
  private completed = 0;
  private gapTicks = 0;
  private resolve!: (r: CallerResult) => void;
  readonly result: Promise<CallerResult>;
  private bargeInMs: number | null = null;
  private lastOldDeltaAt: number | null = null;
  private bargeCancelMs: number | null = null;
  private bargeLastAudioMs: number | null = null;

  constructor(
    private readonly gatewayUrl: string,
    readonly callId: string,
    private readonly speech: Buffer[],
    private readonly pacer: Pacer,
  ) {
    this.result = new Promise((r) => (this.resolve = r));
  }

  start() {
    this.ws = new WebSocket(`${this.gatewayUrl.replace('http', 'ws')}/v1/calls/${this.callId}/stream?dialect=beta`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const timeout = setTimeout(() => this.finish('timeout'), CALL_TIMEOUT_MS);
    this.ws.on('open', () => {
      this.queue.push(...this.speech);
      this.pacer.add(this);
    });
    this.ws.on('message', (data, binary) => {
      if (binary) return;
      const e = JSON.parse(data.toString()) as { type: string; response_id?: string; response?: { id: string; status: string } };
      this.onEvent(e);
    });
    this.ws.on('error', (err) => this.finish(err.message));
    this.ws.on('close', () => this.finish(this.state === 'done' ? null : 'closed early'));
    void this.result.then(() => clearTimeout(timeout));
  }

  private onEvent(e: { type: string; response_id?: string; response?: { id: string; status: string } }) {
    if (e.type === 'response.created' && this.state === 't2') this.t2ResponseId = e.response!.id;
    if (e.type === 'response.audio.delta' && this.state === 't2' && !this.bargeQueued) {
      this.bargeQueued = true; // barge in: the next question while the answer is arriving
      this.queue.push(...this.speech);
    }
    const onsetAt = this.bargeSentAt === null ? null : this.bargeSentAt + onsetMs;
    if (e.type === 'input_audio_buffer.speech_started' && this.state === 'barge' && onsetAt !== null && this.bargeInMs === null) {
      this.bargeInMs = Date.now() - onsetAt;
    }
    if (e.type === 'response.audio.delta' && this.state === 'barge' && e.response_id === this.t2ResponseId) this.lastOldDeltaAt = Date.now();
    if (e.type !== 'response.done') return;
    if (e.response?.id === this.t2ResponseId && e.response?.status === 'cancelled' && onsetAt !== null) {
      this.bargeCancelMs = Date.now() - onsetAt;
      this.bargeLastAudioMs = Math.max(0, (this.lastOldDeltaAt ?? onsetAt) - onsetAt);
    }
    if (e.response?.status === 'completed') this.completed++;
    if (this.state === 't1') {
      this.state = 't2';
      this.gapTicks = 25; // half a second of silence between turns
    } else if ((this.state === 't2' || this.state === 'barge') && e.response?.id !== this.t2ResponseId) {
      this.state = 'done';
      this.ws.close();
    }
  }

  tick() {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.gapTicks > 0) {
      this.gapTicks--;
      if (this.gapTicks === 0) this.queue.push(...this.speech);
      this.ws.send(SILENCE);
      return;
    }
    const frame = this.queue.shift();
    if (frame && this.bargeQueued && this.state === 't2') {
      this.state = 'barge';
      this.bargeSentAt = Date.now();
    }
    this.ws.send(frame ?? SILENCE);
  }

  private finish(error: string | null) {
    this.pacer.remove(this);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
    this.resolve({ callId: this.callId, completedTurns: this.completed, bargeInMs: this.bargeInMs, bargeCancelMs: this.bargeCancelMs, bargeLastAudioMs: this.bargeLastAudioMs, error });
  }
}

// ------------------------------------------------------------------ the service under test

export interface Deployment {
  gatewayUrl: string;
  gateway: ServiceProcess;
  workers: ServiceProcess[];
  stop(): Promise<void>;
}

/** `extraEnv`: more variables for every process (REDIS_CLUSTER_NODES for bench/cluster.ts). */
export async function deploy(fake: FakeOpenAI, redisUrl: string, prefix: string, perStage: number, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const port = await freePort();
  const env = { prefix, providerUrl: fake.url, redisUrl, env: extraEnv };
  const gateway = spawnGateway({ ...env, port, adminKey: ADMIN });
  const workers: ServiceProcess[] = [];
  for (const stage of ['stt', 'llm', 'tts'] as Stage[]) for (let i = 0; i < perStage; i++) workers.push(spawnWorker(stage, env));
  await Promise.all([gateway.ready, ...workers.map((w) => w.ready)]);
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const res = await fetch(`${gatewayUrl}/v1/businesses/bench`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', session: { instructions: 'You are a helpful agent.' }, limits: { max_concurrent_calls: 10_000, requests_per_minute: 100_000 } }),
  });
  if (!res.ok) throw new Error(`business setup failed: ${res.status} ${await res.text()}`);
  return {
    gatewayUrl,
    gateway,
    workers,
    async stop() {
      // Graceful first; a process still busy after 5 s (e.g. a job stuck on a provider) is killed.
      await Promise.all([gateway, ...workers].map((p) => Promise.race([p.kill('SIGTERM'), new Promise((r) => setTimeout(r, 5_000))]).then(() => p.kill('SIGKILL'))));
    },
  };
}

async function createCall(gatewayUrl: string): Promise<string> {
  const res = await fetch(`${gatewayUrl}/v1/calls`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ business_id: 'bench' }),
  });
  if (!res.ok) throw new Error(`create call: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

interface Waterfall {
  stt_done_ms: number | null;
  llm_first_token_ms: number | null;
  tts_first_audio_ms: number | null;
  first_audio_sent_ms: number | null;
  cancelled: boolean;
  attempts: Record<string, number>;
}

async function turnsOf(gatewayUrl: string, callId: string): Promise<Waterfall[]> {
  const res = await fetch(`${gatewayUrl}/v1/calls/${callId}/turns`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return ((await res.json()) as { data: Waterfall[] }).data;
}

export interface PhaseResult {
  scenario: 'load' | 'barge' | 'scale';
  calls: number;
  workers_per_stage: number;
  turns_expected: number;
  turns_completed: number;
  calls_failed: number;
  wall_s: number;
  turns_per_s: number;
  added_ms: { p50: number | null; p95: number | null; p99: number | null; n: number };
  barge_in_ms: { p50: number | null; p95: number | null; p99: number | null; n: number };
  barge_cancel_ms: { p50: number | null; p95: number | null; p99: number | null; n: number };
  barge_last_audio_ms: { p50: number | null; p95: number | null; p99: number | null; n: number };
  gateway_cpu_pct_per_call: number;
  gateway_cpu_pct_total: number;
  gateway_rss_kb_per_call: number;
  gateway_rss_peak_mb: number;
  redis_cmds_per_turn: number;
  errors: Record<string, number>;
  /** Turns where a stage job ran more than once (a lost lock under load looks like a crash to BullMQ). */
  turns_with_redelivered_jobs: number;
  /** p50 of: speech end → STT done, → LLM first token, → TTS first audio, → first audio sent. */
  stage_p50_ms: Record<string, number | null>;
}

/** `redis`: the server whose command count is taken, or a function that counts (a cluster's, summed). */
export async function phase(dep: Deployment, redis: Redis | (() => Promise<number>), n: number, speech: Buffer[], perStage: number, scenario: PhaseResult['scenario'] = 'load'): Promise<PhaseResult> {
  const pacer = new Pacer();
  const ids = await Promise.all(Array.from({ length: n }, () => createCall(dep.gatewayUrl)));
  const before = procStats(dep.gateway.pid);
  const count = typeof redis === 'function' ? redis : () => redisCommands(redis);
  const cmdsBefore = await count();
  let peakRss = before.rssKb;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStats(dep.gateway.pid).rssKb)), 200);
  const t0 = Date.now();
  const rampMs = Math.min(3_000, n * 10);
  const callers = ids.map((id, i) => {
    const c = new Caller(dep.gatewayUrl, id, speech, pacer);
    setTimeout(() => c.start(), (i * rampMs) / n);
    return c;
  });
  const results = await Promise.all(callers.map((c) => c.result));
  const wallS = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const after = procStats(dep.gateway.pid);
  const cmds = (await count()) - cmdsBefore;
  const added: number[] = [];
  const marks: Record<'stt' | 'llm' | 'tts' | 'sent', number[]> = { stt: [], llm: [], tts: [], sent: [] };
  let redelivered = 0;
  for (const id of ids) {
    for (const w of await turnsOf(dep.gatewayUrl, id)) {
      if (Object.values(w.attempts ?? {}).some((a) => a > 1)) redelivered++;
      if (w.first_audio_sent_ms === null || w.stt_done_ms === null || w.llm_first_token_ms === null || w.tts_first_audio_ms === null) continue;
      added.push(w.first_audio_sent_ms - CONFIGURED_MS);
      // Each stage's own span (its configured delay included), so the overhead can be placed.
      marks.stt.push(w.stt_done_ms);
      marks.llm.push(w.llm_first_token_ms - w.stt_done_ms);
      marks.tts.push(w.tts_first_audio_ms - w.llm_first_token_ms);
      marks.sent.push(w.first_audio_sent_ms - w.tts_first_audio_ms);
    }
  }
  const completed = results.reduce((a, r) => a + r.completedTurns, 0);
  const barge = results.flatMap((r) => (r.bargeInMs === null ? [] : [r.bargeInMs]));
  const bargeCancel = results.flatMap((r) => (r.bargeCancelMs === null ? [] : [r.bargeCancelMs]));
  const bargeLastAudio = results.flatMap((r) => (r.bargeLastAudioMs === null ? [] : [r.bargeLastAudioMs]));
  const errors: Record<string, number> = {};
  for (const r of results) if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1;
  const cpuS = after.cpuS - before.cpuS;
  const q = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), n: xs.length });
  return {
    scenario,
    calls: n,
    workers_per_stage: perStage,
    turns_expected: n * 3,
    turns_completed: completed,
    calls_failed: results.filter((r) => r.error).length,
    wall_s: round(wallS, 1),
    turns_per_s: round(completed / wallS, 1),
    added_ms: q(added),
    barge_in_ms: q(barge),
    barge_cancel_ms: q(bargeCancel),
    barge_last_audio_ms: q(bargeLastAudio),
    gateway_cpu_pct_total: round((100 * cpuS) / wallS, 1),
    gateway_cpu_pct_per_call: round((100 * cpuS) / wallS / n, 2),
    gateway_rss_kb_per_call: Math.round((peakRss - before.rssKb) / n),
    gateway_rss_peak_mb: round(peakRss / 1024, 1),
    redis_cmds_per_turn: Math.round(cmds / Math.max(1, completed)),
    errors,
    turns_with_redelivered_jobs: redelivered,
    stage_p50_ms: Object.fromEntries(Object.entries(marks).map(([k, xs]) => [k, percentile(xs, 50)])),
  };
}

// ------------------------------------------------------------------ in-process baseline

/** The same three fake providers, called directly: utterance → transcript → first sentence → first TTS byte. */
async function baselineTurn(client: OpenAI, wav: Buffer): Promise<number> {
  const t0 = performance.now();
  const tr = await client.audio.transcriptions.create({ file: await toFile(wav, 'u.wav', { type: 'audio/wav' }), model: 'whisper-1' });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'system', content: 'You are a helpful agent.' }, { role: 'user', content: tr.text }] });
  const splitter = new SentenceSplitter();
  let first: string | undefined;
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta?.content;
    if (piece && first === undefined) first = splitter.push(piece)[0];
  }
  first ??= splitter.flush()[0] ?? 'ok';
  const res = await client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: first, response_format: 'pcm' });
  const reader = (res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  await reader.next();
  const ms = performance.now() - t0;
  for (let r = await reader.next(); !r.done; r = await reader.next());
  return ms - CONFIGURED_MS;
}

async function baseline(fake: FakeOpenAI, n: number, pcm16k: Int16Array): Promise<{ p50: number | null; p95: number | null; p99: number | null; n: number }> {
  const client = new OpenAI({ baseURL: fake.url, apiKey: 'test', maxRetries: 0 });
  const wav = encodeWav(pcm16k, 16_000);
  const xs: number[] = [];
  for (let round = 0; round < 3; round++) xs.push(...(await Promise.all(Array.from({ length: n }, () => baselineTurn(client, wav)))));
  return { p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), n: xs.length };
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const f = (x: number | null) => (x === null ? '-' : x.toFixed(0));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b <= 0 ? '-' : (a / b).toFixed(1) + '×');

const LONG_ANSWER =
  'Sure. Our opening hours are nine to five on weekdays. On Saturdays we open at ten and close at four. We are closed on Sundays and on public holidays. Is there anything else I can help you with today?';

/** Runs `fn` with every answer long and slowly streamed, so a barge-in finds it still going. */
async function withLongAnswers<T>(fake: FakeOpenAI, answers: number, fn: () => Promise<T>): Promise<T> {
  const delays = fake.script.delays;
  fake.script.delays = { ...delays, llmTokenMs: 20 };
  fake.script.chat.push(...Array.from({ length: answers + 10 }, () => ({ text: LONG_ANSWER })));
  try {
    return await fn();
  } finally {
    fake.script.delays = delays;
    fake.script.chat.length = 0;
    fake.requests.length = 0;
  }
}

async function main() {
  const ns = arg('calls', '1,50,200,500').split(',').filter(Boolean).map(Number);
  const scale = process.argv.includes('--scale');
  const bargeCalls = Number(arg('barge-calls', '50'));
  const { frames, onsetFrame, pcm16k } = loadSpeech();
  onsetMs = onsetFrame * 20;
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const rds = await startRedis(6390 + Math.floor(Math.random() * 100));
  const rows: (PhaseResult & { baseline_ms: PhaseResult['added_ms'] })[] = [];
  const stop = async () => {
    await rds.stop();
    await fake.close();
  };
  try {
    const dep = await deploy(fake, rds.url, 'bench', 1);
    try {
      for (const n of ns) {
        const r = await phase(dep, rds.redis, n, frames, 1);
        const b = await baseline(fake, n, pcm16k);
        rows.push({ ...r, baseline_ms: b });
        fake.requests.length = 0;
        console.error(`N=${n}: ${JSON.stringify({ ...r, baseline_ms: b })}`);
      }
      if (bargeCalls > 0) {
        const r = await withLongAnswers(fake, bargeCalls * 3, () => phase(dep, rds.redis, bargeCalls, frames, 1, 'barge'));
        rows.push({ ...r, baseline_ms: { p50: null, p95: null, p99: null, n: 0 } });
        console.error(`barge N=${bargeCalls}: ${JSON.stringify(r)}`);
      }
    } finally {
      await dep.stop();
    }
    if (scale) {
      for (const per of [1, 2]) {
        await rds.redis.flushall();
        const d = await deploy(fake, rds.url, `bench${per}`, per);
        try {
          const r = await phase(d, rds.redis, 200, frames, per, 'scale');
          rows.push({ ...r, baseline_ms: { p50: null, p95: null, p99: null, n: 0 } });
          fake.requests.length = 0;
          console.error(`scale ${per}/stage: ${JSON.stringify(r)}`);
        } finally {
          await d.stop();
        }
      }
    }
  } finally {
    await stop();
  }

  const machineName = machine();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), machine: machineName, delays: DELAYS, rows }, null, 2));
  console.log(`\nload: ${new Date().toISOString()} on ${machineName}; fake delays ${JSON.stringify(DELAYS)} (${CONFIGURED_MS} ms configured per turn)\n`);
  console.log('| scenario | calls | workers/stage | turns ok | added p50/p95/p99 ms | baseline p50/p95/p99 ms | ratio p50/p95 | barge-in → speech_started p50/p95/p99 ms | → last old audio p50/p95 ms | → cancelled p50/p95 ms (n) | gw CPU % (total / per call) | gw RSS (peak − before) ÷ calls, KB (peak MB; memory.ts measures after GC) | Redis cmds/turn | turns/s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const a = r.added_ms;
    const b = r.baseline_ms;
    console.log(
      `| ${r.scenario} | ${r.calls} | ${r.workers_per_stage} | ${r.turns_completed}/${r.turns_expected} | ${f(a.p50)} / ${f(a.p95)} / ${f(a.p99)} | ${b.n ? `${f(b.p50)} / ${f(b.p95)} / ${f(b.p99)}` : '-'} | ${b.n ? `${ratio(a.p50, b.p50)} / ${ratio(a.p95, b.p95)}` : '-'} | ${f(r.barge_in_ms.p50)} / ${f(r.barge_in_ms.p95)} / ${f(r.barge_in_ms.p99)} | ${f(r.barge_last_audio_ms.p50)} / ${f(r.barge_last_audio_ms.p95)} | ${f(r.barge_cancel_ms.p50)} / ${f(r.barge_cancel_ms.p95)} (${r.barge_cancel_ms.n}) | ${r.gateway_cpu_pct_total} / ${r.gateway_cpu_pct_per_call} | ${r.gateway_rss_kb_per_call} (${r.gateway_rss_peak_mb}) | ${r.redis_cmds_per_turn} | ${r.turns_per_s} |`,
    );
  }
}

runMain(import.meta, main);
