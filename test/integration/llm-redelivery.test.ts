/**
 * A redelivered LLM job (its first worker died mid-answer) resumes from what was already sent:
 * the caller neither gets the start twice nor a garbled mix when the model words it differently.
 * The dead worker's output is written by hand; the job is then run as its second attempt.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LlmJob } from '../../src/contracts/jobs';
import type { StageOutput } from '../../src/contracts/output';
import { jobId } from '../../src/adapters/queues';
import { OutputStream } from '../../src/adapters/output-stream';
import { dedicatedConnection } from '../../src/adapters/redis';
import { newId } from '../../src/core/protocol';
import { newCall } from '../helpers/calls';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await svc?.stop();
});
beforeEach(() => svc.fake.reset());

/** Writes what a first attempt sent before dying, then runs the job again as attempt 2; returns the turn's records. */
async function redeliver(reply: string): Promise<StageOutput[]> {
  const call = await newCall(svc, 'acme');
  const turn = `turn_${newId('event').slice(6)}`;
  const job: LlmJob = { call_id: call.id, turn_id: turn, response_id: newId('resp'), assistant_item_id: newId('item') };
  const s = svc.services;
  await s.output.write(call.id, { kind: 'response_started', turn_id: turn });
  await s.output.write(call.id, { kind: 'text_delta', turn_id: turn, offset: 0, text: 'Hello there. ' });
  await s.output.write(call.id, { kind: 'sentence', turn_id: turn, seq: 0, text: 'Hello there.' });
  await s.output.write(call.id, { kind: 'text_delta', turn_id: turn, offset: 13, text: 'We open' });
  const id = jobId(call.id, turn, 'llm');
  await s.redis.hset(`${s.keys.callState(call.id)}:attempts`, id, 1); // the dead worker's attempt
  svc.fake.script.chat.push({ text: reply });
  const from = '0-0';
  await s.queues.llm.add('llm', job, { jobId: id });
  // Read the turn's records until its text_done (blocking XREAD, no polling).
  const conn = dedicatedConnection(s.redis);
  const out: StageOutput[] = [];
  try {
    for (let last = from; !out.some((o) => o.kind === 'text_done'); ) {
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
  return out;
}

/** The client-visible text: deltas applied by offset, as the gateway does. */
function shown(out: StageOutput[]): string {
  let text = '';
  for (const o of out) if (o.kind === 'text_delta' && o.offset + o.text.length > text.length) text = text.slice(0, o.offset) + o.text.slice(Math.max(0, text.length - o.offset));
  return text;
}

it('skips what the first attempt already said when the model says the same again', async () => {
  const out = await redeliver('Hello there. We open at nine. See you soon.');
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
  const out = await redeliver('Good morning! Our hours are nine to five.');
  const sentences = out.filter((o) => o.kind === 'sentence').map((o) => (o as { text: string }).text);
  // "We open" was already shown: it stays, as its own sentence, and nothing is garbled.
  expect(sentences).toEqual(['Hello there.', 'We open', 'Good morning!', 'Our hours are nine to five.']);
  expect(shown(out)).toBe('Hello there. We open Good morning! Our hours are nine to five.');
});
