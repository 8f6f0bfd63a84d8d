/**
 * A throwaway Redis Cluster for the `cluster` test project (vitest.config.ts): 3 masters and 3
 * replicas on 127.0.0.1:7300–7305 (never the shared 6379), data in a temp dir, no persistence.
 * vitest starts it once before the project's files (`setup`) and stops it after them (`teardown`,
 * which also runs when tests fail; an exit hook kills the servers if vitest itself dies).
 *
 * The project's test files run unchanged: `testRedisEnv()` gives the service helper and spawned
 * processes `REDIS_CLUSTER_NODES` when TEST_REDIS_CLUSTER_NODES is set (the project sets it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis as RedisNode } from 'ioredis';
import { masters, type Redis } from '../../src/adapters/redis';

export const CLUSTER_PORTS = [7300, 7301, 7302, 7303, 7304, 7305];
export const CLUSTER_NODES = CLUSTER_PORTS.map((p) => `127.0.0.1:${p}`);
const DIR_PREFIX = 'va-cluster-';

/** The environment that points the service at the test cluster, when this run uses one. */
export function testRedisEnv(): Record<string, string> {
  const nodes = process.env.TEST_REDIS_CLUSTER_NODES;
  return nodes ? { REDIS_CLUSTER_NODES: nodes } : {};
}

/** Every key matching `pattern` on every master (SCAN reaches one node only). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** A standalone connection to one node of the test cluster (CLUSTER FAILOVER, INFO). */
export function nodeConnection(port: number): RedisNode {
  return new RedisNode({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
}

export async function clusterInfo(conn: RedisNode): Promise<Record<string, string>> {
  const text = (await conn.cluster('INFO')) as string;
  return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

/** Re-checks a condition the cluster gives no event for (gossip converging) until it holds. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class TestCluster {
  private constructor(
    private readonly dir: string,
    private readonly procs: ChildProcess[],
  ) {}

  static async start(): Promise<TestCluster> {
    await Promise.all(CLUSTER_PORTS.map(stopLeftover));
    const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
    const procs: ChildProcess[] = [];
    const cluster = new TestCluster(dir, procs);
    const killAll = () => procs.forEach((p) => p.exitCode === null && p.kill('SIGKILL'));
    process.once('exit', killAll);
    try {
      await Promise.all(CLUSTER_PORTS.map((port) => startNode(dir, port, procs)));
      await promisify(execFile)('redis-cli', ['--cluster', 'create', ...CLUSTER_NODES, '--cluster-replicas', '1', '--cluster-yes']);
      const conns = CLUSTER_PORTS.map(nodeConnection);
      try {
        await until('cluster_state:ok on every node', async () => (await Promise.all(conns.map(clusterInfo))).every((i) => i.cluster_state === 'ok'));
        // Replicas in sync (a CLUSTER FAILOVER needs its master link up).
        await until('replicas in sync', async () => {
          const infos = await Promise.all(conns.map((c) => c.info('replication')));
          return infos.filter((i) => i.includes('role:slave')).length === 3 && infos.every((i) => !i.includes('role:slave') || i.includes('master_link_status:up'));
        });
      } finally {
        conns.forEach((c) => c.disconnect());
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map((p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function startNode(dir: string, port: number, procs: ChildProcess[]): Promise<void> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
    // Quick failure detection for the failover test (the default is 15 s).
    '--cluster-node-timeout', '2000',
    '--save', '', '--appendonly', 'no',
  ];
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(proc);
  return new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-4_000);
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server on ${port} exited (${code}): ${out.slice(-500)}`)));
  });
}

/** A node left by an earlier run that died before its teardown (ours: its dir is one of our temp dirs) is shut down; anything else on the port is an error. */
async function stopLeftover(port: number): Promise<void> {
  const conn = new RedisNode({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  conn.on('error', () => {});
  try {
    await conn.connect();
  } catch {
    return; // free
  }
  try {
    const [, dir] = (await conn.config('GET', 'dir')) as [string, string];
    if (!dir.startsWith(join(tmpdir(), DIR_PREFIX))) throw new Error(`port ${port} is taken by another Redis (${dir}); the cluster tests need 7300–7305`);
    await conn.call('SHUTDOWN', 'NOSAVE').catch(() => {});
  } finally {
    conn.disconnect();
  }
}

let running: TestCluster | null = null;

/** vitest globalSetup (the `cluster` project). */
export async function setup(): Promise<void> {
  running = await TestCluster.start();
}

export async function teardown(): Promise<void> {
  await running?.stop();
  running = null;
}
