/**
 * Which worker processes are alive, on any host (docs/DESIGN.md §12): each process running stage
 * workers writes a heartbeat into one Redis sorted set (`<stage>|<instance>` scored by time), and
 * /readyz counts the members seen within HEARTBEAT_STALE_MS. A process that stops cleanly removes
 * its members at once; one that dies stops counting after HEARTBEAT_STALE_MS. Times are Redis's
 * own clock (TIME), so hosts with skewed clocks still agree.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Stage } from '../config';
import type { Keys, Redis } from './redis';

const HEARTBEAT_MS = 5_000;
/** Three missed heartbeats: the process is gone. */
const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_MS;
const ALL_STAGES: readonly Stage[] = ['stt', 'llm', 'tts'];

async function redisNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

export class WorkerHeartbeat {
  private timer: NodeJS.Timeout | null = null;
  private readonly members: string[];

  private constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    stages: readonly Stage[],
    readonly instance: string,
  ) {
    this.members = stages.map((stage) => `${stage}|${instance}`);
  }

  /** Writes the first heartbeat before resolving, so the workers count as soon as they run. */
  static async start(redis: Redis, keys: Keys, stages: readonly Stage[], onError: (err: Error) => void): Promise<WorkerHeartbeat> {
    const hb = new WorkerHeartbeat(redis, keys, stages, `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`);
    await hb.beat();
    let busy = false; // while Redis is away commands wait: one beat at a time, not a pile of them
    hb.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void hb
        .beat()
        .catch(onError)
        .finally(() => (busy = false));
    }, HEARTBEAT_MS).unref();
    return hb;
  }

  private async beat(): Promise<void> {
    if (this.members.length === 0) return;
    const key = this.keys.workerHeartbeats();
    const now = await redisNow(this.redis);
    await this.redis
      .multi()
      .zadd(key, ...this.members.flatMap((m) => [now, m]))
      .zremrangebyscore(key, '-inf', now - HEARTBEAT_STALE_MS)
      .pexpire(key, 4 * HEARTBEAT_STALE_MS)
      .exec();
  }

  /** The process stops its workers: it no longer counts, at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.members.length) await this.redis.zrem(this.keys.workerHeartbeats(), ...this.members).catch(() => {});
  }
}

/** Live worker processes per stage across every host; a stage with none is 0. */
export async function liveWorkers(redis: Redis, keys: Keys): Promise<Record<Stage, number>> {
  return countByStage(await liveMembers(redis, keys));
}

/** The `<stage>|<instance>` members seen within HEARTBEAT_STALE_MS. */
export async function liveMembers(redis: Redis, keys: Keys): Promise<string[]> {
  const now = await redisNow(redis);
  return redis.zrangebyscore(keys.workerHeartbeats(), now - HEARTBEAT_STALE_MS, '+inf');
}

/** `<stage>|<instance>` members → processes per stage. */
export function countByStage(members: readonly string[]): Record<Stage, number> {
  const counts = Object.fromEntries(ALL_STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  for (const m of members) {
    const stage = m.slice(0, m.indexOf('|')) as Stage;
    if (stage in counts) counts[stage]++;
  }
  return counts;
}
