/**
 * Spawns the service's own processes (a stage worker, a gateway) as real child processes, so a
 * test or a benchmark can SIGKILL one in the middle of a turn. Each runs under `node --import tsx`
 * (not `npx tsx`, whose wrapper would take the signal instead of the worker), with the caller's
 * Redis prefix and provider URL, and is "ready" when it logs that it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stage } from '../../src/config';
import { testRedisEnv } from './redis-cluster';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServiceProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves once the process logged that it is running; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Everything the process wrote to stderr (for failure messages). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

export interface ProcessEnv {
  prefix: string;
  /** The provider's base URL ('http://127.0.0.1:PORT/v1'). */
  providerUrl: string;
  redisUrl?: string;
  env?: Record<string, string>;
}

function baseEnv(o: ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    REDIS_PREFIX: o.prefix,
    REDIS_URL: o.redisUrl ?? 'redis://127.0.0.1:6379',
    OPENAI_BASE_URL: o.providerUrl,
    OPENAI_API_KEY: 'test',
    LOG_LEVEL: 'info',
    ...testRedisEnv(), // the `cluster` test project's cluster, if this run uses one
    ...o.env,
  };
}

/** Any of the project's scripts (`args[0]`, under `node --import tsx`), ready once it prints `readyText`. */
export function spawnProcess(name: string, args: string[], env: NodeJS.ProcessEnv, readyText: string): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  let isReady = false;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? code)));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (isReady) return;
      out += d.toString();
      if (out.includes(readyText)) {
        isReady = true;
        out = '';
        resolve();
      }
    });
    void exited.then((code) => !isReady && reject(new Error(`${name} exited (${String(code)}) before it was ready: ${err.slice(-2000)}`)));
  });
  ready.catch(() => {}); // observed by whoever awaits it
  proc.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  return {
    name,
    proc,
    pid: proc.pid!,
    ready,
    exited,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** One stage worker in its own process (`workers/<stage>.ts`, as `npm run worker:<stage>`). */
export function spawnWorker(stage: Stage, o: ProcessEnv): ServiceProcess {
  return spawnProcess(`${stage} worker`, [join('workers', `${stage}.ts`)], baseEnv(o), `${stage} worker running`);
}

/** A gateway-only process (`WORKERS=`) on `port`, with `adminKey` as its admin key. */
export function spawnGateway(o: ProcessEnv & { port: number; adminKey: string }): ServiceProcess {
  const env = { ...baseEnv(o), WORKERS: '', PORT: String(o.port), HOST: '127.0.0.1', ADMIN_API_KEY: o.adminKey };
  return spawnProcess('gateway', [join('src', 'main.ts')], env, 'voice agent ready');
}

/** A TCP port that was free a moment ago (for a spawned gateway, which needs its port up front). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Kills whatever is still running (test teardown). */
export async function killAll(procs: Iterable<ServiceProcess>): Promise<void> {
  await Promise.all([...procs].map((p) => p.kill('SIGKILL')));
}
