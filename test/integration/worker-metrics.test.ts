/** A standalone worker process serves its own /metrics when METRICS_PORT is set. */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { freePort, spawnWorker, type ServiceProcess } from '../helpers/processes';

let fake: FakeOpenAI | undefined;
let worker: ServiceProcess | undefined;
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await fake?.close();
});

it('serves Prometheus metrics from a worker process on METRICS_PORT', async () => {
  fake = await startFakeOpenAI();
  const port = await freePort();
  worker = spawnWorker('stt', { prefix: `test-${randomBytes(4).toString('hex')}`, providerUrl: fake.url, env: { METRICS_PORT: String(port) } });
  await worker.ready;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toContain('voice_agent_stage_processing_seconds');
  expect(text).toContain('voice_agent_process_cpu_user_seconds_total');
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
});
