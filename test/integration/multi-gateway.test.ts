/**
 * Two gateways on one Redis behind a (simulated) round-robin load balancer: an HTTP-driven call's
 * requests land on either, and one driver — on the gateway that opened the call's session — runs
 * the conversation; the other forwards to it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { callSessions } from '../../src/gateway/sessions/call-sessions';
import { loadWavFixture } from '../fixtures';
import { chatRequests, newCall } from '../helpers/calls';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startPeerGateway, startService, type TestService } from '../helpers/service';

let a: TestService;
let b: Awaited<ReturnType<typeof startPeerGateway>>;
beforeAll(async () => {
  a = await startService();
  b = await startPeerGateway(a);
  await a.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const utterance = () => pcm16ToBytes(loadWavFixture('hours_16k.wav').pcm) as Uint8Array<ArrayBuffer>;
const turn = (api: TestService['api'], id: string) => api(`/v1/calls/${id}/turns`, { method: 'POST', body: utterance(), headers: { 'content-type': 'audio/pcm;rate=16000' } });

it('runs one conversation whichever gateway each turn lands on, driven by the gateway that took the first', async () => {
  const { id } = await newCall(a, 'acme');
  a.fake.script.transcripts.push('My name is Ada.', 'What is my name?', 'Thanks.');
  for (const api of [b.api, a.api, b.api]) {
    const res = await turn(api, id);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('completed');
  }
  expect(callSessions(b.services).get(id)).toBeDefined();
  expect(callSessions(a.services).get(id)).toBeUndefined();
  // One driver, one history: every turn saw the ones before it.
  const call = (await (await a.api(`/v1/calls/${id}`)).json()) as { transcript: { role: string; text: string }[] };
  expect(call.transcript.map((t) => t.text).filter((_, i) => i % 2 === 0)).toEqual(['My name is Ada.', 'What is my name?', 'Thanks.']);
  expect(chatRequests(a).at(-1)!.messages.filter((m) => m.role === 'user')).toHaveLength(3);
});

it('passes the owner’s errors back unchanged, and hang-up from either gateway ends the call', async () => {
  const { id } = await newCall(a, 'acme');
  expect((await turn(a.api, id)).status).toBe(200);
  const bad = await b.api(`/v1/calls/${id}/turns`, { method: 'POST', body: Buffer.alloc(3000, 7), headers: { 'content-type': 'audio/ogg' } });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_audio');
  expect((await b.api(`/v1/calls/${id}`, { method: 'DELETE' })).status).toBe(200);
  await expect.poll(() => callSessions(a.services).get(id)).toBeUndefined();
  expect((await turn(b.api, id)).status).toBe(409);
});

it('closes a WebSocket call on one gateway when it is hung up through another', async () => {
  const { id } = await newCall(a, 'acme');
  const ws = await RealtimeClient.connect(`${b.url.replace('http', 'ws')}/v1/calls/${id}/stream?dialect=beta`, { key: ADMIN_KEY });
  await ws.waitFor('session.created');
  expect((await a.api(`/v1/calls/${id}`, { method: 'DELETE' })).status).toBe(200);
  expect(await ws.closed).toMatchObject({ code: 1000, reason: 'hangup' });
});

it('answers 503 with retry-after when the gateway driving the call does not answer', async () => {
  const { id } = await newCall(a, 'acme');
  await a.services.redis.set(`${a.services.keys.callState(id)}:owner`, 'http://127.0.0.1:9', 'PX', 60_000);
  const res = await turn(a.api, id);
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('call_owner_unreachable');
});
