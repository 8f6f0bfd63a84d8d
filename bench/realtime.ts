/**
 * Realtime-mode proxy overhead: npx tsx bench/realtime.ts [--calls 1,50] [--turns 6]
 *   (writes bench/out/realtime.json and prints a table)
 *
 * N clients at once, each on its own connection: one warm-up turn, then `turns` turns of a user
 * text item + response.create, timed from response.create sent to the first
 * response.output_audio.delta received and to response.done. Measured twice in the same run,
 * against the same fake Realtime server (in its own process; first audio delta after 100 ms):
 * - direct: the client talks to the fake upstream itself (what a client of OpenAI sees);
 * - gateway: the client talks to a gateway process (GA dialect) for a realtime-mode business, which
 *   injects the business's session and relays both ways.
 * Added = gateway − direct, per percentile. The clients, the fake and the gateway share the cores.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RealtimeClient } from '../test/helpers/realtime-client';
import { arg, machine, percentile, runMain } from './common';
import { freePort, spawnGateway, spawnProcess, type ServiceProcess } from '../test/helpers/processes';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'realtime.json');
const ADMIN = 'bench-admin-key-0123456789';
const FIRST_DELTA_MS = 100;

interface Timings {
  firstAudio: number[];
  done: number[];
}

/** One client: a warm-up turn, then `turns` timed turns. */
async function runClient(client: RealtimeClient, turns: number, into: Timings): Promise<void> {
  for (let t = 0; t <= turns; t++) {
    const from = client.events.length;
    client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What are your opening hours?' }] } });
    const sent = performance.now();
    client.send({ type: 'response.create' });
    await client.waitFor('response.output_audio.delta', from, 60_000);
    const first = performance.now();
    await client.waitFor('response.done', from, 60_000);
    if (t > 0) {
      into.firstAudio.push(first - sent);
      into.done.push(performance.now() - sent);
    }
  }
  client.close();
}

async function phase(n: number, turns: number, connect: () => Promise<RealtimeClient>): Promise<Timings> {
  const timings: Timings = { firstAudio: [], done: [] };
  const clients = await Promise.all(Array.from({ length: n }, connect));
  await Promise.all(clients.map((c) => runClient(c, turns, timings)));
  return timings;
}

/** The fake provider in a process of its own, so the clients' work does not delay its events. */
async function startFake(): Promise<ServiceProcess & { url: string; realtimeUrl: string }> {
  const port = await freePort();
  const proc = spawnProcess('fake', [join('test', 'fakes', 'main.ts')], { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), FAKE_DELAYS: JSON.stringify({ realtimeFirstDeltaMs: FIRST_DELTA_MS }) }, 'listening');
  await proc.ready;
  return Object.assign(proc, { url: `http://127.0.0.1:${port}/v1`, realtimeUrl: `ws://127.0.0.1:${port}/v1/realtime` });
}

async function main() {
  const ns = arg('calls', '1,50').split(',').filter(Boolean).map(Number);
  const turns = Number(arg('turns', '6'));
  const fake = await startFake();
  const prefix = `rtbench-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const gateway = spawnGateway({ prefix, providerUrl: fake.url, port, adminKey: ADMIN });
  const base = `http://127.0.0.1:${port}`;
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const rows: Record<string, unknown>[] = [];
  try {
    await gateway.ready;
    const put = await fetch(`${base}/v1/businesses/rtbench`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ name: 'Realtime bench', mode: 'realtime', session: { instructions: 'You are a helpful agent.' }, limits: { max_concurrent_calls: 10_000, requests_per_minute: 100_000 } }),
    });
    if (!put.ok) throw new Error(`business setup failed: ${put.status} ${await put.text()}`);

    const direct = async () => {
      const c = await RealtimeClient.connect(`${fake.realtimeUrl}?model=gpt-realtime`, { key: 'test' });
      await c.waitFor('session.created');
      return c;
    };
    const viaGateway = async () => {
      const res = await fetch(`${base}/v1/calls`, { method: 'POST', headers: admin, body: JSON.stringify({ business_id: 'rtbench' }) });
      if (!res.ok) throw new Error(`create call: ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      const c = await RealtimeClient.connect(`${base.replace('http', 'ws')}/v1/calls/${id}/stream?dialect=ga`, { key: ADMIN });
      await c.waitFor('session.created');
      return c;
    };

    for (const n of ns) {
      const d = await phase(n, turns, direct);
      const g = await phase(n, turns, viaGateway);
      const q = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length });
      const row = { calls: n, direct: { first_audio_ms: q(d.firstAudio), done_ms: q(d.done) }, gateway: { first_audio_ms: q(g.firstAudio), done_ms: q(g.done) } };
      rows.push(row);
      console.error(`N=${n}: ${JSON.stringify(row)}`);
    }
  } finally {
    await gateway.kill('SIGTERM');
    await fake.kill('SIGTERM');
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`*${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }

  const machineName = machine();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), machine: machineName, first_delta_ms: FIRST_DELTA_MS, turns, rows }, null, 2));
  const f = (x: unknown) => (typeof x === 'number' ? x.toFixed(1) : '-');
  console.log(`\nrealtime: ${new Date().toISOString()} on ${machineName}; fake first audio delta after ${FIRST_DELTA_MS} ms; ${turns} timed turns per client\n`);
  console.log('| calls | direct first audio p50 / p95 ms | gateway first audio p50 / p95 ms | added p50 / p95 ms | direct done p50 / p95 ms | gateway done p50 / p95 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows as { calls: number; direct: Record<string, { p50: number; p95: number }>; gateway: Record<string, { p50: number; p95: number }> }[]) {
    const [d, g] = [r.direct, r.gateway];
    console.log(
      `| ${r.calls} | ${f(d.first_audio_ms!.p50)} / ${f(d.first_audio_ms!.p95)} | ${f(g.first_audio_ms!.p50)} / ${f(g.first_audio_ms!.p95)} | ${f(g.first_audio_ms!.p50 - d.first_audio_ms!.p50)} / ${f(g.first_audio_ms!.p95 - d.first_audio_ms!.p95)} | ${f(d.done_ms!.p50)} / ${f(d.done_ms!.p95)} | ${f(g.done_ms!.p50)} / ${f(g.done_ms!.p95)} |`,
    );
  }
}

runMain(import.meta, main);
