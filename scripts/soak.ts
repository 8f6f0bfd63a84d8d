/**
 * Soak test (not part of `npm test`): npx tsx scripts/soak.ts [--minutes 30] [--calls 50]
 *
 * Keeps `--calls` calls cycling for `--minutes` against a gateway process and one worker process
 * per stage (private redis-server, fake provider): each call speaks one turn at real-time pace,
 * hangs up, and a new call takes its place. Every 10 s it samples the gateway's and workers' RSS
 * and Redis used_memory; at the end it reports each series' slope (least squares, KB per minute,
 * over the second half so start-up warm-up does not count) and checks that, once every call has
 * ended and its TTL-less keys are accounted for, no call-scoped key is left without a TTL and no
 * job is left queued. Exit code 1 when a check fails.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { Redis } from 'ioredis';
import type { Stage } from '../src/config';
import { parseWav } from '../src/core/audio/formats';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { resample } from '../src/core/audio/resample';
import { startFakeOpenAI } from '../test/fakes/openai-server';
import { fixturePath } from '../test/fixtures';
import { freePort, spawnGateway, spawnWorker, type ServiceProcess } from '../test/helpers/processes';
import { DELAYS, procStats, startRedis } from '../bench/load';
import { arg } from '../bench/common';

const ADMIN = 'soak-admin-key-0123456789';
const FRAME = 960;


function frames(): Buffer[] {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const b = pcm16ToBytes(resample(pcm, sampleRate, 24_000));
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += FRAME) {
    const f = Buffer.alloc(FRAME);
    Buffer.from(b.buffer, b.byteOffset + i, Math.min(FRAME, b.length - i)).copy(f);
    out.push(f);
  }
  for (let i = 0; i < 50; i++) out.push(Buffer.alloc(FRAME)); // a second of silence ends the turn
  return out;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

async function oneCall(url: string, speech: Buffer[]): Promise<'ok' | string> {
  const res = await fetch(`${url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"business_id":"soak"}' });
  if (!res.ok) return `create ${res.status}`;
  const { id } = (await res.json()) as { id: string };
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/calls/${id}/stream?dialect=beta`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return new Promise((resolve) => {
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (r: string) => {
      clearInterval(timer);
      clearTimeout(guard);
      ws.close();
      resolve(r);
    };
    const guard = setTimeout(() => done('timeout'), 60_000);
    ws.on('open', () => (timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(speech[i++] ?? Buffer.alloc(FRAME)), 20)));
    ws.on('message', (d, bin) => {
      if (bin) return;
      const e = JSON.parse(d.toString()) as { type: string; response?: { status: string } };
      if (e.type === 'response.done') done(e.response?.status === 'completed' ? 'ok' : `response ${e.response?.status}`);
    });
    ws.on('error', (err) => done(err.message));
  });
}

async function callKeysWithoutTtl(redis: Redis, prefix: string): Promise<string[]> {
  const bad: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:call:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) if ((await redis.ttl(k)) === -1) bad.push(k); // -2: expired since the scan
  } while (cursor !== '0');
  return bad;
}

/** Redis memory by kind of key (ids folded), biggest first: where the memory goes. */
async function memoryByKind(redis: Redis, prefix: string): Promise<Record<string, { keys: number; mb: number }>> {
  const kinds = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 2000);
    cursor = next;
    const sizes = await Promise.all(keys.map((k) => redis.memory('USAGE', k).catch(() => 0)));
    keys.forEach((k, i) => {
      const kind = k.replace(/\{call_[^}]+\}/, '{call}').replace(/turn_\w+/g, 'turn').replace(/:call_\w+:turn[^:]*:/, ':<job>:');
      const e = kinds.get(kind) ?? { keys: 0, bytes: 0 };
      e.keys++;
      e.bytes += Number(sizes[i] ?? 0);
      kinds.set(kind, e);
    });
  } while (cursor !== '0');
  return Object.fromEntries(
    [...kinds.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 12).map(([k, v]) => [k, { keys: v.keys, mb: Math.round(v.bytes / 1e4) / 100 }]),
  );
}

async function main() {
  const minutes = Number(arg('minutes', '30'));
  const concurrency = Number(arg('calls', '50'));
  const speech = frames();
  const fake = await startFakeOpenAI();
  fake.script.delays = { ...DELAYS };
  const rds = await startRedis(6500 + Math.floor(Math.random() * 100));
  const prefix = 'soak';
  const env = { prefix, providerUrl: fake.url, redisUrl: rds.url };
  const port = await freePort();
  const gw = spawnGateway({ ...env, port, adminKey: ADMIN });
  const workers: ServiceProcess[] = (['stt', 'llm', 'tts'] as Stage[]).map((s) => spawnWorker(s, env));
  const procs = [gw, ...workers];
  let exitCode = 0;
  let gwOut = '';
  gw.proc.stdout!.on('data', (d: Buffer) => (gwOut = (gwOut + d.toString()).slice(-8_000)));
  let gatewayDied = false;
  void gw.exited.then((code) => {
    if (stopping) return;
    gatewayDied = true;
    console.error(`GATEWAY EXITED (${String(code)})\n--- stderr ---\n${gw.stderr().slice(-4_000)}\n--- stdout ---\n${gwOut}`);
  });
  let stopping = false;
  try {
    await Promise.all(procs.map((p) => p.ready));
    const url = `http://127.0.0.1:${port}`;
    await fetch(`${url}/v1/businesses/soak`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Soak', session: { instructions: 'You are a helpful agent.' }, limits: { max_concurrent_calls: 10_000, requests_per_minute: 100_000 } }),
    });

    const t0 = Date.now();
    const end = t0 + minutes * 60_000;
    const samples: { t: number; gw: number; workers: number; redis: number }[] = [];
    const sample = async () => {
      const mem = Number(/used_memory:(\d+)/.exec(await rds.redis.info('memory'))?.[1] ?? 0);
      const rss = (p: ServiceProcess) => {
        try {
          return procStats(p.pid).rssKb;
        } catch {
          return 0; // the process is gone (reported on exit)
        }
      };
      samples.push({ t: (Date.now() - t0) / 60_000, gw: rss(gw), workers: workers.reduce((a, w) => a + rss(w), 0), redis: mem / 1024 });
      const s = samples.at(-1)!;
      console.error(`t=${s.t.toFixed(1)} min  gateway ${Math.round(s.gw / 1024)} MB  workers ${Math.round(s.workers / 1024)} MB  redis ${Math.round(s.redis / 1024)} MB  calls ok ${ok} failed ${failed}`);
    };
    let ok = 0;
    let failed = 0;
    const failures: Record<string, number> = {};
    const sampler = setInterval(() => void sample(), 10_000);
    await sample();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * 2_000) / concurrency));
        while (Date.now() < end && !gatewayDied) {
          const r = await oneCall(url, speech).catch((err: Error) => `error: ${err.message}`);
          if (r === 'ok') ok++;
          else {
            failed++;
            failures[r] = (failures[r] ?? 0) + 1;
          }
        }
      }),
    );
    clearInterval(sampler);
    await sample();
    fake.script.delays = {};

    // Everything ended: no job left, and every call-scoped key expires by itself.
    const queued = (await Promise.all(['stt', 'llm', 'tts'].map((q) => rds.redis.llen(`{${prefix}:q}:${q}:wait`)))).reduce((a, b) => a + b, 0);
    const active = (await Promise.all(['stt', 'llm', 'tts'].map((q) => rds.redis.llen(`{${prefix}:q}:${q}:active`)))).reduce((a, b) => a + b, 0);
    const noTtl = await callKeysWithoutTtl(rds.redis, prefix);
    const half = samples.filter((s) => s.t >= minutes / 2);
    const sl = (k: 'gw' | 'workers' | 'redis') => slope(half.map((s) => s.t), half.map((s) => s[k]));
    const report = {
      gateway_died: gatewayDied,
      minutes,
      concurrency,
      calls_ok: ok,
      calls_failed: failed,
      failures,
      slope_kb_per_min: { gateway_rss: Math.round(sl('gw')), workers_rss: Math.round(sl('workers')), redis_used_memory: Math.round(sl('redis')) },
      start_mb: { gateway_rss: Math.round(samples[0]!.gw / 1024), redis: Math.round(samples[0]!.redis / 1024) },
      end_mb: { gateway_rss: Math.round(samples.at(-1)!.gw / 1024), redis: Math.round(samples.at(-1)!.redis / 1024) },
      jobs_left: { waiting: queued, active },
      call_keys_without_ttl: noTtl.length,
      keys_without_ttl_sample: noTtl.slice(0, 10),
      redis_memory_by_kind: await memoryByKind(rds.redis, prefix),
    };
    console.log(JSON.stringify(report, null, 2));
    if (gatewayDied || failed > 0 || queued + active > 0 || noTtl.length > 0) exitCode = 1;
  } finally {
    stopping = true;
    await Promise.all(procs.map((p) => Promise.race([p.kill('SIGTERM'), new Promise((r) => setTimeout(r, 5_000))]).then(() => p.kill('SIGKILL'))));
    await rds.stop();
    await fake.close();
  }
  process.exit(exitCode);
}

void main();
