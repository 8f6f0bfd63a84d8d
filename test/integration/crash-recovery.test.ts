/**
 * Crash recovery with real processes: a stage worker SIGKILLed in the middle of a turn hands its
 * job to another worker (BullMQ stalled-job recovery, tuned to seconds), and the caller still gets
 * the turn exactly once — every sentence's audio once, one user and one assistant history entry.
 * A SIGKILLed gateway drops its sockets, leaves nothing in Redis without a TTL, and another
 * gateway takes a new call at once.
 */
import { QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../src/config';
import { queuePrefix } from '../../src/adapters/queues';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { SentenceSplitter } from '../../src/core/sentences';
import type { RecordedRequest } from '../fakes/http';
import { speechDurationMs } from '../fakes/speech';
import { samplesToBuffer, synthesize } from '../fakes/synth';
import { freePort, killAll, spawnGateway, spawnWorker, type ServiceProcess } from '../helpers/processes';
import { RealtimeClient, type WireEvent } from '../helpers/realtime-client';
import { spokenTurn as spokenPcm } from '../helpers/calls';
import { scanKeys } from '../helpers/redis-cluster';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

/** A kill costs up to ~10 s of stalled-job recovery plus a worker start; a loaded machine adds more. */
const KILL_TEST_TIMEOUT_MS = 45_000;

let svc: TestService;
const procs = new Set<ServiceProcess>();

beforeAll(async () => {
  svc = await startService({ workers: false });
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterEach(async () => {
  await killAll(procs);
  procs.clear();
  svc.fake.reset();
});
afterAll(async () => {
  await killAll(procs);
  await svc?.stop();
});

function spawn(stage: Stage): ServiceProcess {
  const p = spawnWorker(stage, { prefix: svc.config.redisPrefix, providerUrl: svc.fake.url, redisUrl: svc.config.redisUrl });
  procs.add(p);
  return p;
}

async function workers(): Promise<Record<Stage, ServiceProcess>> {
  const w = { stt: spawn('stt'), llm: spawn('llm'), tts: spawn('tts') };
  await Promise.all(Object.values(w).map((p) => p.ready));
  return w;
}

const spokenTurn = (): Uint8Array => pcm16ToBytes(spokenPcm());

async function callOn(wsUrl: string) {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } });
  const call = (await res.json()) as { id: string };
  const c = await RealtimeClient.connect(`${wsUrl}/v1/calls/${call.id}/stream?dialect=beta`, { key: ADMIN_KEY });
  await c.waitFor('session.created');
  return { id: call.id, c };
}

function nextRequest(path: string): Promise<RecordedRequest> {
  return new Promise((resolve) => {
    const on = (rec: RecordedRequest) => {
      if (rec.path !== path) return;
      svc.fake.events.off('request', on);
      resolve(rec);
    };
    svc.fake.events.on('request', on);
  });
}

/** What the fake speaks for `text`, sentence by sentence as the LLM stage splits it (PCM16 24 kHz). */
function expectedAudioBytes(text: string): number {
  const splitter = new SentenceSplitter();
  const sentences = [...splitter.push(text), ...splitter.flush()];
  return sentences.reduce((n, s) => n + samplesToBuffer(synthesize({ voice: 'nova', durationMs: speechDurationMs(s) })).length, 0);
}

const audioBytes = (events: WireEvent[]) =>
  events.filter((e) => e.type === 'response.audio.delta').reduce((n, e) => n + Buffer.from(e.delta as string, 'base64').length, 0);

/** The turn happened exactly once: one response, its audio and text once, one history entry each. */
async function expectExactlyOnce(callId: string, c: RealtimeClient, killed: Stage) {
  const done = await c.waitFor('response.done', 0, 40_000);
  expect(done.response.status).toBe('completed');
  const said = (await c.waitFor('response.audio_transcript.done')).transcript as string;
  expect(c.types().filter((t) => t === 'response.created')).toHaveLength(1);
  expect(c.types().filter((t) => t === 'response.done')).toHaveLength(1);
  const deltas = c.events.filter((e) => e.type === 'response.audio_transcript.delta').map((e) => e.delta as string).join('');
  expect(deltas).toBe(said);
  expect(audioBytes(c.events)).toBe(expectedAudioBytes(said));

  const history = await svc.services.calls.history(callId);
  expect(history.map((h) => h.message.role)).toEqual(['user', 'assistant']);
  expect(history[1]!.message.content).toBe(said);
  const transcript = await svc.services.calls.transcript(callId);
  expect(transcript.map((t) => t.role)).toEqual(['user', 'assistant']);

  const logs = await svc.services.stageLog.read(callId);
  const redo = logs.filter((l) => l.entry.stage === killed && l.entry.event === 'started').map((l) => l.entry.attempt);
  expect(Math.max(...redo), `${killed} redelivered`).toBeGreaterThanOrEqual(2);
  expect(logs.filter((l) => l.entry.stage === 'gateway' && l.entry.event === 'completed')).toHaveLength(1);
}

describe('a stage worker killed in the middle of a turn', () => {
  it('STT: another worker transcribes the utterance and the turn completes once', async () => {
    const w = await workers();
    const { id, c } = await callOn(svc.wsUrl);
    svc.fake.script.delays.sttMs = 60_000; // the first worker is stuck in the provider call when it dies
    const inFlight = nextRequest('/v1/audio/transcriptions');
    c.appendAudio(spokenTurn());
    await inFlight;
    svc.fake.script.delays.sttMs = 0;
    await w.stt.kill('SIGKILL');
    await spawn('stt').ready;
    await expectExactlyOnce(id, c, 'stt');
    c.close();
  }, KILL_TEST_TIMEOUT_MS);

  it('LLM: the redelivered completion resumes by offset; sentences already spoken are not repeated', async () => {
    const w = await workers();
    const { id, c } = await callOn(svc.wsUrl);
    // Slow tokens: the first sentence is spoken while the second is still being written.
    svc.fake.script.delays.llmTokenMs = 400;
    c.appendAudio(spokenTurn());
    await c.waitFor('response.audio.delta', 0, 20_000);
    svc.fake.script.delays.llmTokenMs = 0;
    await w.llm.kill('SIGKILL');
    await spawn('llm').ready;
    await expectExactlyOnce(id, c, 'llm');
    c.close();
  }, KILL_TEST_TIMEOUT_MS);

  it('TTS: another worker synthesises the sentences and each is heard once', async () => {
    const w = await workers();
    const { id, c } = await callOn(svc.wsUrl);
    svc.fake.script.delays.ttsFirstByteMs = 60_000;
    const inFlight = nextRequest('/v1/audio/speech');
    c.appendAudio(spokenTurn());
    await inFlight;
    svc.fake.script.delays.ttsFirstByteMs = 0;
    await w.tts.kill('SIGKILL');
    await spawn('tts').ready;
    await expectExactlyOnce(id, c, 'tts');
    c.close();
  }, KILL_TEST_TIMEOUT_MS);
});

describe('a gateway killed in the middle of a call', () => {
  it('drops its sockets, leaves no call key without a TTL, and another gateway takes a new call at once', async () => {
    await workers();
    const port = await freePort();
    const gw = spawnGateway({ prefix: svc.config.redisPrefix, providerUrl: svc.fake.url, redisUrl: svc.config.redisUrl, port, adminKey: ADMIN_KEY });
    procs.add(gw);
    await gw.ready;
    const { id, c } = await callOn(`ws://127.0.0.1:${port}`);
    svc.fake.script.delays.llmTokenMs = 300;
    c.appendAudio(spokenTurn());
    await c.waitFor('response.audio_transcript.delta', 0, 20_000);
    await gw.kill('SIGKILL');
    expect((await c.closed).code).toBe(1006); // no close frame: the process is gone
    svc.fake.script.delays.llmTokenMs = 0;

    // The turn's jobs run out on their own (nobody reads the output any more) and nothing stays queued.
    await turnJobsFinished(id);
    // The processors have returned; BullMQ marks each job finished just after, so wait for that too.
    const jobPrefix = `${id}:`;
    for (const stage of ['stt', 'llm', 'tts'] as const) {
      const queue = svc.services.queues[stage];
      const events = new QueueEvents(stage, { connection: svc.services.redis.duplicate(), prefix: queuePrefix(svc.services.keys, stage, svc.services.redis) });
      try {
        await events.waitUntilReady();
        const left = (await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'])).filter((j) => j?.id?.startsWith(jobPrefix));
        await Promise.all(left.map((j) => j.waitUntilFinished(events, 20_000).catch(() => {})));
        const still = (await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'])).filter((j) => j?.id?.startsWith(jobPrefix));
        expect(still.map((j) => j.id)).toEqual([]);
      } finally {
        await events.close();
      }
    }
    // Every key of the call expires by itself (CALL_TTL_S): nothing is left running for it.
    const keys = await scanKeys(svc.services.redis, `*{${id}}*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttls = await Promise.all(keys.map((k) => svc.services.redis.ttl(k)));
    expect(keys.filter((_, i) => ttls[i] === -1)).toEqual([]); // -1: no TTL (-2: expired since the scan)

    // The surviving gateway serves a new call at once.
    const next = await callOn(svc.wsUrl);
    next.c.appendAudio(spokenTurn());
    expect((await next.c.waitFor('response.done', 0, 20_000)).response.status).toBe('completed');
    next.c.close();
  }, KILL_TEST_TIMEOUT_MS);
});

/** Re-checks a Redis-side condition (queue state has no event to wait for) until it holds. */
/**
 * Resolves once the call's LLM job and every TTS job it queued have ended (completed, failed or
 * cancelled), read from the call's stage log with blocking XREAD: no polling.
 */
async function turnJobsFinished(callId: string): Promise<void> {
  const conn = svc.services.redis.duplicate();
  const ended = new Set(['completed', 'failed', 'cancelled']);
  let sentences: number | null = null;
  let ttsDone = 0;
  let last = '0-0';
  try {
    while (sentences === null || ttsDone < sentences) {
      const got = await conn.xread('BLOCK', 20_000, 'STREAMS', svc.services.keys.callLog(callId), last);
      if (!got) throw new Error(`turn jobs of ${callId} did not finish`);
      for (const [, entries] of got) {
        for (const [entryId, fields] of entries) {
          last = entryId;
          const e = JSON.parse(fields[1] ?? '{}') as { stage: string; event: string; data: { sentences?: number } };
          if (e.stage === 'llm' && ended.has(e.event)) sentences = e.data.sentences ?? 0;
          if (e.stage === 'tts' && ended.has(e.event)) ttsDone++;
        }
      }
    }
  } finally {
    conn.disconnect();
  }
}
