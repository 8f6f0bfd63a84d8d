/**
 * `npm start`: the gateway plus the workers named in WORKERS, in one process. With no provider key
 * configured, the built-in local provider (src/local-provider: eSpeak NG voice, keyword rules, no
 * speech recognition) runs in-process, so a fresh clone gives a working agent with no account anywhere.
 * A start-up failure is one line and exit 1.
 */
import { loadConfig, withProviderBaseUrl, type Config } from './config';
import { createLogger } from './logger';
import { buildApp } from './gateway/app';
import { createServices } from './services';
import { seedLocalDemo } from './gateway/local-demo';
import { LOCAL_ADMIN_KEY } from './gateway/routes/console';
import { exitOnStartupFailure } from './startup-exit';
import { startWorkers } from '../workers/runtime';

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnStartupFailure(err);
  }
  const log = createLogger(config.logLevel);
  let closeLocal = async () => {};
  if (config.localProvider) {
    // Imported only here: a configured deployment never loads eSpeak NG.
    const { LOCAL_PROVIDER_SUMMARY, startLocalProvider } = await import('./local-provider/server');
    const local = await startLocalProvider({ port: 0 });
    closeLocal = () => local.close();
    config = withProviderBaseUrl(config, local.url);
    log.warn({ provider: local.url }, LOCAL_PROVIDER_SUMMARY);
  } else {
    log.info({ stt: config.stt.baseURL, llm: config.llm.baseURL, tts: config.tts.baseURL, realtime: config.realtime.url }, 'starting with the configured providers');
  }
  // A local setup (no provider key: the built-in provider, or `npm run fake-openai` / a local server
  // via OPENAI_BASE_URL on a loopback HOST) gets the well-known admin key and the `demo` business,
  // so the README's examples run as printed however the processes are split.
  const localSetup = config.localProvider || (!config.providerKeySet && isLoopback(config.host));
  if (localSetup && !config.adminApiKey) {
    config = { ...config, adminApiKey: LOCAL_ADMIN_KEY };
    log.warn({ admin_key: LOCAL_ADMIN_KEY }, 'local setup (no provider key): using the local admin key; set ADMIN_API_KEY to choose your own');
  }
  if (!config.adminApiKey) log.warn('ADMIN_API_KEY is not set: admin routes will answer 401');

  const workers = await startWorkers(config, log, config.workers).catch((err: unknown) => exitOnStartupFailure(err));
  const services = await createServices(config, log, () => workers.counts()).catch((err: unknown) => exitOnStartupFailure(err));
  const app = await buildApp(services);
  if (localSetup) await seedLocalDemo(services);
  await app.listen({ port: config.port, host: config.host }).catch(async (err: unknown) => {
    // Our workers stop first, so no other host counts them as live (or gives them jobs) after we exit.
    await Promise.race([workers.close(), new Promise((r) => setTimeout(r, 5_000).unref())]).catch(() => {});
    exitOnStartupFailure(err);
  });
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

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

void main();
