/**
 * `npm start`: the gateway plus the workers named in WORKERS, in one process. With no provider key
 * configured, the built-in local provider (the OpenAI-compatible fake) runs in-process, so a fresh
 * clone gives a working agent with no account anywhere.
 */
import { ConfigError, loadConfig, withProviderBaseUrl, type Config } from './config';
import { createLogger } from './logger';
import { buildApp } from './gateway/app';
import { createServices } from './gateway/services';
import { seedLocalDemo } from './gateway/local-demo';
import { startWorkers } from '../workers/runtime';

const LOCAL_ADMIN_KEY = 'local-admin-key-change-me';

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let closeLocal = async () => {};
  if (config.localProvider) {
    const { startFakeOpenAI } = await import('../test/fakes/openai-server');
    const fake = await startFakeOpenAI({ port: 0 });
    closeLocal = () => fake.close();
    config = withProviderBaseUrl(config, fake.url);
    if (!config.adminApiKey) config = { ...config, adminApiKey: LOCAL_ADMIN_KEY };
    log.warn(
      { provider: fake.url, admin_key: config.adminApiKey === LOCAL_ADMIN_KEY ? LOCAL_ADMIN_KEY : '[from ADMIN_API_KEY]' },
      'No OPENAI_API_KEY set: running against the built-in local provider (a fake, in-process; scripted replies, synthetic voice)',
    );
  } else {
    log.info({ stt: config.stt.baseURL, llm: config.llm.baseURL, tts: config.tts.baseURL, realtime: config.realtime.url }, 'starting with the configured providers');
  }
  if (!config.adminApiKey) log.warn('ADMIN_API_KEY is not set: admin routes will answer 401');

  const workers = await startWorkers(config, log, config.workers).catch((err: Error) => {
    log.fatal(err.message);
    process.exit(1);
  });
  const services = await createServices(config, log, () => workers.counts()).catch((err: Error) => {
    log.fatal(err.message); // Redis unreachable: one line naming the cause and the fix, no stack trace
    process.exit(1);
  });
  const app = await buildApp(services);
  if (config.localProvider) await seedLocalDemo(services);
  await app.listen({ port: config.port, host: config.host });
  log.info({ url: `http://${config.host}:${config.port}`, workers: config.workers }, 'voice agent ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: closing sockets, finishing in-flight jobs');
    await app.close(); // closes sockets; call drivers end their calls
    await workers.close();
    await services.close();
    await closeLocal();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
