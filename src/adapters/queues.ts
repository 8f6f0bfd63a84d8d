/**
 * BullMQ queues for the three stages. Stalled-job recovery is tuned for voice: a job whose worker
 * died is taken up again within ~10 s (lock 5 s + stalled check every 5 s), not BullMQ's 30–60 s.
 */
import { Queue, Worker, type Job, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { Stage } from '../config';
import { isCluster, type Keys, type Redis } from './redis';

export const STAGES: Stage[] = ['stt', 'llm', 'tts'];

const VOICE_WORKER_OPTIONS = {
  lockDuration: 5_000,
  stalledInterval: 5_000,
  maxStalledCount: 3,
} satisfies Partial<WorkerOptions>;

/**
 * Provider retries happen inside the processor (with backoff); BullMQ retries cover crashes.
 * A completed job is kept 10 minutes so that a repeated enqueue of its id is ignored: a stage
 * redelivered after it enqueued the next one (the STT job that already handed the turn to the LLM)
 * enqueues it again. Kept by age only: a count cap (it was 1000) shrank that window to seconds
 * under load (1000 TTS jobs are ~10 s at 50 turns/s), and cost two more commands per completed
 * job (ZREVRANGE + ZREMRANGEBYRANK). Memory: ~1 KB per job completed in the last 10 minutes.
 */
const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 2,
  backoff: { type: 'fixed', delay: 200 },
  removeOnComplete: { age: 600 },
  removeOnFail: { age: 3600, count: 1000 },
};

export type Queues = Record<Stage, Queue>;

/**
 * BullMQ's key prefix for a stage's queue: hash-tagged, since BullMQ's scripts touch many keys of a
 * queue at once. One node: `{va:q}` for every stage (the layout running deployments have). On a
 * Redis Cluster: one tag per stage, `{va:q:stt}` etc., so the three queues can sit on three masters
 * (BullMQ's advice) — with one shared tag, the master holding it served ~75 % of all commands.
 */
export function queuePrefix(keys: Keys, stage: Stage, redis: Redis): string {
  return isCluster(redis) ? `{${keys.prefix}:q:${stage}}` : keys.queuePrefix();
}

export function createQueues(connection: Redis, keys: Keys): Queues {
  const make = (stage: Stage) => {
    const q = new Queue(stage, { connection, prefix: queuePrefix(keys, stage, connection), defaultJobOptions: DEFAULT_JOB_OPTIONS });
    q.on('error', () => {}); // connection errors: logged by the shared connection's own handler
    return q;
  };
  return { stt: make('stt'), llm: make('llm'), tts: make('tts') };
}

export async function closeQueues(q: Queues): Promise<void> {
  await Promise.all(Object.values(q).map((x) => x.close()));
}

export function createWorker<T>(
  stage: Stage,
  processor: Processor<T>,
  connection: Redis,
  keys: Keys,
  opts: Partial<WorkerOptions> = {},
): Worker<T> {
  return new Worker<T>(stage, processor, {
    connection,
    prefix: queuePrefix(keys, stage, connection),
    concurrency: stage === 'tts' ? 64 : 32,
    ...VOICE_WORKER_OPTIONS,
    ...opts,
  });
}

/**
 * Deterministic job ids (`<callId>:<turnId>:<stage>`, and `<callId>:<turnId>:tts.<seq>` per
 * sentence): a retried or repeated enqueue never duplicates work. BullMQ rejects custom ids with
 * other than exactly three ':'-separated parts, hence `tts.<seq>` rather than `tts:<seq>`.
 */
export function jobId(callId: string, turnId: string, stage: Stage, seq?: number): string {
  return seq === undefined ? `${callId}:${turnId}:${stage}` : `${callId}:${turnId}:${stage}.${seq}`;
}

export type { Job };
