/**
 * Fuzzing a live call: thousands of malformed, mutated and random events and audio frames, in
 * both dialects. The process stays up, the call stays usable, and every bad input gets exactly
 * one `error` event. Which inputs are bad is decided by the same pure parser and frame check the
 * server uses (valid mutations are not sent), plus events that parse but cannot apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientEvent, type Dialect } from '../../src/core/protocol';
import { CallGuard } from '../../src/security/call-limits';
import { connectCall, newCall } from '../helpers/calls';
import type { RealtimeClient, WireEvent } from '../helpers/realtime-client';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

const PER_DIALECT = 2_000;
const BATCH = 250;

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  // This test is about validation, not flooding: lift the per-call message rate.
  svc.services.limits.call.messagesPerSecond = 1e9;
  svc.services.limits.call.messageBurst = 1e9;
  await svc.api('/v1/businesses/fuzz-co', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await svc?.stop();
});

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof rng>;
const pick = <T,>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function randomString(r: Rand, max = 40): string {
  const n = Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * (r() < 0.9 ? 128 : 0xffff)));
  return s;
}

function randomValue(r: Rand, depth = 0): unknown {
  switch (Math.floor(r() * (depth > 2 ? 6 : 8))) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor((r() - 0.5) * 1e9) / (r() < 0.5 ? 1 : 7);
    case 3: return randomString(r);
    case 4: return r() < 0.5 ? -1 : 1e308;
    case 5: return pick(r, ['', 'pcm16', 'server_vad', 'audio', 'function_call_output', 'message', 'user', 'inf']);
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [randomString(r, 8), randomValue(r, depth + 1)]));
  }
}

const TEMPLATES: Record<string, unknown>[] = [
  { type: 'session.update', session: { voice: 'echo', temperature: 0.7, turn_detection: { type: 'server_vad', threshold: 0.5 } } },
  { type: 'input_audio_buffer.append', audio: Buffer.alloc(480).toString('base64') },
  { type: 'input_audio_buffer.commit' },
  { type: 'input_audio_buffer.clear' },
  { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } },
  { type: 'conversation.item.truncate', item_id: 'item_x', content_index: 0, audio_end_ms: 100 },
  { type: 'response.create', response: { modalities: ['text'], instructions: 'be brief' } },
  { type: 'response.cancel' },
  { type: 'response.interrupt' },
];

/** Sets, deletes or adds a random field somewhere in the event. */
function mutate(r: Rand, e: Record<string, unknown>): void {
  let target: Record<string, unknown> = e;
  for (let d = 0; d < 3; d++) {
    const nested = Object.values(target).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
    if (!nested.length || r() < 0.4) break;
    target = pick(r, nested);
  }
  const keys = Object.keys(target);
  const op = r();
  if (op < 0.4 && keys.length) target[pick(r, keys)] = randomValue(r);
  else if (op < 0.6 && keys.length) delete target[pick(r, keys)];
  else if (op < 0.8) target[randomString(r, 10) || 'x'] = randomValue(r);
  else e['type'] = r() < 0.5 ? randomString(r, 30) : pick(r, TEMPLATES)['type'];
}

/** A text frame that is bad for `dialect` (checked against the server's own parser), or null. */
function badTextFrame(r: Rand, dialect: Dialect, guard: CallGuard): string | null {
  const kind = r();
  let raw: string;
  if (kind < 0.1) raw = randomString(r, 200);
  else if (kind < 0.15) raw = JSON.stringify(randomValue(r));
  else if (kind < 0.18) raw = pick(r, ['[', '{"type":', '{"type":"session.update","session":{', '[]'.repeat(5000), '{'.repeat(10_000), '"'.repeat(3)]);
  else if (kind < 0.2) raw = JSON.stringify({ type: 'session.update', session: { instructions: 'x', nested: JSON.parse('['.repeat(2_000) + ']'.repeat(2_000)) } });
  else if (kind < 0.22) raw = JSON.stringify({ type: 'input_audio_buffer.append', audio: randomString(r, 64) + '!' });
  else if (kind < 0.23) raw = JSON.stringify({ type: 'response.create', __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } });
  else {
    const e = structuredClone(pick(r, TEMPLATES));
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) mutate(r, e);
    if (r() < 0.5) e['event_id'] = `fz_${Math.floor(r() * 1e9)}`;
    raw = JSON.stringify(e);
  }
  const parsed = parseClientEvent(raw, dialect);
  if (!parsed.ok) return raw;
  if (parsed.event.type === 'input_audio_buffer.append' && guard.appendAudio(parsed.event.audio)) return raw;
  return null; // a valid event: not a bad input
}

/** Events that parse but cannot apply on a fresh call with no audio and no response. */
const UNAPPLICABLE: Record<string, unknown>[] = [
  { type: 'response.cancel' },
  { type: 'response.interrupt' },
  { type: 'input_audio_buffer.commit' },
  { type: 'conversation.item.truncate', item_id: 'item_nope', content_index: 0, audio_end_ms: 10 },
  // not in allowed_overrides (an empty list would be no change: the business has no tools)
  { type: 'session.update', session: { tools: [{ type: 'function', name: 'launch_rocket' }] } },
];

async function sendBatch(c: RealtimeClient, frames: (string | Uint8Array)[]): Promise<void> {
  let errors = 0;
  const got = c.waitFor((e: WireEvent) => e.type === 'error' && ++errors >= frames.length, c.events.length, 20_000);
  for (const f of frames) {
    if (typeof f === 'string') c.ws.send(f);
    else c.sendBinary(f);
  }
  await got;
}

describe('fuzzing a live call', () => {
  for (const [dialect, seed] of [['beta', 1234], ['ga', 98765]] as const) {
    it(`answers each of ${PER_DIALECT}+ bad inputs with one error event and stays usable (${dialect})`, async () => {
      const r = rng(seed);
      const guard = new CallGuard({ ...svc.services.limits.call, audioBurstMs: Infinity }, 'pcm16');
      const call = await newCall(svc, 'fuzz-co');
      const c = await connectCall(svc, call.id, dialect);
      const start = c.events.length;
      let sent = 0;
      let batch: (string | Uint8Array)[] = [];
      while (sent < PER_DIALECT) {
        const roll = r();
        let frame: string | Uint8Array | null;
        if (roll < 0.02) frame = new Uint8Array(0);
        else if (roll < 0.025) frame = new Uint8Array(48 * 31_000); // > 30 s of pcm16 in one frame
        else if (roll < 0.1) frame = JSON.stringify(pick(r, UNAPPLICABLE));
        else frame = badTextFrame(r, dialect, guard);
        if (frame === null) continue;
        batch.push(frame);
        sent++;
        if (batch.length === BATCH) {
          await sendBatch(c, batch);
          batch = [];
        }
      }
      if (batch.length) await sendBatch(c, batch);

      const errors = c.events.slice(start).filter((e) => e.type === 'error');
      expect(errors).toHaveLength(sent);
      expect(errors.every((e) => typeof e.error?.code === 'string' && typeof e.error?.message === 'string')).toBe(true);

      // The process is up and the call still works: a text turn is answered in full.
      expect((await svc.api('/healthz', { key: null })).status).toBe(200);
      const from = c.events.length;
      c.send({ type: 'session.update', session: dialect === 'ga' ? { type: 'realtime', audio: { output: { voice: 'echo' } } } : { voice: 'echo' } });
      await c.waitFor('session.updated', from);
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Are you still there?' }] } });
      c.send({ type: 'response.create' });
      const done = await c.waitFor('response.done', from);
      expect(done.response.status).toBe('completed');
      expect(c.events.slice(from).filter((e) => e.type === 'error')).toEqual([]);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
      c.close();
    }, 30_000);
  }
});
