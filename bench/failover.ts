/**
 * What a provider failover costs the caller: npx tsx bench/failover.ts [--turns 5] [--timeout-ms 1000]
 *   (writes bench/out/failover.json and prints a table)
 *
 * One in-process service per scenario (gateway + the three workers, a private Redis prefix), a
 * primary fake provider and a backup fake provider, both answering with the same delays (STT
 * 100 ms, LLM first token 150 ms, TTS first byte 100 ms). A chained call speaks `turns` turns; each
 * is timed from the last caller audio sent to the first response audio received. Scenarios: no
 * failure (baseline), then for each stage its primary failing every request in one way — 5xx,
 * 429 (retried with the default backoff, then failed over), connect refused, no first byte within
 * `--timeout-ms` (the stage's *_TIMEOUT_MS; the defaults are 10 s / 8 s / 5 s) — and the circuit
 * open (the primary skipped). The circuit is kept closed in the other scenarios (a high
 * PROVIDER_CIRCUIT_FAILURES) so every turn pays for trying the primary. Extra = p50 − baseline p50.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../src/config';
import type { StageLogEntry } from '../src/contracts/logs';
import { parseWav } from '../src/core/audio/formats';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { resample } from '../src/core/audio/resample';
import { startFakeOpenAI, type FakeOpenAI } from '../test/fakes/openai-server';
import type { ScriptDelays } from '../test/fakes/script';
import { fixturePath } from '../test/fixtures';
import { RealtimeClient } from '../test/helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService } from '../test/helpers/service';
import { arg, machine, percentile, runMain } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'failover.json');
const DELAYS: ScriptDelays = { sttMs: 100, llmFirstTokenMs: 150, ttsFirstByteMs: 100 };
type Stage = 'stt' | 'llm' | 'tts';
type Kind = 'none' | '5xx' | '429' | 'refused' | 'timeout' | 'circuit_open';
const ENDPOINT = { stt: 'transcriptions', llm: 'chat', tts: 'speech' } as const;
const DELAY: Record<Stage, keyof ScriptDelays> = { stt: 'sttMs', llm: 'llmFirstTokenMs', tts: 'ttsFirstByteMs' };

async function refusedUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}

function spokenTurn(): Uint8Array {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const speech = resample(pcm, sampleRate, 24_000);
  const out = new Int16Array(speech.length + 24_000);
  out.set(speech);
  return pcm16ToBytes(out);
}

interface Sample {
  /** Last caller audio sent → first response audio received (client side). */
  firstAudio: number[];
  /** Each stage's own time to its output (stage log): STT completed, LLM first token, TTS first audio of sentence 0. */
  stage: Record<Stage, number[]>;
}

/** The stage log's per-stage times of a call's counted turns. */
function stageTimes(entries: StageLogEntry[], counted: Set<string>): Record<Stage, number[]> {
  const pick = (stage: Stage, ok: (e: StageLogEntry) => boolean) =>
    entries.filter((e) => e.stage === stage && e.turn_id !== null && counted.has(e.turn_id) && ok(e) && e.duration_ms !== null).map((e) => e.duration_ms!);
  return {
    stt: pick('stt', (e) => e.event === 'completed'),
    llm: pick('llm', (e) => e.event === 'first_output'),
    tts: pick('tts', (e) => e.event === 'first_output' && e.data.seq === 0),
  };
}

/** First-audio and stage times of `turns` turns on one call, for one scenario. */
async function scenario(backup: FakeOpenAI, stage: Stage | null, kind: Kind, turns: number, timeoutMs: number): Promise<Sample> {
  const refused = kind === 'refused' || kind === 'circuit_open' ? await refusedUrl() : null;
  const svc = await startService({
    env: {
      STT_FALLBACK_BASE_URL: backup.url,
      LLM_FALLBACK_BASE_URL: backup.url,
      TTS_FALLBACK_BASE_URL: backup.url,
      STT_TIMEOUT_MS: String(timeoutMs),
      LLM_TIMEOUT_MS: String(timeoutMs),
      TTS_TIMEOUT_MS: String(timeoutMs),
      PROVIDER_CIRCUIT_FAILURES: kind === 'circuit_open' ? '1' : '1000',
      PROVIDER_CIRCUIT_OPEN_MS: '3600000',
    },
    configure: (c: Config) => (refused && stage ? { ...c, [stage]: { ...c[stage], baseURL: refused } } : c),
  });
  try {
    await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
    svc.fake.script.delays = { ...DELAYS };
    if (stage && kind === '5xx') svc.fake.script.failures.push({ endpoint: ENDPOINT[stage], status: 503, times: 1e9 });
    // No retry-after (the fake sends 0 s by default): the service's own backoff, 250 · 2^n ms ± 25 %, three times.
    if (stage && kind === '429') svc.fake.script.failures.push({ endpoint: ENDPOINT[stage], status: 429, times: 1e9, headers: { 'retry-after': '' } });
    if (stage && kind === 'timeout') svc.fake.script.delays = { ...DELAYS, [DELAY[stage]]: 600_000 };
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } });
    const { id } = (await res.json()) as { id: string };
    const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${id}/stream?dialect=beta`, { key: ADMIN_KEY });
    await c.waitFor('session.created');
    const audio = spokenTurn();
    const out: number[] = [];
    const counted = new Set<string>();
    // Turn 0 warms up (and, for circuit_open, opens the circuit); it is not counted.
    for (let t = 0; t <= turns; t++) {
      const from = c.events.length;
      c.appendAudio(audio);
      const sent = performance.now();
      await c.waitFor('response.audio.delta', from, 120_000);
      const first = performance.now() - sent;
      await c.waitFor('response.done', from, 120_000);
      if (t > 0) out.push(first);
    }
    c.close();
    // The workers' last entries (TTS completed) land after response.done; the ones used here do not.
    const entries = (await svc.services.stageLog.read(id)).map((l) => l.entry);
    // Turns in the order they were spoken; the first is the warm-up.
    const order = [...new Set(entries.filter((e) => e.stage === 'stt' && e.turn_id !== null).map((e) => e.turn_id!))];
    for (const t of order.slice(1)) counted.add(t);
    return { firstAudio: out, stage: stageTimes(entries, counted) };
  } finally {
    await svc.stop();
  }
}

async function main() {
  const turns = Number(arg('turns', '8'));
  const timeoutMs = Number(arg('timeout-ms', '1000'));
  const backup = await startFakeOpenAI();
  backup.script.delays = { ...DELAYS };
  const started = new Date().toISOString();
  const rows: { stage: Stage; kind: Kind; firstAudioP50: number | null; stageP50: number | null; stageMax: number | null; samples: Sample }[] = [];
  const baselines: Sample[] = [];
  try {
    await scenario(backup, null, 'none', 2, timeoutMs); // warms the process up (JIT, connections); not counted
    // The baseline is measured first and last (the machine's load drifts); extra is against both.
    baselines.push(await scenario(backup, null, 'none', turns, timeoutMs));
    for (const stage of ['stt', 'llm', 'tts'] as const) {
      for (const kind of ['5xx', '429', 'refused', 'timeout', 'circuit_open'] as const) {
        const x = await scenario(backup, stage, kind, turns, timeoutMs);
        rows.push({ stage, kind, firstAudioP50: percentile(x.firstAudio, 50), stageP50: percentile(x.stage[stage], 50), stageMax: x.stage[stage].length ? Math.max(...x.stage[stage]) : null, samples: x });
        console.error(`${stage} ${kind}: first audio p50 ${percentile(x.firstAudio, 50)?.toFixed(0)} ms, ${stage} p50 ${percentile(x.stage[stage], 50)} ms`);
      }
    }
    baselines.push(await scenario(backup, null, 'none', turns, timeoutMs));
  } finally {
    await backup.close();
  }
  const all = (f: (s: Sample) => number[]) => baselines.flatMap(f);
  const baseFirstAudio = percentile(all((b) => b.firstAudio), 50)!;
  const baseStage = (st: Stage) => percentile(all((b) => b.stage[st]), 50)!;
  const r = (x: number | null) => (x === null ? '—' : x.toFixed(0));
  const d = (x: number | null, b: number) => (x === null ? '—' : `${x - b >= 0 ? '+' : ''}${(x - b).toFixed(0)}`);
  console.log(`\nProvider failover, ${turns} turns per scenario, stage timeouts ${timeoutMs} ms, fakes: STT 100 / LLM first token 150 / TTS first byte 100 ms (${machine()})`);
  console.log(`No failure: first audio p50 ${r(baseFirstAudio)} ms (first run ${r(percentile(baselines[0]!.firstAudio, 50))}, last ${r(percentile(baselines[1]!.firstAudio, 50))}); stage p50 STT ${baseStage('stt')} / LLM ${baseStage('llm')} / TTS ${baseStage('tts')} ms`);
  console.log('| stage | primary failure | stage time to output p50 (max) ms | extra at the stage (p50) ms | first audio p50 ms | extra first audio (p50) ms |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.stage} | ${row.kind} | ${r(row.stageP50)} (${r(row.stageMax)}) | ${d(row.stageP50, baseStage(row.stage))} | ${r(row.firstAudioP50)} | ${d(row.firstAudioP50, baseFirstAudio)} |`);
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ started, machine: machine(), turns, timeoutMs, delays: DELAYS, baselines, rows }, null, 2));
}

runMain(import.meta, main);
