/**
 * What every stage processor does around its real work: count the attempt (a stalled job that is
 * re-delivered does not raise BullMQ's attemptsMade, so redeliveries are counted in Redis), watch
 * for the turn's cancellation, and write stage-log entries with that attempt number.
 *
 * Latency: a job's first request to its provider should wait for one Redis round trip, not one per
 * step. So `beginJob` runs alongside the processor's own reads (Promise.all), and stage-log entries
 * or output records nobody waits for go through `ctx.later()`: sent at once, in order on the one
 * connection, and awaited together by `ctx.settle()` before the job ends (a failed write still
 * fails the job).
 */
import type { Job } from 'bullmq';
import type { LogEvent, LogStage } from '../src/contracts/logs';
import type { TurnRef } from '../src/contracts/jobs';
import { WriteBatch } from '../src/core/write-batch';
import type { TurnSignal } from '../src/adapters/turn-signals';
import type { WorkerDeps } from './runtime';

export interface JobContext {
  attempt: number;
  signal: AbortSignal;
  startedAt: number;
  log(event: LogEvent, data?: Record<string, unknown>, durationMs?: number | null): Promise<void>;
  /** A write the job does not wait for now (see the module comment). */
  later(write: Promise<unknown>): void;
  /** Waits for every `later()` write; rethrows the first failure. */
  settle(): Promise<void>;
  /**
   * The input of a job queued before it (adapters/turn-signals.ts), and how long it took; null
   * when the turn was cancelled meanwhile or nothing came in time (logged here, with `data`).
   */
  input(name: TurnSignal, data?: Record<string, unknown>): Promise<{ value: string; waitedMs: number } | null>;
  release(): void;
}

export async function beginJob(deps: WorkerDeps, job: Job<TurnRef>, stage: LogStage): Promise<JobContext> {
  const { call_id, turn_id } = job.data;
  const attemptsKey = deps.keys.callAttempts(call_id);
  const watch = deps.cancel.watch(call_id, turn_id);
  const [[, attempt]] = (await deps.redis.multi().hincrby(attemptsKey, job.id ?? job.name, 1).expire(attemptsKey, deps.config.callTtlS).exec()) as [[null, number]];
  const startedAt = Date.now();
  const writes = new WriteBatch();
  return {
    attempt,
    signal: watch.signal,
    startedAt,
    release: watch.release,
    async log(event, data = {}, durationMs = null) {
      await deps.stageLog.write({ call_id, turn_id, stage, event, attempt, duration_ms: durationMs, data });
    },
    later: (write) => writes.add(write),
    settle: () => writes.flush(),
    async input(name, data = {}) {
      const from = Date.now();
      const log = (event: LogEvent, more: Record<string, unknown>) =>
        deps.stageLog.write({ call_id, turn_id, stage, event, attempt, duration_ms: null, data: { ...data, ...more, input_wait_ms: Date.now() - from } });
      try {
        const value = await deps.signals!.wait(call_id, turn_id, name, INPUT_WAIT_MS, watch.signal);
        if (value !== null) return { value, waitedMs: Date.now() - from };
        await log('failed', { error: `no ${name} in time` });
      } catch (err) {
        if (!isAbort(err, watch.signal)) throw err;
        await log('cancelled', {});
      }
      return null;
    },
  };
}

/** How long a job queued before its input waits: long enough for the producing job to be redelivered after a crash, and retried. */
const INPUT_WAIT_MS = 120_000;

export function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err as Error)?.name === 'AbortError' || (err as Error)?.name === 'APIUserAbortError';
}
