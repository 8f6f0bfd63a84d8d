/**
 * Starts the whole service for an integration test: its own Redis prefix (so queues and keys never
 * collide with another test), the fake OpenAI provider, the gateway on a random port, and
 * optionally the three stage workers in-process. `stop()` closes everything and deletes the keys.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, withProviderBaseUrl, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { buildApp } from '../../src/gateway/app';
import { createServices, type Services } from '../../src/services';
import { startWorkers, type RunningWorkers } from '../../workers/runtime';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai-server';
import { scanKeys, testRedisEnv } from './redis-cluster';

export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestService {
  url: string;
  wsUrl: string;
  config: Config;
  services: Services;
  app: FastifyInstance;
  fake: FakeOpenAI;
  workers: RunningWorkers;
  /** fetch against the service with the admin key (or the given key). */
  api(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  workers?: boolean;
  env?: Record<string, string>;
  fake?: FakeOpenAIOptions;
  /**
   * Which Redis: a cluster's seed nodes (host:port), or [] for the shared node at 127.0.0.1:6379.
   * Default: the test project's (the `cluster` project runs its files on the test cluster).
   */
  redisClusterNodes?: string[];
  /** Adjusts the config once it points at the fake (say, a refused primary). */
  configure?: (c: Config) => Config;
}

export async function startService(o: ServiceOptions = {}): Promise<TestService> {
  const prefix = `test-${randomBytes(5).toString('hex')}`;
  const fake = await startFakeOpenAI(o.fake);
  const redisEnv = o.redisClusterNodes ? (o.redisClusterNodes.length ? { REDIS_CLUSTER_NODES: o.redisClusterNodes.join(',') } : {}) : testRedisEnv();
  const base = loadConfig({ REDIS_PREFIX: prefix, ADMIN_API_KEY: ADMIN_KEY, PORT: '0', LOG_LEVEL: 'silent', ...redisEnv, ...o.env });
  const pointed = withProviderBaseUrl({ ...base, localProvider: false }, fake.url);
  const config = o.configure ? o.configure(pointed) : pointed;
  const log = createLogger(config.logLevel);
  const workers = await startWorkers(config, log, o.workers === false ? [] : config.workers);
  const services = await createServices(config, log, () => workers.counts());
  const { app, url } = await listenGateway(services);
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    config,
    services,
    app,
    fake,
    workers,
    api: apiClient(url),
    async stop() {
      await app.close();
      await workers.close();
      // Delete every key this test wrote (its prefix only; on every master of a cluster, one DEL per key there).
      const keys = await scanKeys(services.redis, `*${prefix}*`);
      await Promise.all(keys.map((k) => services.redis.del(k)));
      await services.close();
      await fake.close();
    },
  };
}

/**
 * For a test file: one service started before its tests, with the `acme` business (SIMPLE_BUSINESS),
 * and stopped after them. The object is filled in by beforeAll, so use it inside tests only.
 */
export function serviceWithAcme(o: { env?: Record<string, string> } = {}): TestService {
  const svc = {} as TestService;
  beforeAll(async () => {
    Object.assign(svc, await startService(o));
    await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  });
  afterAll(async () => {
    await svc.stop?.();
  });
  return svc;
}

type Api = TestService['api'];

async function listenGateway(services: Services): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

function apiClient(url: string): Api {
  return (path, init = {}) => {
    const { json, key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== null) headers.set('authorization', `Bearer ${key ?? ADMIN_KEY}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return fetch(url + path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
}

/** A second gateway (no workers) on the same Redis prefix and provider: a multi-gateway deployment. */
export async function startPeerGateway(svc: TestService): Promise<{ url: string; services: Services; api: Api; stop(): Promise<void> }> {
  const log = createLogger(svc.config.logLevel);
  const services = await createServices(svc.config, log, () => ({}));
  const { app, url } = await listenGateway(services);
  return {
    url,
    services,
    api: apiClient(url),
    async stop() {
      await app.close();
      await services.close();
    },
  };
}

export const SIMPLE_BUSINESS = {
  name: 'Acme support',
  session: { instructions: 'You are a helpful customer service agent.' },
};
