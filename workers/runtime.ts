/**
 * Everything a stage processor needs, built from the config, and the wiring that runs processors
 * as BullMQ workers. Used by `npm start` (in-process workers) and by `npm run worker:<stage>`.
 */
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Config, Stage } from '../src/config';
import type { Logger } from '../src/logger';
import { createProviders, type Providers } from '../src/adapters/providers';
import { createWorker } from '../src/adapters/queues';
import { WorkerHeartbeat } from '../src/adapters/worker-heartbeats';
import { CircuitPublisher } from '../src/adapters/provider-circuits';
import { TurnSignals } from '../src/adapters/turn-signals';
import { serveWorkerMetrics } from '../src/metrics/worker-endpoint';
import { exitOnStartupFailure } from '../src/startup-exit';
import { createStoreServices, type StoreServices } from '../src/services';
import { createSttProcessor } from './stt';
import { createLlmProcessor } from './llm';
import { createTtsProcessor } from './tts';

/** What a stage processor gets: the stores and its providers, not the gateway's limits or signal bus. */
export interface WorkerDeps extends StoreServices {
  providers: Providers;
  workerName: string;
  /** Where a job queued before its input hears of it (LLM and TTS workers; adapters/turn-signals.ts). */
  signals: TurnSignals | null;
}

async function createWorkerDeps(config: Config, log: Logger, stages: Stage[]): Promise<WorkerDeps> {
  const workerName = `${stages.join('+')}@${hostname()}:${process.pid}`;
  const services = await createStoreServices(config, log, workerName);
  const signals = stages.includes('llm') || stages.includes('tts') ? await TurnSignals.start(services.redis, services.keys) : null;
  return {
    ...services,
    providers: createProviders(config),
    workerName,
    signals,
    async close() {
      await signals?.close();
      await services.close();
    },
  };
}

const FACTORIES = { stt: createSttProcessor, llm: createLlmProcessor, tts: createTtsProcessor } as const;

export interface RunningWorkers {
  workers: Worker[];
  /** Live workers per stage, for /readyz. */
  counts(): Record<string, number>;
  /** Lets in-flight jobs finish (BullMQ's graceful close), then disconnects. */
  close(): Promise<void>;
}

export async function startWorkers(config: Config, log: Logger, stages: Stage[]): Promise<RunningWorkers> {
  if (stages.length === 0) return { workers: [], counts: () => ({}), close: async () => {} };
  const deps = await createWorkerDeps(config, log, stages);
  const workers = stages.map((stage) => {
    // Each Worker gets its own blocking connection (BullMQ duplicates it); the shared one is for commands.
    const w = createWorker(stage, FACTORIES[stage](deps) as never, deps.redis, deps.keys);
    w.on('failed', (job, err) => log.warn({ stage, job_id: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => log.error({ stage, err: err.message }, 'worker error'));
    return w;
  });
  // Every host's /readyz counts this process's workers from here (DESIGN.md §12).
  const heartbeat = await WorkerHeartbeat.start(deps.redis, deps.keys, stages, (err) => log.warn({ err: err.message }, 'worker heartbeat failed'));
  // After the heartbeat: /readyz drops circuit entries of processes it does not see alive.
  const breakers = Object.fromEntries(stages.map((s) => [s, deps.providers[s].breaker]));
  const circuits = await CircuitPublisher.start(deps.redis, deps.keys, heartbeat.instance, breakers, (err) => log.warn({ err: err.message }, 'circuit state not published'));
  return {
    workers,
    counts: () => Object.fromEntries(stages.map((s, i) => [s, workers[i]!.isRunning() ? 1 : 0])),
    async close() {
      await heartbeat.stop(); // no longer offered as live while in-flight jobs finish
      await circuits.stop();
      await Promise.all(workers.map((w) => w.close()));
      await deps.close();
    },
  };
}

/** `tsx workers/<stage>.ts`: one stage in its own process. A start-up failure is one line and exit 1. */
export async function runStageMain(stage: Stage): Promise<void> {
  const { loadConfig } = await import('../src/config');
  const { createLogger } = await import('../src/logger');
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnStartupFailure(err);
  }
  if (config.localProvider) {
    // The in-process local provider is `npm start`'s; a lone worker would send every job to api.openai.com.
    console.error(
      `The ${stage} worker has no provider: set OPENAI_BASE_URL (for the fake: \`npm run fake-openai\`, then OPENAI_BASE_URL=http://127.0.0.1:8090/v1) or OPENAI_API_KEY.`,
    );
    process.exit(1);
  }
  const log = createLogger(config.logLevel).child({ component: `worker-${stage}` });
  const running = await startWorkers(config, log, [stage]).catch((err: unknown) => exitOnStartupFailure(err));
  const metrics = config.metricsPort
    ? await serveWorkerMetrics(config.metricsPort, config.host).catch(async (err: unknown) => {
        await running.close();
        return exitOnStartupFailure(err, 'METRICS_PORT');
      })
    : null;
  log.info({ stage, metrics_port: config.metricsPort ?? null }, `${stage} worker running`);
  const stop = async () => {
    log.info({ stage }, 'shutting down: finishing in-flight jobs');
    metrics?.close();
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
