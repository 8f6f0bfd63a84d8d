/**
 * Per-hop profile of a chained turn: npx tsx bench/profile-turn.ts [--turns 20] [--tool] [--monitor] [--cpu <dir>]
 *   (writes bench/out/profile-turn.json, or profile-turn-tool.json, and prints a table)
 *
 * One caller speaks `turns` turns, one after another, at real-time pace over the Realtime
 * WebSocket to a gateway process with one worker process per stage, a private redis-server and
 * the fake provider (delays of bench/load.ts: STT 100, LLM first token 150, TTS first byte 100 ms).
 * Each hop of each turn is timed from the call's stage log (written by the process that did the
 * work) and the fake provider's own clock (request arrived, response fully written); all processes
 * share this machine's clock. `--tool`: every turn's answer takes one builtin tool round
 * (lookup_customer). `--monitor`: Redis MONITOR during the turns, commands per turn by command and
 * key family (MONITOR slows Redis a little: the latency columns of such a run are not the ones to quote).
 * `--cpu <dir>`: a CPU profile per service process (summarise: `npx tsx bench/cpu-summary.ts <dir>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../test/fakes/openai-server';
import { arg, machine, percentile, runMain } from './common';
import { DELAYS, deploy, loadSpeech, startRedis } from './load';
import { TOOL_BUSINESS, TOOL_CALL, SequentialCaller, createCall, createToolBusiness, pace, stageLog, turnMarks, type Marks } from './turns';


/** The hops of a turn, in order: [label, from mark, to mark, configured provider delay inside]. */
const HOPS: [string, string, string, number][] = [
  ['gateway: turn end → STT job queued', 'vad_completed', 'stt_queued', 0],
  ['STT job: queued → started', 'stt_queued', 'stt_started', 0],
  ['STT worker: started → request at provider', 'stt_started', 'stt_request', 0],
  ['provider: transcription', 'stt_request', 'stt_response', DELAYS.sttMs],
  ['STT worker: response → completed', 'stt_response', 'stt_completed', 0],
  // The LLM job of a spoken turn is queued at the turn's end and waits for the transcript.
  ['STT → LLM hand-over: STT completed → LLM started', 'stt_completed', 'llm_started', 0],
  ['LLM worker: started → request at provider', 'llm_started', 'chat_request', 0],
  ['provider: chat (whole stream)', 'chat_request', 'chat_response', DELAYS.llmFirstTokenMs],
  ['LLM worker: tool round → tool started', 'chat_response', 'tool_started', 0],
  ['tool: started → completed', 'tool_started', 'tool_completed', 0],
  ['LLM worker: tool completed → 2nd request at provider', 'tool_completed', 'chat2_request', 0],
  ['provider: 2nd chat (whole stream)', 'chat2_request', 'chat2_response', DELAYS.llmFirstTokenMs],
  ['LLM worker: response → first_output', 'last_chat_response', 'llm_first_output', 0],
  ['LLM first_output → TTS job started', 'llm_first_output', 'tts_started', 0],
  ['TTS worker: started → request at provider', 'tts_started', 'speech_request', 0],
  ['provider + TTS worker: request → first audio written', 'speech_request', 'tts_first_output', DELAYS.ttsFirstByteMs],
  ['gateway: first audio written → sent', 'tts_first_output', 'gateway_first_output', 0],
];

interface Tally {
  total: number;
  byCommand: Map<string, number>;
  byFamily: Map<string, number>;
}

/** A key with its ids taken out: `bench:call:abc123:out` → `call:*:out`. */
function keyFamily(key: string): string {
  return key
    .replace(/^[^:{]*:/, '')
    .replace(/call_[A-Za-z0-9]+|resp_[A-Za-z0-9]+|item_[A-Za-z0-9]+|turn_[A-Za-z0-9]+|[0-9a-f]{16,}/g, '*')
    .replace(/:\d+(-\d+)?(?=:|$)/g, ':N');
}

async function monitor(redis: Redis): Promise<{ tally: Tally; stop(): void }> {
  const tally: Tally = { total: 0, byCommand: new Map(), byFamily: new Map() };
  const m = await redis.monitor();
  m.on('monitor', (_time: string, args: string[]) => {
    const cmd = String(args[0]).toLowerCase();
    if (cmd === 'monitor' || cmd === 'info') return;
    tally.total++;
    tally.byCommand.set(cmd, (tally.byCommand.get(cmd) ?? 0) + 1);
    const family = cmd === 'evalsha' ? `evalsha ${keyFamily(String(args[3] ?? ''))}` : `${cmd} ${args[1] ? keyFamily(String(args[1])) : ''}`;
    tally.byFamily.set(family, (tally.byFamily.get(family) ?? 0) + 1);
  });
  return { tally, stop: () => m.disconnect() };
}

async function commandsProcessed(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
}

/** Every provider request with the time its response was fully written (the fake's own clock). */
function trackRequests(fake: FakeOpenAI): (RecordedRequest & { doneAt?: number })[] {
  const list: (RecordedRequest & { doneAt?: number })[] = [];
  fake.events.on('request', (r: RecordedRequest) => list.push(r));
  fake.events.on('request:done', (r: RecordedRequest & { doneAt?: number }) => (r.doneAt = Date.now()));
  return list;
}

export function hopTable(marks: Marks[]): { hop: string; p50: number | null; p95: number | null; configured: number; n: number }[] {
  return HOPS.map(([hop, from, to, configured]) => {
    const xs = marks.flatMap((m) => {
      const a = from === 'last_chat_response' ? (m.chat2_response ?? m.chat_response) : m[from];
      const b = m[to];
      return a == null || b == null ? [] : [b - a];
    });
    return { hop, p50: percentile(xs, 50), p95: percentile(xs, 95), configured, n: xs.length };
  }).filter((h) => h.n > 0);
}

async function main() {
  const turns = Number(arg('turns', '20'));
  const tool = process.argv.includes('--tool');
  const withMonitor = process.argv.includes('--monitor');
  const { frames } = loadSpeech();
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const requests = trackRequests(fake);
  const rds = await startRedis(6390 + Math.floor(Math.random() * 100));
  const cpuDir = arg('cpu', '');
  // --cpu <dir>: every service process writes a CPU profile there when it exits (bench/cpu-profile.mjs).
  const cpuEnv: Record<string, string> = cpuDir ? { NODE_OPTIONS: `--import ${join(dirname(fileURLToPath(import.meta.url)), 'cpu-profile.mjs')}`, CPU_PROFILE_DIR: cpuDir } : {};
  const dep = await deploy(fake, rds.url, 'prof', 1, cpuEnv);
  try {
    if (tool) await createToolBusiness(dep.gatewayUrl);
    // A warm-up call first (JIT, connections, the business cached), not measured.
    const warm = new SequentialCaller(dep.gatewayUrl, await createCall(dep.gatewayUrl, tool ? TOOL_BUSINESS : 'bench'), frames, 2, () => tool && fake.script.chat.push(TOOL_CALL));
    let stopPacer = pace([warm]);
    warm.start();
    await warm.finished;
    stopPacer();
    requests.length = 0;

    const callId = await createCall(dep.gatewayUrl, tool ? TOOL_BUSINESS : 'bench');
    const caller = new SequentialCaller(dep.gatewayUrl, callId, frames, turns, () => tool && fake.script.chat.push(TOOL_CALL));
    const mon = withMonitor ? await monitor(rds.redis) : null;
    const cmdsBefore = await commandsProcessed(rds.redis);
    stopPacer = pace([caller]);
    caller.start();
    await caller.finished;
    stopPacer();
    const cmds = (await commandsProcessed(rds.redis)) - cmdsBefore;
    mon?.stop();

    const marks = turnMarks(await stageLog(dep.gatewayUrl, callId), requests);
    const hops = hopTable(marks);
    const total = marks.flatMap((m) => (m.gateway_first_output && m.vad_completed ? [m.gateway_first_output - m.vad_completed] : []));
    const configured = DELAYS.sttMs + DELAYS.llmFirstTokenMs * (tool ? 2 : 1) + DELAYS.ttsFirstByteMs;
    const ok = caller.turns.filter((t) => t.status === 'completed').length;

    console.log(`\nprofile-turn: ${new Date().toISOString()} on ${machine()}; ${tool ? 'one builtin tool round per turn' : 'plain turns'}; ${ok}/${turns} turns completed; fake delays ${JSON.stringify(DELAYS)}\n`);
    console.log('| hop | p50 ms | p95 ms | of which configured provider delay ms | n |');
    console.log('|---|---|---|---|---|');
    for (const h of hops) console.log(`| ${h.hop} | ${h.p50} | ${h.p95} | ${h.configured || ''} | ${h.n} |`);
    console.log(`| **turn end → first audio sent** | **${percentile(total, 50)}** | **${percentile(total, 95)}** | ${configured} | ${total.length} |`);
    console.log(`\nRedis commands per turn (INFO total_commands_processed, all processes): ${Math.round(cmds / Math.max(1, ok))}`);
    if (mon) {
      const per = (n: number) => (n / Math.max(1, ok)).toFixed(1);
      console.log('\n| command | per turn |\n|---|---|');
      for (const [k, v] of [...mon.tally.byCommand].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${per(v)} |`);
      console.log('\n| command + key family | per turn |\n|---|---|');
      for (const [k, v] of [...mon.tally.byFamily].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`| ${k} | ${per(v)} |`);
    }
    const out = join(dirname(fileURLToPath(import.meta.url)), 'out', tool ? 'profile-turn-tool.json' : 'profile-turn.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: machine(),
          tool,
          turns: ok,
          delays: DELAYS,
          hops,
          total: { p50: percentile(total, 50), p95: percentile(total, 95) },
          redis_cmds_per_turn: Math.round(cmds / Math.max(1, ok)),
          ...(mon ? { monitor: { byCommand: Object.fromEntries(mon.tally.byCommand), byFamily: Object.fromEntries(mon.tally.byFamily) } } : {}),
          marks,
        },
        null,
        2,
      ),
    );
  } finally {
    await dep.stop();
    await rds.stop();
    await fake.close();
  }
}

runMain(import.meta, main);
