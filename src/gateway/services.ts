/** The dependencies the gateway's plugins share; built once by createServices (main.ts or a test). */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { BusinessStore } from '../adapters/business-store';
import { CallStore } from '../adapters/call-store';
import { CancelWatcher } from '../adapters/cancel';
import { OutputStream } from '../adapters/output-stream';
import { closeQueues, createQueues, type Queues } from '../adapters/queues';
import { connectRedis, Keys, type Redis } from '../adapters/redis';
import { StageLog } from '../adapters/stage-log';

export interface Services {
  config: Config;
  log: Logger;
  redis: Redis;
  keys: Keys;
  businesses: BusinessStore;
  calls: CallStore;
  queues: Queues;
  stageLog: StageLog;
  output: OutputStream;
  cancel: CancelWatcher;
  /** Process-local signals between routes and live sockets (e.g. 'hangup' with a call id). */
  events: EventEmitter;
  /** Live workers per stage in this process (for /readyz). */
  localWorkers: () => Record<string, number>;
  close(): Promise<void>;
}

export async function createServices(
  config: Config,
  log: Logger,
  localWorkers: () => Record<string, number> = () => ({}),
): Promise<Services> {
  const redis = await connectRedis(config.redisUrl);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error (reconnecting)'));
  const keys = new Keys(config.redisPrefix);
  const queues = createQueues(redis, keys);
  const cancel = await CancelWatcher.start(redis, keys);
  return {
    config,
    log,
    redis,
    keys,
    businesses: new BusinessStore(redis, keys),
    calls: new CallStore(redis, keys, config.callTtlS),
    queues,
    stageLog: new StageLog(redis, keys, config.callTtlS, `gateway@${hostname()}:${process.pid}`),
    output: new OutputStream(redis, keys, config.callTtlS),
    cancel,
    events: new EventEmitter().setMaxListeners(0),
    localWorkers,
    async close() {
      await cancel.close();
      await closeQueues(queues);
      redis.disconnect();
    },
  };
}
