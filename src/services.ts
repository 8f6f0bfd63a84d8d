/**
 * The process's shared dependencies, in two layers: `StoreServices` (Redis, the stores, queues,
 * the stage log: what a stage worker needs) and `Services` (those plus what only a gateway has:
 * concurrency and rate limits, the cross-gateway signal bus, its own workers for /readyz).
 * Built once by createServices / createStoreServices (main.ts, a worker, or a test).
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Config } from './config';
import type { Logger } from './logger';
import { BusinessStore } from './adapters/business-store';
import { CallStore } from './adapters/call-store';
import { HangupBus } from './adapters/hangups';
import { CancelWatcher } from './adapters/cancel';
import { OutputStream } from './adapters/output-stream';
import { closeQueues, createQueues, type Queues } from './adapters/queues';
import { connectRedis, Keys, type Redis } from './adapters/redis';
import { StageLog } from './adapters/stage-log';
import { redactDeep } from './core/redact';
import { AuditLog } from './security/audit-log';
import { CallFilters } from './security/call-filters';
import { ConcurrencyLimiter } from './security/concurrency';
import { defaultSecurityLimits, type SecurityLimits } from './security';

export interface StoreServices {
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
  /** Per-business output filters by call (redaction of transcripts, stage logs, audit). */
  filters: CallFilters;
  audit: AuditLog;
  close(): Promise<void>;
}

export interface Services extends StoreServices {
  concurrency: ConcurrencyLimiter;
  /** Rate, size and audio limits; mutable so a test can tighten them. */
  limits: SecurityLimits;
  /**
   * Process-local signals between routes and live sockets: 'hangup' (call id) closes the call's
   * transports here. Raise it through `hangups`, which reaches every gateway.
   */
  events: EventEmitter;
  hangups: HangupBus;
  /** Live workers per stage in this process (for /readyz). */
  localWorkers: () => Record<string, number>;
}

/** The stores a stage worker needs: no signal bus, no gateway limits. `stageName` names its log entries. */
export async function createStoreServices(config: Config, log: Logger, stageName = `gateway@${hostname()}:${process.pid}`): Promise<StoreServices> {
  const redis = await connectRedis(config);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error (reconnecting)'));
  const keys = new Keys(config.redisPrefix);
  const queues = createQueues(redis, keys);
  const cancel = await CancelWatcher.start(redis, keys);
  const businesses = new BusinessStore(redis, keys);
  // Transcripts and stage logs are redacted at the store, whoever writes them.
  const filters: CallFilters = new CallFilters(async (callId) => {
    const call = await calls.get(callId);
    return call ? businesses.get(call.business_id) : null;
  });
  const calls: CallStore = new CallStore(
    redis,
    keys,
    config.callTtlS,
    (callId, text) => filters.redactText(callId, text),
    (rec, actor) => audit.appendForCall(rec.id, { type: 'call.ended', actor, data: { reason: rec.end_reason, duration_ms: (rec.ended_at ?? Date.now()) - rec.created_at } }),
  );
  const audit = new AuditLog(redis, keys, filters);
  return {
    config,
    log,
    redis,
    keys,
    businesses,
    calls,
    queues,
    stageLog: new StageLog(redis, keys, config.callTtlS, stageName, redactStageData(filters)),
    output: new OutputStream(redis, keys, config.callTtlS),
    cancel,
    filters,
    audit,
    async close() {
      await cancel.close();
      await closeQueues(queues);
      redis.disconnect();
    },
  };
}

/** A gateway's services: the stores plus limits, the signal bus and its own workers' count. */
export async function createServices(config: Config, log: Logger, localWorkers: () => Record<string, number> = () => ({})): Promise<Services> {
  const store = await createStoreServices(config, log);
  const events = new EventEmitter().setMaxListeners(0);
  const hangups = await HangupBus.start(store.redis, store.keys, events);
  return {
    ...store,
    concurrency: new ConcurrencyLimiter(store.redis, store.keys),
    limits: defaultSecurityLimits(),
    events,
    hangups,
    localWorkers,
    async close() {
      hangups.close();
      await store.close();
    },
  };
}

/** The stage log's redaction hook: user content in `data` is masked with the call's business filter. */
function redactStageData(filters: CallFilters) {
  return async (callId: string, data: Record<string, unknown>) => redactDeep(data, (await filters.forCall(callId))?.redact ?? null);
}
