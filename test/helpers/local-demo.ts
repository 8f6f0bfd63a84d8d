/**
 * What `npm start` runs with no provider key, in-process: the built-in local provider, the gateway
 * and the three workers on their own Redis prefix, with the seeded `demo` business.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, withProviderBaseUrl, type Config } from '../../src/config';
import { buildApp } from '../../src/gateway/app';
import { seedLocalDemo } from '../../src/gateway/local-demo';
import { startLocalProvider } from '../../src/local-provider/server';
import { createLogger } from '../../src/logger';
import { createServices } from '../../src/services';
import { startWorkers } from '../../workers/runtime';
import { scanKeys } from './redis-cluster';

export interface LocalDemo {
  url: string;
  /** The configuration as loaded, before it was pointed at the local provider. */
  loaded: Config;
  stop(): Promise<void>;
}

export async function startLocalDemo(adminKey: string): Promise<LocalDemo> {
  const prefix = `test-local-${randomBytes(4).toString('hex')}`;
  const local = await startLocalProvider();
  const loaded = loadConfig({ REDIS_PREFIX: prefix, ADMIN_API_KEY: adminKey, PORT: '0', LOG_LEVEL: 'silent' });
  const config = withProviderBaseUrl(loaded, local.url);
  const log = createLogger(config.logLevel);
  const workers = await startWorkers(config, log, config.workers);
  const services = await createServices(config, log, () => workers.counts());
  const app = await buildApp(services);
  await seedLocalDemo(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    loaded,
    async stop() {
      await app.close();
      await workers.close();
      const keys = await scanKeys(services.redis, `*${prefix}*`);
      if (keys.length) await Promise.all(keys.map((k) => services.redis.del(k)));
      await services.close();
      await local.close();
    },
  };
}
