/**
 * Worker-kill benchmark: npx tsx bench/kill.ts [--kills 20] [--calls 8]
 *   (writes bench/out/kill.json)
 *
 * A gateway process and two worker processes per stage (private redis-server, fake provider with
 * delays long enough that jobs are in flight most of the time). `--calls` callers speak turn after
 * turn while a killer SIGKILLs a worker every few seconds, stage by stage (and starts a replacement).
 * `redelivered_jobs` counts jobs started again (stage-log `started` with attempt > 1): a kill can
 * redeliver none (the worker was idle), one, or several (a worker runs jobs concurrently), and a
 * lock that expires on a busy worker redelivers without a kill — it is not a count of kills.
 * At the end every turn is checked: one response.done(completed), its audio bytes exactly what
 * the fake synthesised for the reply (none lost, none doubled), its transcript deltas equal to
 * the final text, and history with exactly one user and one assistant entry per turn.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Stage } from '../src/config';
import { parseWav } from '../src/core/audio/formats';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { resample } from '../src/core/audio/resample';
import { SentenceSplitter } from '../src/core/sentences';
import { Keys } from '../src/adapters/redis';
import { startFakeOpenAI } from '../test/fakes/openai-server';
import { speechDurationMs } from '../test/fakes/speech';
import { samplesToBuffer, synthesize } from '../test/fakes/synth';
import { fixturePath } from '../test/fixtures';
import { freePort, spawnGateway, spawnWorker, type ServiceProcess } from '../test/helpers/processes';
import { startRedis } from './load';
import { arg, machine } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'kill.json');
const ADMIN = 'kill-admin-key-0123456789';
const STAGES: Stage[] = ['stt', 'llm', 'tts'];


function utterance(): Buffer {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const speech = resample(pcm, sampleRate, 24_000);
  const out = new Int16Array(speech.length + 24_000);
  out.set(speech);
  return Buffer.from(pcm16ToBytes(out));
}

function expectedBytes(text: string): number {
  const sp = new SentenceSplitter();
  return [...sp.push(text), ...sp.flush()].reduce((n, s) => n + samplesToBuffer(synthesize({ voice: 'nova', durationMs: speechDurationMs(s) })).length, 0);
}

interface TurnCheck {
  ok: boolean;
  why?: string;
}

/** One call: turns back to back until `stopAt`; each turn is checked when its response is done. */
async function caller(url: string, audio: Buffer, stopAt: () => boolean): Promise<{ callId: string; turns: TurnCheck[] }> {
  const res = await fetch(`${url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"business_id":"kill"}' });
  const { id } = (await res.json()) as { id: string };
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/calls/${id}/stream?dialect=beta`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const turns: TurnCheck[] = [];
  await new Promise((r) => ws.once('open', r));
  let bytes = 0;
  let deltas = '';
  let dones = 0;
  let resolveTurn: ((c: TurnCheck) => void) | null = null;
  let turnResult: TurnCheck | null = null;
  ws.on('message', (d, bin) => {
    if (bin) return;
    const e = JSON.parse(d.toString()) as { type: string; delta?: string; transcript?: string; response?: { status: string } };
    if (e.type === 'response.audio.delta') bytes += Buffer.from(e.delta!, 'base64').length;
    if (e.type === 'response.audio_transcript.delta') deltas += e.delta;
    if (e.type === 'response.audio_transcript.done') {
      const said = e.transcript!;
      const want = expectedBytes(said);
      const r: TurnCheck = deltas !== said ? { ok: false, why: 'text deltas differ from the final text' } : bytes !== want ? { ok: false, why: `audio ${bytes} bytes, expected ${want}` } : { ok: true };
      turnResult = r;
    }
    if (e.type === 'response.done') {
      dones++;
      const r = e.response?.status !== 'completed' ? { ok: false, why: `status ${e.response?.status}` } : (turnResult ?? { ok: false, why: 'no transcript' });
      resolveTurn?.(r);
    }
  });
  while (!stopAt()) {
    bytes = 0;
    deltas = '';
    turnResult = null;
    const done = new Promise<TurnCheck>((resolve) => {
      resolveTurn = resolve;
      setTimeout(() => resolve({ ok: false, why: 'no response in 60 s' }), 60_000).unref();
    });
    for (let i = 0; i < audio.length; i += 4800) ws.send(audio.subarray(i, i + 4800));
    turns.push(await done);
  }
  ws.close();
  if (dones !== turns.length) turns.push({ ok: false, why: `${dones} response.done for ${turns.length} turns` });
  return { callId: id, turns };
}

async function main() {
  const kills = Number(arg('kills', '20'));
  const calls = Number(arg('calls', '8'));
  const fake = await startFakeOpenAI();
  fake.script.delays = { sttMs: 400, llmFirstTokenMs: 300, llmTokenMs: 40, ttsFirstByteMs: 400 };
  const rds = await startRedis(6600 + Math.floor(Math.random() * 100));
  const env = { prefix: 'kill', providerUrl: fake.url, redisUrl: rds.url };
  const port = await freePort();
  const gw = spawnGateway({ ...env, port, adminKey: ADMIN });
  const workers = new Map<Stage, ServiceProcess[]>(STAGES.map((s) => [s, [spawnWorker(s, env), spawnWorker(s, env)]]));
  const all = () => [gw, ...[...workers.values()].flat()];
  const url = `http://127.0.0.1:${port}`;
  let done = false;
  const killed: { stage: Stage; at: number }[] = [];
  try {
    await Promise.all(all().map((p) => p.ready));
    await fetch(`${url}/v1/businesses/kill`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Kill', session: { instructions: 'You are a helpful agent.', turn_detection: { type: 'server_vad', interrupt_response: false } }, limits: { max_concurrent_calls: 10_000, requests_per_minute: 100_000 } }),
    });
    const t0 = Date.now();
    const running = Array.from({ length: calls }, () => caller(url, utterance(), () => done));
    // The killer: every 2–4 s the oldest worker of the next stage (stt, llm, tts, …); a replacement at once.
    for (let k = 0; k < kills; k++) {
      await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 2_000));
      const stage = STAGES[k % 3]!;
      const list = workers.get(stage)!;
      const victim = list.shift()!;
      await victim.kill('SIGKILL');
      killed.push({ stage, at: Date.now() - t0 });
      const fresh = spawnWorker(stage, env);
      list.push(fresh);
      console.error(`kill ${k + 1}/${kills}: ${stage} (pid ${victim.pid})`);
    }
    await new Promise((r) => setTimeout(r, 2_000));
    done = true;
    const results = await Promise.all(running);

    // History: exactly one user and one assistant entry per completed turn, alternating.
    const redis = new Redis(rds.url);
    const keys = new Keys('kill');
    const problems: string[] = [];
    let turns = 0;
    const redeliveredByStage: Record<string, number> = { stt: 0, llm: 0, tts: 0 };
    let turnsWithRedelivery = 0;
    for (const r of results) {
      turns += r.turns.length;
      for (const t of r.turns) if (!t.ok) problems.push(`${r.callId}: ${t.why}`);
      const hist = (await redis.lrange(keys.callHistory(r.callId), 0, -1)).map((s) => (JSON.parse(s) as { message: { role: string } }).message.role);
      const want = r.turns.flatMap(() => ['user', 'assistant']);
      if (hist.join() !== want.join()) problems.push(`${r.callId}: history ${hist.join(',')} for ${r.turns.length} turns`);
      const log = await redis.xrange(keys.callLog(r.callId), '-', '+');
      const again = log
        .map(([, f]) => JSON.parse(f[1]!) as { event: string; attempt: number; stage: string; turn_id?: string })
        .filter((e) => e.event === 'started' && e.attempt > 1);
      for (const e of again) redeliveredByStage[e.stage] = (redeliveredByStage[e.stage] ?? 0) + 1;
      turnsWithRedelivery += new Set(again.flatMap((e) => (e.turn_id ? [e.turn_id] : []))).size;
    }
    redis.disconnect();
    const killsByStage = Object.fromEntries(STAGES.map((st) => [st, killed.filter((k) => k.stage === st).length]));
    const redelivered = Object.values(redeliveredByStage).reduce((a, b) => a + b, 0);
    const report = {
      date: new Date().toISOString(),
      machine: machine(),
      kills: killed.length,
      kills_by_stage: killsByStage,
      calls,
      turns,
      redelivered_jobs: redelivered,
      redelivered_jobs_by_stage: redeliveredByStage,
      turns_with_a_redelivered_job: turnsWithRedelivery,
      lost_or_duplicated_turns: problems.length,
      problems: problems.slice(0, 20),
    };
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify(report, null, 2));
    console.log(`Worker kills (${report.machine}): ${calls} callers, 2 workers per stage\n`);
    console.table({
      ...Object.fromEntries(STAGES.map((st) => [st, { 'workers SIGKILLed': killsByStage[st], 'redelivered jobs (started, attempt > 1)': redeliveredByStage[st] }])),
      all: { 'workers SIGKILLed': killed.length, 'redelivered jobs (started, attempt > 1)': redelivered },
    });
    console.log(`turns ${turns}, of which ${turnsWithRedelivery} had a redelivered job; lost or duplicated turns: ${problems.length}`);
    for (const p of report.problems) console.log(`  ${p}`);
    console.log(`\nwrote ${OUT}`);
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    done = true;
    await Promise.all(all().map((p) => p.kill('SIGKILL')));
    await rds.stop();
    await fake.close();
  }
  process.exit(process.exitCode ?? 0);
}

void main();
