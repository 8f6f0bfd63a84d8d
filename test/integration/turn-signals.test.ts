/**
 * Jobs queued before their input (src/adapters/turn-signals.ts): the signal itself against a real
 * Redis (marked before or after the wait, aborted, timed out), and the chained path's jobs that
 * wait on it: a spoken turn's LLM job ends without a chat request when the transcript is empty
 * or the STT failed, and the answer's first TTS job ends without audio when the answer has no words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnSignals } from '../../src/adapters/turn-signals';
import { jobId } from '../../src/adapters/queues';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { dedicatedConnection } from '../../src/adapters/redis';
import { StageLog } from '../../src/adapters/stage-log';
import type { StageLogEntry } from '../../src/contracts/logs';

let svc: TestService;
let signals: TurnSignals;
beforeAll(async () => {
  svc = await startService();
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  signals = await TurnSignals.start(svc.services.redis, svc.services.keys);
});
afterAll(async () => {
  await signals?.close();
  await svc?.stop();
});

const never = new AbortController().signal;

describe('TurnSignals', () => {
  it('gives a value marked before the wait (from its key) and one marked during it (by message)', async () => {
    const { redis, keys } = svc.services;
    await TurnSignals.mark(redis, keys, 'call_a', 'turn_1', 'transcript', 'ready');
    expect(await signals.wait('call_a', 'turn_1', 'transcript', 5_000, never)).toBe('ready');
    const waiting = signals.wait('call_a', 'turn_2', 'sentence0', 5_000, never);
    await TurnSignals.mark(redis, keys, 'call_a', 'turn_2', 'sentence0', JSON.stringify({ text: 'Hello there.' }));
    expect(JSON.parse((await waiting)!)).toEqual({ text: 'Hello there.' });
    // Another turn's or another signal's value is not this one's.
    await TurnSignals.mark(redis, keys, 'call_a', 'turn_3', 'transcript', 'skip');
    expect(await signals.wait('call_a', 'turn_3', 'sentence0', 50, never)).toBeNull();
  });

  it('rejects when the job is cancelled, and gives null after its timeout', async () => {
    const ctl = new AbortController();
    const waiting = signals.wait('call_b', 'turn_1', 'transcript', 60_000, ctl.signal);
    ctl.abort(new Error('turn cancelled'));
    await expect(waiting).rejects.toThrow('turn cancelled');
    expect(await signals.wait('call_b', 'turn_1', 'transcript', 20, never)).toBeNull();
  });
});

describe('chained jobs queued before their input', () => {
  /** The call's stage log once an entry matches `until` (blocking XREAD on its stream, no polling). */
  async function logUntil(callId: string, until: (e: StageLogEntry) => boolean): Promise<StageLogEntry[]> {
    const conn = dedicatedConnection(svc.services.redis);
    const entries: StageLogEntry[] = [];
    try {
      for (let last = '0-0'; !entries.some(until); ) {
        const res = await conn.xread('COUNT', 100, 'BLOCK', 20_000, 'STREAMS', svc.services.stageLog.keyOf(callId), last);
        if (!res) throw new Error(`no such stage-log entry: ${JSON.stringify(entries.map((e) => [e.stage, e.event]))}`);
        for (const [id, fields] of res[0]![1]) {
          last = id;
          entries.push(StageLog.decode(fields));
        }
      }
    } finally {
      conn.disconnect();
    }
    return entries;
  }
  const llmEnded = (e: StageLogEntry) => e.stage === 'llm' && ['completed', 'failed', 'cancelled'].includes(e.event);

  it('an empty transcript ends the waiting LLM job with no chat request, and the call goes on', async () => {
    svc.fake.script.transcripts.push('');
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    const chatsBefore = svc.fake.requests.filter((r) => r.path === '/v1/chat/completions').length;
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('conversation.item.input_audio_transcription.completed');
    const entries = await logUntil(call.id, llmEnded);
    const llm = entries.filter((e) => e.stage === 'llm').map((e) => [e.event, e.data['skipped'] ?? null]);
    expect(llm).toEqual([
      ['queued', null],
      ['completed', 'no transcript to answer'],
    ]);
    const job = await svc.services.queues.llm.getJob(jobId(call.id, entries.find((e) => e.stage === 'llm')!.turn_id!, 'llm'));
    expect(await job?.getState()).toBe('completed');
    expect(svc.fake.requests.filter((r) => r.path === '/v1/chat/completions').length).toBe(chatsBefore);
    // The next turn is answered as usual.
    const from = c.events.length;
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done', from);
    expect(done.response.status).toBe('completed');
    c.close();
  });

  it('a failed transcription ends the waiting LLM job too', async () => {
    svc.fake.script.failures.push({ endpoint: 'transcriptions', status: 400, times: 1 });
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('error');
    const entries = await logUntil(call.id, llmEnded);
    expect(entries.filter((e) => e.stage === 'llm').map((e) => e.event)).toEqual(['queued', 'completed']);
    expect(entries.some((e) => e.stage === 'stt' && e.event === 'failed')).toBe(true);
    c.close();
  });

  it('an answer with no words ends its waiting first TTS job without audio', async () => {
    svc.fake.script.chat.push({ text: '' });
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    const entries = await logUntil(call.id, (e) => e.stage === 'tts' && e.event !== 'queued');
    const tts = entries.filter((e) => e.stage === 'tts');
    expect(tts.map((e) => [e.event, e.data['skipped'] ?? null])).toEqual([['completed', 'the answer has no sentence']]);
    expect(c.events.filter((e) => e.type === 'response.audio.delta')).toHaveLength(0);
    c.close();
  });
});
