/**
 * Redis Cluster benchmark: npx tsx bench/cluster.ts [--calls 50] [--scale-calls 100] [--per 1,2,4]
 *   (writes bench/out/cluster.json and prints two tables)
 *
 * The load of bench/load.ts (N real-time callers over the Realtime WebSocket, three turns each, one
 * barged into; a gateway process and worker processes; the fake provider at fixed delays), run
 * 1. against one private redis-server and against a throwaway Redis Cluster (3 masters + 3
 *    replicas on 127.0.0.1:7300–7305, test/helpers/redis-cluster.ts), same N, one worker process
 *    per stage: added latency per turn, Redis commands per turn (INFO commandstats deltas summed
 *    over the masters; per master too, to see the spread and the queue master's share);
 * 2. on the cluster with 1, 2 and 4 worker processes per stage: turns/s, and the service's CPU
 *    per turn (gateway + workers, from /proc), from which what one host carries is projected.
 *
 * Everything (callers, fake provider, Redis, gateway, workers) shares this machine's cores, so
 * throughput here is capped by the machine, not by the service: the CPU per turn is the number
 * that carries over to other hosts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis as RedisNode } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../test/fakes/openai-server';
import { CLUSTER_NODES, CLUSTER_PORTS, nodeConnection, TestCluster } from '../test/helpers/redis-cluster';
import { arg, machine, runMain } from './common';
import { DELAYS, deploy, loadSpeech, phase, procStats, startRedis, type Deployment, type PhaseResult } from './load';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'cluster.json');

interface Row extends PhaseResult {
  redis: 'node' | 'cluster';
  /** CPU seconds of the gateway and all workers per completed turn. */
  service_cpu_ms_per_turn: number;
  /** Commands per turn on each master (cluster only), busiest first. */
  cmds_per_turn_by_master: number[];
}

/** Sum of `calls=` over INFO commandstats. */
async function commandCalls(conn: RedisNode): Promise<number> {
  const info = await conn.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

function serviceCpuS(dep: Deployment): number {
  return [dep.gateway, ...dep.workers].reduce((a, p) => a + procStats(p.pid).cpuS, 0);
}

async function measure(dep: Deployment, counters: RedisNode[], n: number, frames: Buffer[], per: number, redis: Row['redis']): Promise<Row> {
  const before = await Promise.all(counters.map(commandCalls));
  const cpu0 = serviceCpuS(dep);
  const r = await phase(dep, async () => (await Promise.all(counters.map(commandCalls))).reduce((a, b) => a + b, 0), n, frames, per, per === 1 ? 'load' : 'scale');
  const cpu = serviceCpuS(dep) - cpu0;
  const after = await Promise.all(counters.map(commandCalls));
  const turns = Math.max(1, r.turns_completed);
  return {
    ...r,
    redis,
    service_cpu_ms_per_turn: Math.round((1000 * cpu) / turns),
    cmds_per_turn_by_master: redis === 'cluster' ? after.map((x, i) => Math.round((x - before[i]!) / turns)).sort((a, b) => b - a) : [],
  };
}

async function masterConnections(): Promise<RedisNode[]> {
  const conns = CLUSTER_PORTS.map(nodeConnection);
  const roles = await Promise.all(conns.map((c) => c.info('replication')));
  conns.forEach((c, i) => !roles[i]!.includes('role:master') && c.disconnect());
  return conns.filter((_, i) => roles[i]!.includes('role:master'));
}

async function onCluster<T>(fn: (counters: RedisNode[]) => Promise<T>): Promise<T> {
  const cluster = await TestCluster.start();
  const counters = await masterConnections();
  try {
    return await fn(counters);
  } finally {
    counters.forEach((c) => c.disconnect());
    await cluster.stop();
  }
}

async function run(fake: FakeOpenAI, counters: RedisNode[], redisUrl: string, redis: Row['redis'], prefix: string, n: number, per: number, frames: Buffer[]): Promise<Row> {
  const env: Record<string, string> = redis === 'cluster' ? { REDIS_CLUSTER_NODES: CLUSTER_NODES.join(',') } : {};
  const dep = await deploy(fake, redisUrl, prefix, per, env);
  try {
    const row = await measure(dep, counters, n, frames, per, redis);
    fake.requests.length = 0;
    console.error(`${redis} ${per}/stage N=${n}: ${JSON.stringify(row)}`);
    return row;
  } finally {
    await dep.stop();
  }
}

async function main() {
  const n = Number(arg('calls', '50'));
  const scaleN = Number(arg('scale-calls', '100'));
  const pers = arg('per', '1,2,4').split(',').filter(Boolean).map(Number);
  const { frames } = loadSpeech();
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const rows: Row[] = [];
  try {
    const rds = await startRedis(6390 + Math.floor(Math.random() * 100));
    try {
      rows.push(await run(fake, [rds.redis], rds.url, 'node', 'bcn', n, 1, frames));
    } finally {
      await rds.stop();
    }
    await onCluster(async (counters) => {
      rows.push(await run(fake, counters, 'redis://127.0.0.1:7300', 'cluster', 'bcc', n, 1, frames));
      for (const per of pers) rows.push(await run(fake, counters, 'redis://127.0.0.1:7300', 'cluster', `bcs${per}`, scaleN, per, frames));
    });
  } finally {
    await fake.close();
  }

  const machineName = machine();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), machine: machineName, delays: DELAYS, rows }, null, 2));
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(0));
  console.log(`\ncluster: ${new Date().toISOString()} on ${machineName}; fake delays ${JSON.stringify(DELAYS)}\n`);
  console.log('| redis | calls | workers/stage | turns ok | added p50/p95/p99 ms | Redis cmds/turn | per master | gw CPU % total | service CPU ms/turn | turns/s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const a = r.added_ms;
    console.log(
      `| ${r.redis} | ${r.calls} | ${r.workers_per_stage} | ${r.turns_completed}/${r.turns_expected} | ${f(a.p50)} / ${f(a.p95)} / ${f(a.p99)} | ${r.redis_cmds_per_turn} | ${r.cmds_per_turn_by_master.join(' / ') || '-'} | ${r.gateway_cpu_pct_total} | ${r.service_cpu_ms_per_turn} | ${r.turns_per_s} |`,
    );
  }
  const scale = rows.filter((r) => r.redis === 'cluster' && r.calls === scaleN);
  const one = scale.find((r) => r.workers_per_stage === 1);
  if (one) {
    console.log('');
    for (const r of scale) console.log(`${r.workers_per_stage}/stage: ${r.turns_per_s} turns/s (×${(r.turns_per_s / one.turns_per_s).toFixed(2)} of 1/stage), ${r.service_cpu_ms_per_turn} ms CPU per turn`);
    const cpuMs = Math.min(...scale.map((r) => r.service_cpu_ms_per_turn));
    console.log(`projection: one ${cpus().length}-core host of this kind carries ≈ ${Math.floor((cpus().length * 1000) / Math.max(1, cpuMs))} turns/s of service CPU (gateway + workers, providers elsewhere); N hosts ≈ N× that until the queue master saturates`);
  }
}

runMain(import.meta, main);
