/**
 * A redelivered LLM job (its first worker died mid-answer) resumes from what was already sent:
 * the caller neither gets the start twice nor a garbled mix when the model words it differently.
 * A tool that had finished is not run again, and a finished tool round is not asked for again.
 * The dead worker's output is written by hand; the job is then run as its second attempt.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LlmJob } from '../../src/contracts/jobs';
import type { StageOutput } from '../../src/contracts/output';
import { jobId } from '../../src/adapters/queues';
import { OutputStream, functionCallItemId } from '../../src/adapters/output-stream';
import { dedicatedConnection } from '../../src/adapters/redis';
import { newId } from '../../src/core/protocol';
import { stageMetrics } from '../../src/metrics/registry';
import { runToolCall, type ToolCall } from '../../src/tools/executor';
import { chatRequests, newCall } from '../helpers/calls';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  const tools = ((await (await svc.api('/v1/tools/customer_support')).json()) as { data: object[] }).data;
  await svc.api('/v1/businesses/shop', { method: 'PUT', json: { ...SIMPLE_BUSINESS, session: { ...SIMPLE_BUSINESS.session, tools }, tool_handlers: { create_ticket: 'builtin' } } });
});
afterAll(async () => {
  await svc?.stop();
});
beforeEach(() => svc.fake.reset());

interface Turn {
  callId: string;
  turn: string;
  job: LlmJob;
}

/** Lets `dieAfter` write what a first attempt sent before dying, then runs the job again as attempt 2; returns the turn's records. */
async function redeliver(business: string, dieAfter: (t: Turn) => Promise<void>): Promise<{ t: Turn; out: StageOutput[] }> {
  const call = await newCall(svc, business);
  const turn = `turn_${newId('event').slice(6)}`;
  const t: Turn = { callId: call.id, turn, job: { call_id: call.id, turn_id: turn, response_id: newId('resp'), assistant_item_id: newId('item') } };
  const s = svc.services;
  await s.output.write(call.id, { kind: 'response_started', turn_id: turn });
  await dieAfter(t);
  const id = jobId(call.id, turn, 'llm');
  await s.redis.hset(`${s.keys.callState(call.id)}:attempts`, id, 1); // the dead worker's attempt
  await s.queues.llm.add('llm', t.job, { jobId: id });
  // Read the turn's records until its text_done (blocking XREAD, no polling).
  const conn = dedicatedConnection(s.redis);
  const out: StageOutput[] = [];
  try {
    for (let last = '0-0'; !out.some((o) => o.kind === 'text_done'); ) {
      const records = await OutputStream.read(conn, s.keys.callOutput(call.id), last, 20_000);
      if (records.length === 0) throw new Error('no text_done');
      for (const r of records) {
        last = r.id;
        if (r.out.turn_id === turn) out.push(r.out);
      }
    }
  } finally {
    conn.disconnect();
  }
  return { t, out };
}

/** The first attempt said "Hello there." and began "We open" before it died. */
async function helloThenDie(reply: string): Promise<StageOutput[]> {
  const { out } = await redeliver('acme', async ({ callId, turn }) => {
    const s = svc.services;
    await s.output.write(callId, { kind: 'text_delta', turn_id: turn, offset: 0, text: 'Hello there. ' });
    await s.output.write(callId, { kind: 'sentence', turn_id: turn, seq: 0, text: 'Hello there.' });
    await s.output.write(callId, { kind: 'text_delta', turn_id: turn, offset: 13, text: 'We open' });
    svc.fake.script.chat.push({ text: reply });
  });
  return out;
}

/** The client-visible text: deltas applied by offset, as the gateway does. */
function shown(out: StageOutput[]): string {
  let text = '';
  for (const o of out) if (o.kind === 'text_delta' && o.offset + o.text.length > text.length) text = text.slice(0, o.offset) + o.text.slice(Math.max(0, text.length - o.offset));
  return text;
}

it('skips what the first attempt already said when the model says the same again', async () => {
  const out = await helloThenDie('Hello there. We open at nine. See you soon.');
  expect(shown(out)).toBe('Hello there. We open at nine. See you soon.');
  expect(out.filter((o) => o.kind === 'sentence').map((o) => (o as { seq: number; text: string }).text)).toEqual([
    'Hello there.',
    'We open at nine.',
    'See you soon.',
  ]);
  const done = out.find((o) => o.kind === 'text_done') as { text: string; sentences: number };
  expect(done).toMatchObject({ text: 'Hello there. We open at nine. See you soon.', sentences: 3 });
});

it('keeps what was said and follows it with the new words when the model words it differently', async () => {
  const out = await helloThenDie('Good morning! Our hours are nine to five.');
  const sentences = out.filter((o) => o.kind === 'sentence').map((o) => (o as { text: string }).text);
  // "We open" was already shown: it stays, as its own sentence, and nothing is garbled.
  expect(sentences).toEqual(['Hello there.', 'We open', 'Good morning!', 'Our hours are nine to five.']);
  expect(shown(out)).toBe('Hello there. We open Good morning! Our hours are nine to five.');
});

describe('a turn with a tool', () => {
  const TICKET = { summary: 'Broken blender', priority: 'high' };
  const tickets = () => svc.services.redis.llen(`${svc.services.keys.business('shop')}:tickets`);

  /** The first attempt said "Let me check." and asked for create_ticket (round 0) before it died. */
  async function askedForTicket({ callId, turn, job }: Turn): Promise<ToolCall> {
    const s = svc.services;
    await s.output.write(callId, { kind: 'text_delta', turn_id: turn, offset: 0, text: 'Let me check. ' });
    await s.output.write(callId, { kind: 'sentence', turn_id: turn, seq: 0, text: 'Let me check.' });
    const call = { id: 'call_first', name: 'create_ticket', arguments: JSON.stringify(TICKET) };
    await s.output.write(callId, { kind: 'function_call', turn_id: turn, call_id: call.id, name: call.name, arguments: call.arguments, item_id: functionCallItemId(job.assistant_item_id, 0, 0) });
    return call;
  }

  it('does not run a tool again that had finished when the worker died', async () => {
    const before = await tickets();
    const counted = async () => (await stageMetrics.toolCalls.get()).values.find((v) => v.labels.tool === 'create_ticket')?.value ?? 0;
    const countedBefore = await counted();
    const { t, out } = await redeliver('shop', async (t) => {
      const call = await askedForTicket(t);
      const business = (await svc.services.businesses.get('shop'))!;
      // The dead worker ran the tool to the end, then died before the round reached the history.
      await runToolCall(svc.services, { business, callId: t.callId, turnId: t.turn, scope: 'round0', signal: new AbortController().signal, attempt: 1 }, call);
      // The model asks again (with a new call id, as a real one would), then answers.
      svc.fake.script.chat.push({ tool_calls: [{ name: 'create_ticket', arguments: TICKET, id: 'call_second' }] }, { text: 'Your ticket is open.' });
    });
    expect(await tickets()).toBe(before + 1);
    expect(await counted()).toBe(countedBefore + 1); // the metrics count the run once too
    expect(shown(out)).toBe('Let me check. Your ticket is open.');
    const toolLog = (await svc.services.stageLog.read(t.callId)).map((r) => r.entry).filter((e) => e.stage === 'tool');
    expect(toolLog.map((e) => [e.event, e.attempt, e.data?.['reused'] ?? false])).toEqual([
      ['started', 1, false],
      ['completed', 1, false],
      ['completed', 2, true],
    ]);
    // The result the model got the second time is the first run's.
    const results = chatRequests(svc).at(-1)!.messages.filter((m) => m.role === 'tool');
    expect(results).toHaveLength(1);
    expect(JSON.parse(results[0]!.content as string).ticket_id).toMatch(/^tkt_/);
  });

  it('goes on after a tool round that reached the history, without repeating or garbling the answer', async () => {
    const before = await tickets();
    const { t, out } = await redeliver('shop', async (t) => {
      const call = await askedForTicket(t);
      const s = svc.services;
      const item = t.job.assistant_item_id;
      await s.calls.appendHistoryOnce(t.callId, `${t.turn}:tools:0`, [
        { item_id: `${item}_tc0`, turn_id: t.turn, message: { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] } },
        { item_id: `${item}_tr0_0`, turn_id: t.turn, message: { role: 'tool', tool_call_id: call.id, content: '{"ticket_id":"tkt_1"}' } },
      ]);
      // The answer after the tool had begun when the worker died.
      await s.output.write(t.callId, { kind: 'text_delta', turn_id: t.turn, offset: 14, text: 'Your ticket' });
      svc.fake.script.chat.push({ text: 'Your ticket is open.' });
    });
    expect(shown(out)).toBe('Let me check. Your ticket is open.');
    expect(await tickets()).toBe(before);
    const toolLog = (await svc.services.stageLog.read(t.callId)).map((r) => r.entry).filter((e) => e.stage === 'tool');
    expect(toolLog).toEqual([]);
    // The model saw the tool round from the history, once.
    expect(chatRequests(svc).at(-1)!.messages.filter((m) => m.role === 'tool')).toHaveLength(1);
    const history = await svc.services.calls.history(t.callId);
    expect(history.filter((h) => h.turn_id === t.turn).map((h) => h.message['role'])).toEqual(['assistant', 'tool', 'assistant']);
  });
});
