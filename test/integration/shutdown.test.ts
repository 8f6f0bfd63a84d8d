/**
 * Graceful shutdown (SIGTERM): a worker finishes the job it holds before it exits, so nothing is
 * redone; a gateway closes its sockets, ends their calls and exits.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { freePort, killAll, spawnGateway, spawnWorker, type ServiceProcess } from '../helpers/processes';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
const procs = new Set<ServiceProcess>();
const env = () => ({ prefix: svc.config.redisPrefix, providerUrl: svc.fake.url, redisUrl: svc.config.redisUrl });

beforeAll(async () => {
  svc = await startService({ workers: false });
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await killAll(procs);
  await svc?.stop();
});

function track(p: ServiceProcess): ServiceProcess {
  procs.add(p);
  return p;
}

it('lets a worker finish the job it holds before it exits on SIGTERM', async () => {
  const [stt, llm, tts] = (['stt', 'llm', 'tts'] as const).map((stage) => track(spawnWorker(stage, env())));
  await Promise.all([stt!.ready, llm!.ready, tts!.ready]);
  svc.fake.script.chat.push({ text: 'One moment please. Our opening hours are nine to five on weekdays.' });
  svc.fake.script.delays.llmTokenMs = 60;
  const call = await newCall(svc, 'acme');
  const c = await connectCall(svc, call.id);
  c.appendAudio(pcm16ToBytes(spokenTurn()));
  await c.waitFor('response.audio_transcript.delta'); // the LLM worker is mid-stream
  await llm!.kill('SIGTERM');
  expect(await llm!.exited).toBe(0);
  const done = await c.waitFor('response.done');
  expect(done.response.status).toBe('completed');
  expect(done.response.output[0].content[0].transcript).toContain('nine to five on weekdays.');
  const logs = (await (await svc.api(`/v1/calls/${call.id}/logs`)).json()) as { data: { stage: string; event: string; attempt: number }[] };
  expect(logs.data.filter((e) => e.stage === 'llm').every((e) => e.attempt === 1)).toBe(true); // not redone
  c.close();
});

it('closes a gateway’s sockets, ends their calls and exits on SIGTERM', async () => {
  const port = await freePort();
  const gw = track(spawnGateway({ ...env(), port, adminKey: ADMIN_KEY }));
  await gw.ready;
  const call = await newCall(svc, 'acme');
  const c = await RealtimeClient.connect(`ws://127.0.0.1:${port}/v1/calls/${call.id}/stream`, { key: ADMIN_KEY });
  await c.waitFor('session.created');
  await gw.kill('SIGTERM');
  expect((await c.closed).code).toBe(1001); // "going away", with a closing handshake
  expect(await gw.exited).toBe(0);
  const record = (await (await svc.api(`/v1/calls/${call.id}`)).json()) as { status: string; end_reason: string };
  expect(record).toMatchObject({ status: 'ended', end_reason: 'server_shutdown' });
});
