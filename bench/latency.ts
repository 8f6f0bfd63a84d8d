/**
 * Latency and capacity of the chained path:
 *   npx tsx bench/latency.ts [--turns 30] [--levels 16,32,48,64,96] [--per 1,2] [--skip-capacity | --capacity-only]
 *   (writes bench/out/latency.json and prints two tables)
 *
 * A gateway process and worker processes (`--per` of them per stage), a private redis-server and
 * the fake provider (delays of bench/load.ts: STT 100, LLM first token 150, TTS first byte 100 ms).
 * Callers speak over the Realtime WebSocket at real-time pace, one turn after another (bench/turns.ts).
 * A turn's latency = the gateway's first audio sent − the VAD's end of speech (both in the stage
 * log, GET /v1/calls/:id/turns). The in-process baseline calls the same fake providers directly
 * (transcription → chat to the first sentence, with the builtin tool run in between for a tool
 * turn → first TTS byte) on the same schedule (each of N loops starts a turn every P ms, P the
 * service run's own turn period, staggered like the callers). Added = service − baseline, at the
 * same percentile.
 *
 * Scenarios (with 1 worker process per stage): 1 call, plain turns; 1 call, one builtin tool round
 * per turn; 8 calls. Per scenario: service CPU per turn (utime+stime from /proc of the gateway and
 * of each worker, ÷ completed turns) and Redis commands per turn (INFO of the private server).
 * Capacity (per `--per`): N callers for each N of `--levels`; turns/s, added p50/p95, service CPU;
 * the capacity is the highest level whose p95 added stays ≤ 100 ms. The callers, the fake and the
 * service share this machine's cores: above ~1 core of service CPU the rig competes with it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../test/fakes/openai-server';
import { arg, machine, percentile, runMain } from './common';
import { DELAYS, deploy, loadSpeech, procStats, startRedis, type Deployment } from './load';
import { TOOL_BUSINESS, TOOL_CALL, SequentialCaller, api, baselineTurn, baselineWav, createCall, createToolBusiness, fakeClient, pace } from './turns';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'latency.json');
const round1 = (x: number) => Math.round(x * 10) / 10;

interface Quantiles {
  p50: number | null;
  p95: number | null;
  n: number;
}
const q = (xs: number[]): Quantiles => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length });

interface Row {
  scenario: string;
  calls: number;
  workers_per_stage: number;
  turns_ok: number;
  turns_expected: number;
  service_ms: Quantiles;
  baseline_ms: Quantiles;
  added_ms: { p50: number | null; p95: number | null };
  turns_per_s: number;
  /** ms of CPU per completed turn, by process (gateway, stt, llm, tts: summed over a stage's processes). */
  cpu_ms_per_turn: Record<string, number>;
  /** Service CPU in use during the run, in cores (all its processes). */
  service_cores: number;
  redis_cmds_per_turn: number;
}

async function commandsProcessed(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
}

function cpuSeconds(dep: Deployment): Record<string, number> {
  const by: Record<string, number> = { gateway: procStats(dep.gateway.pid).cpuS };
  for (const w of dep.workers) {
    const stage = w.name.split(' ')[0]!;
    by[stage] = (by[stage] ?? 0) + procStats(w.pid).cpuS;
  }
  return by;
}

/** First audio sent after the end of speech (ms), per turn of each call, from the waterfall. */
async function serviceLatencies(gatewayUrl: string, callIds: string[]): Promise<{ ms: number[]; periods: number[] }> {
  const ms: number[] = [];
  const periods: number[] = [];
  for (const id of callIds) {
    const turns = ((await api(gatewayUrl, `/v1/calls/${id}/turns`)) as { data: { speech_end_at: number | null; first_audio_sent_ms: number | null }[] }).data;
    for (const t of turns) if (t.first_audio_sent_ms !== null) ms.push(t.first_audio_sent_ms);
    const ends = turns.map((t) => t.speech_end_at).filter((x): x is number => x !== null);
    for (let i = 1; i < ends.length; i++) periods.push(ends[i]! - ends[i - 1]!);
  }
  return { ms, periods };
}

/** N callers, `turns` each, staggered over one turn period; returns what the service did for them. */
async function runCallers(dep: Deployment, fake: FakeOpenAI, redis: Redis, frames: Buffer[], o: { calls: number; turns: number; tool: boolean }) {
  const business = o.tool ? TOOL_BUSINESS : 'bench';
  const ids = await Promise.all(Array.from({ length: o.calls }, () => createCall(dep.gatewayUrl, business)));
  const callers = ids.map((id) => new SequentialCaller(dep.gatewayUrl, id, frames, o.turns, () => o.tool && fake.script.chat.push(TOOL_CALL)));
  const cpuBefore = cpuSeconds(dep);
  const cmdsBefore = await commandsProcessed(redis);
  const t0 = Date.now();
  const stop = pace(callers);
  // Spread over ~2.5 s (about a turn's length here), as real callers are not in step.
  await Promise.all(callers.map((c, i) => new Promise<void>((r) => setTimeout(() => (c.start(), r()), (i * 2_500) / o.calls))));
  await Promise.all(callers.map((c) => c.finished));
  stop();
  const wallS = (Date.now() - t0) / 1000;
  const cpuAfter = cpuSeconds(dep);
  const cmds = (await commandsProcessed(redis)) - cmdsBefore;
  const ok = callers.reduce((a, c) => a + c.turns.filter((t) => t.status === 'completed').length, 0);
  const { ms, periods } = await serviceLatencies(dep.gatewayUrl, ids);
  fake.script.chat.length = 0;
  const cpu = Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, round1((1000 * (cpuAfter[k]! - (cpuBefore[k] ?? 0))) / Math.max(1, ok))]));
  const cpuTotalS = Object.keys(cpuAfter).reduce((a, k) => a + cpuAfter[k]! - (cpuBefore[k] ?? 0), 0);
  return { ok, ms, period: percentile(periods, 50) ?? 3_000, wallS, cpu, cores: round1(cpuTotalS / wallS), cmdsPerTurn: Math.round(cmds / Math.max(1, ok)) };
}

/** The baseline on the callers' schedule: N loops, each starting a turn every `periodMs`. */
async function baseline(fake: FakeOpenAI, wav: Buffer, o: { calls: number; turns: number; tool: boolean; periodMs: number }): Promise<number[]> {
  const client = fakeClient(fake);
  const xs: number[] = [];
  const loop = async (i: number) => {
    await new Promise((r) => setTimeout(r, (i * o.periodMs) / o.calls));
    for (let t = 0; t < o.turns; t++) {
      const start = Date.now();
      if (o.tool) fake.script.chat.push(TOOL_CALL);
      xs.push(await baselineTurn(client, wav, o.tool));
      await new Promise((r) => setTimeout(r, Math.max(0, o.periodMs - (Date.now() - start))));
    }
  };
  await Promise.all(Array.from({ length: o.calls }, (_, i) => loop(i)));
  fake.script.chat.length = 0;
  return xs;
}

async function scenario(dep: Deployment, fake: FakeOpenAI, redis: Redis, frames: Buffer[], wav: Buffer, perStage: number, name: string, o: { calls: number; turns: number; tool: boolean }, withBaseline = true): Promise<Row> {
  const r = await runCallers(dep, fake, redis, frames, o);
  // The baseline is the same work without the service: a shorter run of it is enough for its percentiles.
  const b = withBaseline ? await baseline(fake, wav, { ...o, turns: Math.max(3, Math.ceil(o.turns / 2)), periodMs: r.period }) : [];
  const s = q(r.ms);
  const bq = q(b);
  const row: Row = {
    scenario: name,
    calls: o.calls,
    workers_per_stage: perStage,
    turns_ok: r.ok,
    turns_expected: o.calls * o.turns,
    service_ms: s,
    baseline_ms: bq,
    added_ms: { p50: s.p50 !== null && bq.p50 !== null ? round1(s.p50 - bq.p50) : null, p95: s.p95 !== null && bq.p95 !== null ? round1(s.p95 - bq.p95) : null },
    turns_per_s: round1(r.ok / r.wallS),
    cpu_ms_per_turn: r.cpu,
    service_cores: r.cores,
    redis_cmds_per_turn: r.cmdsPerTurn,
  };
  console.error(`${name} (${o.calls} calls, ${perStage}/stage): ${JSON.stringify(row)}`);
  return row;
}

async function main() {
  const turns = Number(arg('turns', '30'));
  const levels = arg('levels', '16,32,48,64,96').split(',').filter(Boolean).map(Number);
  const pers = arg('per', '1,2').split(',').filter(Boolean).map(Number);
  const capacity = !process.argv.includes('--skip-capacity');
  const capacityOnly = process.argv.includes('--capacity-only');
  const { frames, pcm16k } = loadSpeech();
  const wav = baselineWav(pcm16k);
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const rds = await startRedis(6390 + Math.floor(Math.random() * 100));
  const rows: Row[] = [];
  const capacityRows: Row[] = [];
  try {
    for (const per of pers) {
      if (per !== 1 && !capacity) continue;
      await rds.redis.flushall();
      const dep = await deploy(fake, rds.url, `lat${per}`, per);
      try {
        await createToolBusiness(dep.gatewayUrl);
        // Warm-up (JIT, connections, caches), not measured.
        await runCallers(dep, fake, rds.redis, frames, { calls: 2, turns: 2, tool: true });
        if (per === 1 && !capacityOnly) {
          rows.push(await scenario(dep, fake, rds.redis, frames, wav, per, 'plain', { calls: 1, turns, tool: false }));
          rows.push(await scenario(dep, fake, rds.redis, frames, wav, per, 'tool', { calls: 1, turns, tool: true }));
          rows.push(await scenario(dep, fake, rds.redis, frames, wav, per, 'plain', { calls: 8, turns: Math.max(3, Math.ceil(turns / 3)), tool: false }));
        }
        if (capacity) {
          // Added against the 1-call baseline (measured here if the 1-call rows were skipped).
          const baseline1 = rows.find((r) => r.scenario === 'plain' && r.calls === 1)?.baseline_ms ?? q(await baseline(fake, wav, { calls: 1, turns: 15, tool: false, periodMs: 0 }));
          for (const n of levels) {
            // What a caller waits beyond the providers' own time at one call.
            const r = await scenario(dep, fake, rds.redis, frames, wav, per, 'capacity', { calls: n, turns: 6, tool: false }, false);
            if (baseline1.p50 !== null && baseline1.p95 !== null && r.service_ms.p50 !== null && r.service_ms.p95 !== null) {
              r.baseline_ms = baseline1;
              r.added_ms = { p50: round1(r.service_ms.p50 - baseline1.p50), p95: round1(r.service_ms.p95 - baseline1.p95) };
            }
            capacityRows.push(r);
            if ((r.added_ms.p95 ?? Infinity) > 100 || r.turns_ok < r.turns_expected) break;
          }
        }
      } finally {
        await dep.stop();
      }
    }
  } finally {
    await rds.stop();
    await fake.close();
  }

  const m = machine();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), machine: m, cores: cpus().length, delays: DELAYS, rows, capacity: capacityRows }, null, 2));
  const f = (x: number | null) => (x === null ? '-' : String(Math.round(x)));
  const cpuCell = (c: Record<string, number>) => ['gateway', 'stt', 'llm', 'tts'].map((k) => c[k] ?? '-').join(' / ');
  console.log(`\nlatency: ${new Date().toISOString()} on ${m}; fake delays ${JSON.stringify(DELAYS)}\n`);
  console.log('| scenario | calls | turns ok | service p50 / p95 ms | baseline p50 / p95 ms | **added p50 / p95 ms** | CPU ms per turn (gateway / stt / llm / tts) | Redis cmds / turn |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.scenario} | ${r.calls} | ${r.turns_ok}/${r.turns_expected} | ${f(r.service_ms.p50)} / ${f(r.service_ms.p95)} | ${f(r.baseline_ms.p50)} / ${f(r.baseline_ms.p95)} | **${f(r.added_ms.p50)} / ${f(r.added_ms.p95)}** | ${cpuCell(r.cpu_ms_per_turn)} | ${r.redis_cmds_per_turn} |`);
  }
  if (capacityRows.length) {
    console.log('\n| workers / stage | calls | turns ok | turns/s | service p50 / p95 ms | added p50 / p95 ms (vs 1-call baseline) | service CPU (cores) | turns/s per service core | CPU ms per turn (gateway / stt / llm / tts) | Redis cmds / turn |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of capacityRows) {
      console.log(
        `| ${r.workers_per_stage} | ${r.calls} | ${r.turns_ok}/${r.turns_expected} | ${r.turns_per_s} | ${f(r.service_ms.p50)} / ${f(r.service_ms.p95)} | ${f(r.added_ms.p50)} / ${f(r.added_ms.p95)} | ${r.service_cores} | ${r.service_cores > 0 ? round1(r.turns_per_s / r.service_cores) : '-'} | ${cpuCell(r.cpu_ms_per_turn)} | ${r.redis_cmds_per_turn} |`,
      );
    }
  }
}

runMain(import.meta, main);
