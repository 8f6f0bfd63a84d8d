/**
 * Provider failover (docs/DESIGN.md §8) with two fake providers over real HTTP: the service's primary
 * (`svc.fake`) and a backup (`*_FALLBACK_BASE_URL`). Each failure kind of each stage moves that
 * request to the backup; three failed requests open the primary's circuit; an LLM answer cut off
 * mid-stream is continued by the backup, not restarted; a refused realtime upstream connects to
 * REALTIME_FALLBACK_URL.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/core/audio/resample';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { parseWav } from '../../src/core/audio/formats';
import { StageProvider } from '../../src/adapters/failover';
import { CircuitPublisher, readCircuits } from '../../src/adapters/provider-circuits';
import { connectRedis, Keys } from '../../src/adapters/redis';
import { WorkerHeartbeat } from '../../src/adapters/worker-heartbeats';
import { CircuitBreaker } from '../../src/core/circuit-breaker';
import type { StageLogEntry } from '../../src/contracts/logs';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import type { ChatRequestBody, ScriptDelays } from '../fakes/script';
import { fixturePath } from '../fixtures';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

type Stage = 'stt' | 'llm' | 'tts';
const ENDPOINT = { stt: 'transcriptions', llm: 'chat', tts: 'speech' } as const;
const PATH = { stt: '/v1/audio/transcriptions', llm: '/v1/chat/completions', tts: '/v1/audio/speech' } as const;
const DELAY: Record<Stage, keyof ScriptDelays> = { stt: 'sttMs', llm: 'llmFirstTokenMs', tts: 'ttsFirstByteMs' };
const PRIMARY_REPLY = 'You said: Hello, I would like some help. How can I help further?';
const BACKUP_TRANSCRIPT = 'Backup heard you.';
const BACKUP_ANSWER = 'The backup answers. It is here to help.';

let backup: FakeOpenAI;
beforeAll(async () => {
  backup = await startFakeOpenAI();
});
afterAll(async () => {
  await backup?.close();
});

function fallbackEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    STT_FALLBACK_BASE_URL: backup.url,
    LLM_FALLBACK_BASE_URL: backup.url,
    LLM_FALLBACK_MODEL: 'backup-llm',
    TTS_FALLBACK_BASE_URL: backup.url,
    REALTIME_FALLBACK_URL: backup.realtimeUrl,
    STT_TIMEOUT_MS: '2000',
    LLM_TIMEOUT_MS: '2000',
    TTS_TIMEOUT_MS: '2000',
    ...extra,
  };
}

/** A port nobody listens on: connections to it are refused. */
async function refusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function spokenTurn(): Uint8Array {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const speech = resample(pcm, sampleRate, 24_000);
  const out = new Int16Array(speech.length + 24_000);
  out.set(speech);
  return pcm16ToBytes(out);
}

async function call(svc: TestService, business = 'acme') {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: business } });
  const { id } = (await res.json()) as { id: string };
  const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${id}/stream?dialect=beta`, { key: ADMIN_KEY });
  await c.waitFor('session.created');
  return { id, c };
}

/** Speaks one turn; what the agent said, when the turn ended with response.done. */
async function turn(c: RealtimeClient) {
  const from = c.events.length;
  c.appendAudio(spokenTurn());
  const done = await c.waitFor('response.done', from);
  const said = (await c.waitFor('response.audio_transcript.done', from)).transcript as string;
  const audio = c.events.slice(from).filter((e) => e.type === 'response.audio.delta').length;
  const errors = c.events.slice(from).filter((e) => e.type === 'error').map((e) => e.error.code as string);
  return { status: done.response.status as string, said, audio, errors };
}

async function log(svc: TestService, callId: string, stage: string): Promise<StageLogEntry[]> {
  return (await svc.services.stageLog.read(callId)).map((l) => l.entry).filter((e) => e.stage === stage);
}

const failovers = (entries: StageLogEntry[]) => entries.filter((e) => e.event === 'retry' && e.data.failover === true);
/**
 * The entries that say which provider served a stage's requests and are in the log before the
 * caller's response.done: STT's completed, and LLM's / TTS's first_output (their completed entries
 * are written after the output that ends the response).
 */
const completed = (entries: StageLogEntry[]) =>
  entries.filter((e) => (e.stage === 'stt' ? e.event === 'completed' : e.event === 'first_output'));
const requestsTo = (fake: FakeOpenAI, stage: Stage) => fake.requests.filter((r) => r.path === PATH[stage]).length;

/** What the caller hears when `stage` was served by the backup. */
const SAID_WITH_BACKUP: Record<Stage, string> = {
  stt: `You said: ${BACKUP_TRANSCRIPT.replace(/\.$/, '')}. How can I help further?`,
  llm: BACKUP_ANSWER,
  tts: PRIMARY_REPLY,
};

describe('each failure kind of each stage moves the request to the fallback provider', () => {
  let svc: TestService;
  beforeAll(async () => {
    // A high threshold: these tests look at single requests, the circuit is tested below.
    svc = await startService({ env: fallbackEnv({ PROVIDER_CIRCUIT_FAILURES: '1000' }) });
    await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  });
  afterEach(() => {
    svc.fake.reset();
    backup.reset();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  function scriptBackup() {
    backup.script.transcripts.push(BACKUP_TRANSCRIPT);
    backup.script.chat.push({ text: BACKUP_ANSWER });
  }

  /** One turn with `stage`'s primary failing; checks the caller heard the backup and the log says so. */
  async function turnServedByBackup(stage: Stage) {
    scriptBackup();
    const { id, c } = await call(svc);
    const t = await turn(c);
    c.close();
    expect(t).toMatchObject({ status: 'completed', said: SAID_WITH_BACKUP[stage], errors: [] });
    expect(t.audio).toBeGreaterThan(0);
    const entries = await log(svc, id, stage);
    const done = completed(entries);
    expect(done.length).toBeGreaterThan(0);
    for (const e of done) expect(e.data.provider).toBe('fallback');
    // One switch per request (TTS has one request per sentence).
    expect(failovers(entries)).toHaveLength(done.length);
    expect(requestsTo(backup, stage)).toBe(done.length);
    // The other stages stayed on the primary.
    for (const other of (['stt', 'llm', 'tts'] as const).filter((s) => s !== stage)) {
      for (const e of completed(await log(svc, id, other))) expect(e.data.provider).toBe('primary');
    }
    return { id, requests: done.length, entries };
  }

  for (const stage of ['stt', 'llm', 'tts'] as const) {
    it(`${stage}: a 5xx is not retried on the primary: the same request goes to the fallback at once`, async () => {
      svc.fake.script.failures.push({ endpoint: ENDPOINT[stage], status: 503, times: 1_000 });
      const r = await turnServedByBackup(stage);
      expect(requestsTo(svc.fake, stage)).toBe(r.requests);
      expect(r.entries.filter((e) => e.event === 'retry' && e.data.failover !== true)).toHaveLength(0);
    });

    it(`${stage}: a 429 is retried on the primary, and once the retries are spent the fallback answers`, async () => {
      svc.fake.script.failures.push({ endpoint: ENDPOINT[stage], status: 429, times: 1_000, headers: { 'retry-after-ms': '10' } });
      const r = await turnServedByBackup(stage);
      expect(requestsTo(svc.fake, stage)).toBe(4 * r.requests);
      const retries = r.entries.filter((e) => e.event === 'retry' && e.data.failover !== true);
      expect(retries).toHaveLength(3 * r.requests);
      for (const e of retries) expect(e.data.provider).toBe('primary');
    });

    it(`${stage}: no first byte within ${stage.toUpperCase()}_TIMEOUT_MS sends the request to the fallback`, async () => {
      svc.fake.script.delays = { [DELAY[stage]]: 60_000 };
      const r = await turnServedByBackup(stage);
      for (const e of failovers(r.entries)) expect(e.data.error).toMatch(/no first byte .* within 2000 ms/);
    });
  }

  it('the fallback is asked for its own model when *_FALLBACK_MODEL is set, and for the primary’s otherwise', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 500, times: 1 }, { endpoint: 'speech', status: 500, times: 1_000 });
    scriptBackup();
    const { c } = await call(svc);
    expect(await turn(c)).toMatchObject({ status: 'completed', said: BACKUP_ANSWER });
    c.close();
    const chat = backup.requests.find((r) => r.path === PATH.llm)!.body as ChatRequestBody;
    const speech = backup.requests.find((r) => r.path === PATH.tts)!.body as { model: string };
    expect(chat.model).toBe('backup-llm');
    expect(speech.model).toBe(svc.config.tts.model);
  });

  it('an LLM stream cut after it started speaking is continued by the fallback, told what was already said', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 200, times: 1, midStream: true });
    let asked: ChatRequestBody | undefined;
    backup.script.chat.push((body) => {
      asked = body;
      return { text: 'for you: we open at nine.' };
    });
    const { id, c } = await call(svc);
    const t = await turn(c);
    c.close();
    // The primary said "Let me check that" before its stream broke: the caller hears it once, and the
    // backup's continuation follows it in the same sentence, not a second start of the answer.
    expect(t).toMatchObject({ status: 'completed', said: 'Let me check that for you: we open at nine.', errors: [] });
    const deltas = c.events.filter((e) => e.type === 'response.audio_transcript.delta').map((e) => e.delta as string).join('');
    expect(deltas).toBe(t.said);
    expect(requestsTo(svc.fake, 'llm')).toBe(1); // not restarted on the primary either
    const system = String(asked?.messages[0]?.content);
    expect(system).toContain('You are a helpful customer service agent.');
    expect(system).toContain('the caller already heard this part of it: "Let me check that"');
    expect(system).toMatch(/Do not repeat any of it/);
    const [switched] = failovers(await log(svc, id, 'llm'));
    expect(switched?.data.spoken_chars).toBe('Let me check that'.length);
    const history = await svc.services.calls.history(id);
    expect(history.filter((h) => h.message.role === 'assistant').map((h) => h.message.content)).toEqual([t.said]);
  });
});

describe('a refused primary, the circuit in front of it, and realtime connect failover', () => {
  let svc: TestService;
  beforeAll(async () => {
    const port = await refusedPort();
    svc = await startService({
      env: fallbackEnv({ PROVIDER_CIRCUIT_OPEN_MS: '3600000' }),
      configure: (c) => {
        const refused = `http://127.0.0.1:${port}/v1`;
        return {
          ...c,
          stt: { ...c.stt, baseURL: refused },
          llm: { ...c.llm, baseURL: refused },
          tts: { ...c.tts, baseURL: refused },
          realtime: { ...c.realtime, url: `ws://127.0.0.1:${port}/v1/realtime` },
        };
      },
    });
    await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
    await svc.api('/v1/businesses/rt', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime' } });
  });
  afterEach(() => backup.reset());
  afterAll(async () => {
    await svc?.stop();
  });

  async function readyz() {
    return (await (await svc.api('/readyz', { key: null })).json()) as { status: string; workers: object; circuits?: Record<string, string> };
  }

  it('every stage’s refused request is made on the fallback, and /readyz shows the circuits still closed', async () => {
    backup.script.transcripts.push(BACKUP_TRANSCRIPT);
    const { id, c } = await call(svc);
    const t = await turn(c);
    c.close();
    expect(t).toMatchObject({ status: 'completed', said: SAID_WITH_BACKUP.stt, errors: [] });
    for (const stage of ['stt', 'llm', 'tts'] as const) {
      const entries = await log(svc, id, stage);
      expect(failovers(entries).length).toBeGreaterThan(0);
      for (const e of failovers(entries)) expect(e.data.error).toMatch(/Connection error|ECONNREFUSED/i);
      for (const e of completed(entries)) expect(e.data.provider).toBe('fallback');
    }
    const ready = await readyz();
    expect(ready).toMatchObject({ status: 'ready', workers: { stt: 1, llm: 1, tts: 1 } });
    // The turn's two sentences were two TTS failures; STT and LLM had one each.
    expect(ready.circuits).toEqual({ stt: 'closed', llm: 'closed', tts: 'closed', realtime: 'closed' });
  });

  it('after three consecutive failures the primary is skipped: the circuit shows open and requests go straight to the fallback', async () => {
    for (let i = 0; i < 2; i++) {
      const { c } = await call(svc);
      await turn(c);
      c.close();
    }
    expect((await readyz()).circuits).toMatchObject({ stt: 'open', llm: 'open', tts: 'open' });
    const { id, c } = await call(svc);
    const t = await turn(c);
    c.close();
    expect(t).toMatchObject({ status: 'completed', errors: [] });
    for (const stage of ['stt', 'llm', 'tts'] as const) {
      const entries = await log(svc, id, stage);
      expect(failovers(entries)).toHaveLength(0); // the primary was not tried
      for (const e of completed(entries)) expect(e.data.provider).toBe('fallback');
    }
    const metrics = await (await svc.api('/metrics')).text();
    for (const stage of ['stt', 'llm', 'tts']) expect(metrics).toMatch(new RegExp(`voice_agent_provider_failover_total\\{stage="${stage}"\\} [1-9]`));
    expect(metrics).toMatch(/voice_agent_provider_circuit_state\{stage="llm"\} 2/);
  });

  it('a realtime call whose upstream refuses the connection is connected to REALTIME_FALLBACK_URL', async () => {
    const { id, c } = await call(svc, 'rt');
    c.close();
    expect(backup.realtimeSessions).toHaveLength(1);
    const entries = await log(svc, id, 'realtime');
    expect(failovers(entries)).toHaveLength(1);
    expect(failovers(entries)[0]!.data.error).toMatch(/Could not connect to the realtime provider/);
    const session = entries.find((e) => e.event === 'completed' && e.data.step === 'session');
    expect(session?.data.provider).toBe('fallback');
    // Not the chained fallback: the call stays in realtime mode.
    expect((await svc.services.calls.get(id))?.mode).toBe('realtime');
  });
});

describe('the circuit over real HTTP, with an injected clock', () => {
  let primary: FakeOpenAI;
  beforeAll(async () => {
    primary = await startFakeOpenAI();
  });
  afterEach(() => {
    primary.reset();
    backup.reset();
  });
  afterAll(async () => {
    await primary?.close();
  });

  function llm(clock: { t: number }) {
    const sp = new StageProvider('llm', {
      primary: new OpenAI({ baseURL: primary.url, apiKey: 'test', maxRetries: 0 }),
      fallback: { client: new OpenAI({ baseURL: backup.url, apiKey: 'test', maxRetries: 0 }), model: undefined },
      timeoutMs: 5_000,
      circuit: { failureThreshold: 3, openMs: 30_000, now: () => clock.t },
    });
    const ask = async () =>
      (
        await sp.run((a) => a.provider.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: a.signal }), {
          signal: new AbortController().signal,
        })
      ).provider;
    return { sp, ask };
  }

  const primaryChats = () => primary.requests.filter((r) => r.path === PATH.llm).length;

  it('opens after three failures, skips the primary for the open period, then closes when the one probe succeeds', async () => {
    const clock = { t: 0 };
    const { sp, ask } = llm(clock);
    primary.script.failures.push({ endpoint: 'chat', status: 500, times: 1_000 });
    expect([await ask(), await ask(), await ask()]).toEqual(['fallback', 'fallback', 'fallback']);
    expect(sp.breaker?.current).toBe('open');
    expect(primaryChats()).toBe(3);
    clock.t += 29_999;
    expect(await ask()).toBe('fallback');
    expect(primaryChats()).toBe(3); // skipped
    primary.script.failures.length = 0; // the primary recovers
    clock.t += 1;
    expect(sp.breaker?.current).toBe('half_open');
    expect(await ask()).toBe('primary');
    expect(sp.breaker?.current).toBe('closed');
    expect(await ask()).toBe('primary');
  });

  it('a failed probe opens the circuit again for a whole period', async () => {
    const clock = { t: 0 };
    const { sp, ask } = llm(clock);
    primary.script.failures.push({ endpoint: 'chat', status: 503, times: 1_000 });
    for (let i = 0; i < 3; i++) await ask();
    clock.t += 30_000;
    expect(await ask()).toBe('fallback'); // the probe failed over
    expect(primaryChats()).toBe(4);
    expect(sp.breaker?.current).toBe('open');
    clock.t += 29_999;
    expect(await ask()).toBe('fallback');
    expect(primaryChats()).toBe(4);
  });

  it('without a fallback, a first byte later than the stage timeout is retried on the primary, then given up on', async () => {
    const sp = new StageProvider('llm', {
      primary: new OpenAI({ baseURL: primary.url, apiKey: 'test', maxRetries: 0 }),
      fallback: null,
      timeoutMs: 300,
      circuit: { failureThreshold: 3, openMs: 30_000 },
    });
    primary.script.delays = { llmFirstTokenMs: 60_000 };
    const retries: string[] = [];
    const asked = sp.run((a) => a.provider.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: a.signal }), {
      signal: new AbortController().signal,
      maxRetries: 1,
      onRetry: (r) => void retries.push(`${r.provider}: ${r.error.message}`),
    });
    await expect(asked).rejects.toMatchObject({ name: 'FirstByteTimeoutError' });
    expect(retries).toEqual(['primary: no first byte from the llm provider within 300 ms']);
    expect(sp.breaker).toBeNull();
    expect(primaryChats()).toBe(2);
  });

  it('a request the fallback would refuse too (400) is not failed over and does not count against the primary', async () => {
    const clock = { t: 0 };
    const { sp, ask } = llm(clock);
    primary.script.failures.push({ endpoint: 'chat', status: 400, times: 5 });
    for (let i = 0; i < 5; i++) await expect(ask()).rejects.toMatchObject({ status: 400 });
    expect(backup.requests).toHaveLength(0);
    expect(sp.breaker?.current).toBe('closed');
  });
});

describe('the circuits /readyz shows, shared through Redis', () => {
  it('are each stage’s worst state across live worker processes; an open circuit past its period reads half-open; dead processes are dropped', async () => {
    const redis = await connectRedis('redis://127.0.0.1:6379');
    const keys = new Keys(`test-${randomBytes(5).toString('hex')}`);
    const hb = await WorkerHeartbeat.start(redis, keys, ['llm', 'tts'], () => {});
    const clock = { t: 1_000 };
    const llm = new CircuitBreaker({ failureThreshold: 1, openMs: 100, now: () => clock.t });
    const tts = new CircuitBreaker({ failureThreshold: 1, openMs: 100, now: () => clock.t });
    const pub = await CircuitPublisher.start(redis, keys, hb.instance, { llm, tts }, (err) => {
      throw err;
    });
    try {
      // A process that died with its circuit open: no heartbeat, so it is not shown.
      await redis.hset(keys.providerCircuits(), 'llm|gone:1:abc', JSON.stringify({ state: 'open', reopens_at: null }));
      expect(await readCircuits(redis, keys, clock.t)).toEqual({ llm: 'closed', tts: 'closed' });
      expect(await redis.hexists(keys.providerCircuits(), 'llm|gone:1:abc')).toBe(0);
      llm.failure(llm.acquire());
      expect(await readCircuits(redis, keys, clock.t)).toEqual({ llm: 'open', tts: 'closed' });
      expect(await readCircuits(redis, keys, clock.t + 100)).toEqual({ llm: 'half_open', tts: 'closed' });
      await pub.stop();
      expect(await readCircuits(redis, keys, clock.t)).toEqual({});
    } finally {
      await hb.stop();
      await redis.del(keys.providerCircuits(), keys.workerHeartbeats());
      redis.disconnect();
    }
  });
});
