/**
 * Memory per active call: npx tsx bench/memory.ts [--calls 1,50,200] [--settle-s 5]
 *   (writes bench/out/memory.json and prints a table)
 *
 * The rig of bench/load.ts (deploy: a gateway process and one worker process per stage, a private
 * redis-server, the fake provider in this process at the load bench's delays), every service
 * process started with its inspector on (NODE_OPTIONS=--inspect=127.0.0.1:0; see inspector.ts).
 *
 * For each N: N callers connect over the Realtime WebSocket, speak one turn at real-time pace and
 * wait for its response.done, then go on sending 20 ms frames of silence in real time — N live
 * calls. After `--settle-s`, each process gets two full GCs over the inspector and its RSS
 * (/proc) and process.memoryUsage() are read. Each N has a fresh deployment (a process that held
 * many calls keeps pages it reuses later, which would hide the next N's cost); one warm-up call
 * runs and hangs up first, so the idle figure carries the code and pools the first call loads.
 * The idle figure is taken the same way just before the N calls connect, so
 *   per call = (RSS with N live calls − RSS idle) ÷ N, both after GC
 * (not the peak during a run ÷ N, which is what bench/load.ts reports). Then the calls hang up
 * and the figure after they ended is taken too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startFakeOpenAI, type FakeOpenAI } from '../test/fakes/openai-server';
import type { ServiceProcess } from '../test/helpers/processes';
import { arg, machine, percentile, runMain } from './common';
import { INSPECT_OPTIONS, inspectorPort, memoryAfterGc, type Memory } from './inspector';
import { ADMIN, DELAYS, deploy, loadSpeech, startRedis, type Deployment } from './load';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'memory.json');
const SILENCE = Buffer.alloc(960); // 20 ms of PCM16 at 24 kHz
const TURN_TIMEOUT_MS = 120_000;

/** One live call: its speech, then silence every 20 ms until hung up. */
class LiveCall {
  private ws: WebSocket | null = null;
  private queue: Buffer[];
  turnDone = false;
  error: string | null = null;
  private onTurn!: () => void;
  readonly turn = new Promise<void>((r) => (this.onTurn = r));

  constructor(
    private readonly url: string,
    readonly id: string,
    speech: Buffer[],
  ) {
    this.queue = [...speech];
  }

  connect(): Promise<void> {
    const ws = new WebSocket(`${this.url.replace('http', 'ws')}/v1/calls/${this.id}/stream?dialect=beta`, { headers: { authorization: `Bearer ${ADMIN}` } });
    this.ws = ws;
    ws.on('message', (data, binary) => {
      if (binary) return;
      const e = JSON.parse(data.toString()) as { type: string; response?: { status: string } };
      if (e.type !== 'response.done') return;
      if (e.response?.status === 'completed') this.turnDone = true;
      else this.error ??= `response ${e.response?.status}`;
      this.onTurn();
    });
    ws.on('error', (err) => this.fail(err.message));
    ws.on('close', () => this.fail('closed by the gateway'));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  /** Not connected yet: nothing to send (the call's audio starts when it connects). */
  tick(): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(this.queue.shift() ?? SILENCE);
  }

  hangUp(): void {
    this.ws?.removeAllListeners('close');
    this.ws?.close();
  }

  private fail(why: string): void {
    this.error ??= why;
    this.onTurn();
  }
}

async function createCall(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ business_id: 'bench' }) });
  if (!res.ok) throw new Error(`create call: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** N calls, each through one turn and then live on silence; resolves when every turn is done (or timed out). */
async function openCalls(dep: Deployment, n: number, speech: Buffer[]): Promise<{ calls: LiveCall[]; stop(): void; turnsOk: number }> {
  const calls: LiveCall[] = [];
  for (let i = 0; i < n; i++) calls.push(new LiveCall(dep.gatewayUrl, await createCall(dep.gatewayUrl), speech));
  // One 20 ms timer for every caller, as bench/load.ts; they connect over ~1 s, not all at once.
  const timer = setInterval(() => {
    for (const c of calls) c.tick();
  }, 20);
  const stop = (): void => clearInterval(timer);
  try {
    for (let i = 0; i < n; i += 10) await Promise.all(calls.slice(i, i + 10).map((c) => c.connect()));
    const timeout = new Promise<void>((r) => setTimeout(r, TURN_TIMEOUT_MS).unref());
    await Promise.race([Promise.all(calls.map((c) => c.turn)), timeout]);
  } catch (err) {
    stop();
    throw err;
  }
  return { calls, stop, turnsOk: calls.filter((c) => c.turnDone && !c.error).length };
}

/** Waits until the gateway has ended every call and closed every stream socket (its /metrics). */
async function untilNoCalls(dep: Deployment): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const text = await (await fetch(`${dep.gatewayUrl}/metrics`)).text();
    const active = /voice_agent_active_calls\{mode="chained"\} (\d+)/.exec(text)?.[1];
    const sockets = /voice_agent_open_websockets\{route="stream"\} (\d+)/.exec(text)?.[1];
    if (active === '0' && sockets === '0') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('calls still active 60 s after hanging up');
}

interface Snapshot {
  gateway: Memory;
  /** Summed over the worker processes. */
  workers: Memory;
}

const sum = (ms: Memory[]): Memory => ({
  rssKb: ms.reduce((a, m) => a + m.rssKb, 0),
  heapUsedKb: ms.reduce((a, m) => a + m.heapUsedKb, 0),
  heapTotalKb: ms.reduce((a, m) => a + m.heapTotalKb, 0),
  externalKb: ms.reduce((a, m) => a + m.externalKb, 0),
  arrayBuffersKb: ms.reduce((a, m) => a + m.arrayBuffersKb, 0),
});

async function snapshot(dep: Deployment, ports: Map<ServiceProcess, number>): Promise<Snapshot> {
  const gateway = await memoryAfterGc(dep.gateway, ports.get(dep.gateway));
  const workers: Memory[] = [];
  for (const w of dep.workers) workers.push(await memoryAfterGc(w, ports.get(w)));
  return { gateway, workers: sum(workers) };
}

/** Median of three snapshots a second apart, field by field (a GC can land mid-allocation). */
async function steady(dep: Deployment, ports: Map<ServiceProcess, number>): Promise<Snapshot> {
  const shots: Snapshot[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1_000));
    shots.push(await snapshot(dep, ports));
  }
  const med = (pick: (s: Snapshot) => Memory): Memory => {
    const ms = shots.map(pick);
    const m = (k: keyof Memory): number => percentile(ms.map((x) => x[k]), 50)!;
    return { rssKb: m('rssKb'), heapUsedKb: m('heapUsedKb'), heapTotalKb: m('heapTotalKb'), externalKb: m('externalKb'), arrayBuffersKb: m('arrayBuffersKb') };
  };
  return { gateway: med((s) => s.gateway), workers: med((s) => s.workers) };
}

interface Row {
  calls: number;
  turns_ok: number;
  idle: Snapshot;
  live: Snapshot;
  /** Once the N calls have ended (what stays: caches, and pages the allocators keep). */
  idle_after: Snapshot;
  calls_with_error: number;
  /** (live − idle) ÷ N, KB. */
  gateway_rss_kb_per_call: number;
  gateway_heap_used_kb_per_call: number;
  gateway_external_kb_per_call: number;
  workers_rss_kb_per_call: number;
  workers_heap_used_kb_per_call: number;
}

/** One N on a fresh deployment: a warm-up call, idle after GC, N live calls after GC, idle again after they end. */
async function measureN(n: number, settleMs: number, frames: Buffer[], fake: FakeOpenAI, redisUrl: string): Promise<Row> {
  const dep = await deploy(fake, redisUrl, `mem${n}`, 1, { NODE_OPTIONS: INSPECT_OPTIONS });
  // If this process dies on an error, it takes its gateway and workers with it.
  const killAll = (): void => {
    for (const p of [dep.gateway, ...dep.workers]) p.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    const ports = new Map([dep.gateway, ...dep.workers].map((p) => [p, inspectorPort(p)] as const));
    const warm = await openCalls(dep, 1, frames);
    warm.stop();
    for (const c of warm.calls) c.hangUp();
    if (warm.turnsOk !== 1) throw new Error(`warm-up call failed: ${warm.calls[0]?.error}`);
    await untilNoCalls(dep);
    const idle = await steady(dep, ports);
    const live = await openCalls(dep, n, frames);
    await new Promise((r) => setTimeout(r, settleMs));
    const failed = live.calls.filter((c) => c.error).length;
    const now = await steady(dep, ports);
    live.stop();
    for (const c of live.calls) c.hangUp();
    await untilNoCalls(dep);
    const after = await steady(dep, ports);
    const per = (pick: (s: Snapshot) => number): number => Math.round((pick(now) - pick(idle)) / n);
    const row: Row = {
      calls: n,
      turns_ok: live.turnsOk,
      calls_with_error: failed,
      idle,
      live: now,
      idle_after: after,
      gateway_rss_kb_per_call: per((s) => s.gateway.rssKb),
      gateway_heap_used_kb_per_call: per((s) => s.gateway.heapUsedKb),
      gateway_external_kb_per_call: per((s) => s.gateway.externalKb),
      workers_rss_kb_per_call: per((s) => s.workers.rssKb),
      workers_heap_used_kb_per_call: per((s) => s.workers.heapUsedKb),
    };
    console.error(`N=${n}: ${live.turnsOk}/${n} turns ok${failed ? `, ${failed} calls with an error` : ''}; gateway RSS ${row.gateway_rss_kb_per_call} KB per call`);
    return row;
  } finally {
    await dep.stop();
    process.off('exit', killAll);
  }
}

async function main(): Promise<void> {
  const ns = arg('calls', '1,50,200').split(',').filter(Boolean).map(Number);
  const settleMs = Number(arg('settle-s', '5')) * 1000;
  const { frames } = loadSpeech();
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const rds = await startRedis(6500 + Math.floor(Math.random() * 100));
  const stopRedis = (): void => void rds.proc.kill('SIGKILL');
  process.once('exit', stopRedis);
  const rows: Row[] = [];
  try {
    for (const n of ns) rows.push(await measureN(n, settleMs, frames, fake, rds.url));
  } finally {
    await rds.stop();
    await fake.close();
    process.off('exit', stopRedis);
  }

  const report = { date: new Date().toISOString(), machine: machine(), settle_s: settleMs / 1000, delays: DELAYS, rows };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2));
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  console.log(`Memory per active call (${report.machine}); after two forced full GCs, median of 3 snapshots\n`);
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        `${r.calls} calls`,
        {
          'turns ok': `${r.turns_ok}/${r.calls}`,
          'gw RSS idle → live MB': `${mb(r.idle.gateway.rssKb)} → ${mb(r.live.gateway.rssKb)}`,
          'gw RSS KB / call': r.gateway_rss_kb_per_call,
          'gw heapUsed idle → live MB': `${mb(r.idle.gateway.heapUsedKb)} → ${mb(r.live.gateway.heapUsedKb)}`,
          'gw heapUsed KB / call': r.gateway_heap_used_kb_per_call,
          'gw external KB / call': r.gateway_external_kb_per_call,
          'gw RSS after they end MB': mb(r.idle_after.gateway.rssKb),
          'workers RSS idle → live MB': `${mb(r.idle.workers.rssKb)} → ${mb(r.live.workers.rssKb)}`,
          'workers RSS KB / call': r.workers_rss_kb_per_call,
        },
      ]),
    ),
  );
  console.log('(external = ArrayBuffer backing stores and other memory V8 tracks outside its heap; RSS after GC moves by ±2 MB between snapshots, so at N = 1 the heap figures are the measure)');
  console.log(`\nwrote ${OUT}`);
}

runMain(import.meta, main);
