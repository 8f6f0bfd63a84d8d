/**
 * `npm run fake-openai`: the fake OpenAI provider on its own (PORT, default 8090; HOST, default
 * 127.0.0.1; FAKE_DELAYS, JSON, optional).
 */
import { startFakeOpenAI } from './openai-server';

const port = Number(process.env.PORT ?? 8090);
const host = process.env.HOST ?? '127.0.0.1';
const dialect = process.env.REALTIME_DIALECT;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}
if (dialect !== undefined && dialect !== 'ga' && dialect !== 'beta' && dialect !== 'auto') {
  console.error(`REALTIME_DIALECT must be ga, beta or auto, got "${dialect}"`);
  process.exit(1);
}

const fake = await startFakeOpenAI({ host, port, realtimeDialect: dialect ?? 'auto' });
// FAKE_DELAYS='{"realtimeFirstDeltaMs":100}': fixed provider delays (see ScriptDelays), e.g. for a benchmark.
if (process.env.FAKE_DELAYS) fake.script.delays = JSON.parse(process.env.FAKE_DELAYS) as typeof fake.script.delays;
console.log(`fake OpenAI provider listening
  OPENAI_BASE_URL=${fake.url}
  REALTIME_URL=${fake.realtimeUrl}
  (any API key is accepted)`);

const stop = (): void => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
