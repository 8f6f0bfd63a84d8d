/**
 * Operations (docs/DESIGN.md §12): /readyz counts the worker processes of every host from their Redis
 * heartbeats, and a process that cannot start says why in one line and exits non-zero. Real
 * child processes (`node --import tsx`, as `npm start` / `npm run worker:*` run them).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, spawnProcess, spawnWorker, type ServiceProcess } from '../helpers/processes';
import { startService, type TestService } from '../helpers/service';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SLOW = 120_000; // a child process compiles the TypeScript on start

let svc: TestService;
const procs = new Set<ServiceProcess>();

beforeAll(async () => {
  svc = await startService({ workers: false, env: { WORKERS: '' } });
});
afterAll(async () => {
  await killAll(procs);
  await svc?.stop();
});

async function readyz(): Promise<{ status: number; body: { status: string; workers: Record<string, number> } }> {
  const res = await svc.api('/readyz', { key: null });
  return { status: res.status, body: (await res.json()) as { status: string; workers: Record<string, number> } };
}

describe('/readyz', () => {
  it('lists the worker processes started apart from the gateway, per stage, and 0 for a stage with none', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', redis: 'ok', workers: { stt: 0, llm: 0, tts: 0 } } });
    const env = { prefix: svc.config.redisPrefix, providerUrl: svc.fake.url, redisUrl: svc.config.redisUrl };
    const workers = [spawnWorker('stt', env), spawnWorker('stt', env), spawnWorker('tts', env)];
    for (const w of workers) procs.add(w);
    await Promise.all(workers.map((w) => w.ready));
    expect((await readyz()).body.workers).toEqual({ stt: 2, llm: 0, tts: 1 });
    // A worker that stops cleanly stops counting at once.
    expect(await workers[0]!.kill('SIGTERM')).toBe(0);
    expect((await readyz()).body.workers).toEqual({ stt: 1, llm: 0, tts: 1 });
  }, SLOW);
});

describe('the split-process path (npm run fake-openai + gateway + worker:*)', () => {
  it('a gateway pointed at the fake with OPENAI_BASE_URL alone has the local admin key and the demo business', async () => {
    const port = await freePort();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_PREFIX: svc.config.redisPrefix, OPENAI_BASE_URL: svc.fake.url, WORKERS: '', PORT: String(port) };
    const gw = spawnProcess('gateway', ['src/main.ts'], env, 'voice agent ready');
    procs.add(gw);
    await gw.ready;
    const res = await fetch(`http://127.0.0.1:${port}/v1/businesses/demo`, { headers: { authorization: 'Bearer local-admin-key-change-me' } });
    expect(res.status).toBe(200);
    expect(await fetch(`http://127.0.0.1:${port}/console/config`).then((r) => r.json())).toMatchObject({ default_key: 'local-admin-key-change-me' });
    expect(await gw.kill('SIGTERM')).toBe(0);
  }, SLOW);
});

/** Runs one of the project's entry points to its exit; returns its exit code and everything it printed. */
function runToExit(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_PREFIX: svc.config.redisPrefix, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, output })));
}

/** The failure line is there, once, and nothing looks like a stack trace or ioredis' complaint. */
function expectOneLine(output: string, line: RegExp) {
  const lines = output.split('\n').filter((l) => line.test(l));
  expect(lines, output).toHaveLength(1);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain('Unhandled error event');
}

describe('start-up failures', () => {
  let taken: Server;
  let takenPort: number;
  let closedPort: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    takenPort = (taken.address() as { port: number }).port;
    closedPort = await freePort(); // nothing listens there: "Redis" refuses connections
  });
  afterAll(() => {
    taken?.close();
  });

  it('a gateway (npm start) on a taken port: one line naming the port and PORT, exit 1', async () => {
    const { code, output } = await runToExit('src/main.ts', { PORT: String(takenPort), OPENAI_BASE_URL: svc.fake.url });
    expect(code).toBe(1);
    expectOneLine(output, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${takenPort}: the port is already in use .* set PORT to a free port\\.$`));
  }, SLOW);

  it('a gateway with Redis unreachable: one line naming Redis and REDIS_URL, exit 1', async () => {
    const { code, output } = await runToExit('src/main.ts', { PORT: '0', WORKERS: '', REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    expect(code).toBe(1);
    expectOneLine(output, new RegExp(`^Cannot reach Redis at redis://127\\.0\\.0\\.1:${closedPort} \\(connect ECONNREFUSED .*\\)\\. Start Redis or set REDIS_URL\\.$`));
  }, SLOW);

  it('a worker (npm run worker:stt) with Redis unreachable, and one whose METRICS_PORT is taken', async () => {
    const provider = { OPENAI_BASE_URL: svc.fake.url };
    const [redis, metrics] = await Promise.all([
      runToExit('workers/stt.ts', { ...provider, REDIS_URL: `redis://127.0.0.1:${closedPort}` }),
      runToExit('workers/llm.ts', { ...provider, METRICS_PORT: String(takenPort) }),
    ]);
    expect(redis.code).toBe(1);
    expectOneLine(redis.output, /^Cannot reach Redis at .* Start Redis or set REDIS_URL\.$/);
    expect(metrics.code).toBe(1);
    expectOneLine(metrics.output, /^Cannot listen on .* set METRICS_PORT to a free port\.$/);
    // The worker that could not serve its metrics took itself out of the live workers again.
    expect((await readyz()).body.workers.llm).toBe(0);
  }, SLOW);

  it('a bad variable, or a worker with no provider at all: one line naming it, exit 1', async () => {
    const [bad, none] = await Promise.all([runToExit('workers/tts.ts', { PORT: 'abc' }), runToExit('workers/llm.ts', {})]);
    expect(bad.code).toBe(1);
    expectOneLine(bad.output, /^Invalid configuration: PORT="abc": /);
    expect(none.code).toBe(1);
    expectOneLine(none.output, /^The llm worker has no provider: set OPENAI_BASE_URL .* or OPENAI_API_KEY\.$/);
  }, SLOW);
});
