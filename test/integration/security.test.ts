/**
 * The five security duties (docs/DESIGN.md §6) against the running service: keys, rate limits,
 * validation limits, output filtering and the audit log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { defaultSecurityLimits } from '../../src/security';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';
import { auditEntry } from '../helpers/audit';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});
afterEach(() => {
  svc.services.limits = defaultSecurityLimits();
  svc.fake.reset();
});

type Json = Record<string, any>;
const json = async (res: Response) => (await res.json()) as Json;

async function business(id: string, extra: Json = {}) {
  const res = await svc.api(`/v1/businesses/${id}`, { method: 'PUT', json: { ...SIMPLE_BUSINESS, ...extra } });
  expect(res.status).toBeLessThan(300);
}

async function keyFor(id: string): Promise<{ id: string; key: string }> {
  return json(await svc.api(`/v1/businesses/${id}/keys`, { method: 'POST' })) as Promise<{ id: string; key: string }>;
}


async function audit(id: string, query = '') {
  return json(await svc.api(`/v1/businesses/${id}/audit${query}`));
}

describe('keys', () => {
  it('never writes authorization headers, provider keys or client secrets to the process log', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const log = createLogger('info', sink);
    const config = loadConfig({ ADMIN_API_KEY: 'admin-secret-0123456789', OPENAI_API_KEY: 'sk-provider-secret' });
    log.info({ req: { headers: { authorization: 'Bearer vak_business_secret', 'sec-websocket-protocol': 'realtime, openai-insecure-api-key.ek_x' } } }, 'request');
    log.info({ config }, 'config');
    log.info({ call: { client_secret: 'ek_call_secret' }, token: 'ek_token_secret' }, 'call');
    const out = lines.join('');
    for (const secret of ['vak_business_secret', 'admin-secret-0123456789', 'sk-provider-secret', 'ek_call_secret', 'ek_token_secret', 'ek_x']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
  });

  it('reads the admin and provider keys from files named by *_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'va-secrets-'));
    writeFileSync(join(dir, 'admin'), 'file-admin-key-0123456789\n');
    writeFileSync(join(dir, 'openai'), 'sk-from-file');
    const c = loadConfig({ ADMIN_API_KEY_FILE: join(dir, 'admin'), OPENAI_API_KEY_FILE: join(dir, 'openai') });
    expect(c.adminApiKey).toBe('file-admin-key-0123456789');
    expect(c.llm.apiKey).toBe('sk-from-file');
    expect(() => loadConfig({ ADMIN_API_KEY_FILE: join(dir, 'missing') })).toThrow(/ADMIN_API_KEY_FILE=.*ENOENT/);
  });

  it('stores a business key only as a hash and stops accepting it once revoked', async () => {
    await business('keys-co');
    const { id, key } = await keyFor('keys-co');
    expect(key).toMatch(/^vak_/);
    const redis = svc.services.redis;
    const stored = await redis.keys(`${svc.config.redisPrefix}:*`);
    const values = await Promise.all(
      stored.map(async (k) => {
        const t = await redis.type(k);
        return t === 'string' ? ((await redis.get(k)) ?? '') : t === 'hash' ? JSON.stringify(await redis.hgetall(k)) : '';
      }),
    );
    expect(values.join('\n')).not.toContain(key);
    expect((await svc.api('/v1/businesses/keys-co', { key })).status).toBe(200);
    expect((await svc.api(`/v1/businesses/keys-co/keys/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await svc.api('/v1/businesses/keys-co', { key })).status).toBe(401);
  });

  it('scopes a client secret to its one call and gives it a short life', async () => {
    await business('secret-co');
    const a = await newCall(svc, 'secret-co');
    const b = await newCall(svc, 'secret-co');
    const token = a.client_secret.value;
    expect((await svc.api(`/v1/calls/${a.id}`, { key: token })).status).toBe(200);
    expect((await svc.api(`/v1/calls/${b.id}`, { key: token })).status).toBe(403);
    expect((await svc.api('/v1/businesses/secret-co', { key: token })).status).toBe(403);
    expect((await svc.api('/v1/calls', { method: 'POST', key: token, json: { business_id: 'secret-co' } })).status).toBe(403);
    const ttl = await svc.services.redis.ttl(svc.services.keys.clientSecret((await import('../../src/core/secrets')).hashSecret(token)));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(svc.config.clientSecretTtlS);
  });

  it('accepts the WebSocket key as a header, as ?token= and as the openai-insecure-api-key subprotocol', async () => {
    await business('ws-co');
    const viaHeader = await newCall(svc, 'ws-co');
    const h = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${viaHeader.id}/stream`, { key: viaHeader.client_secret.value });
    await h.waitFor('session.created');
    const viaQuery = await newCall(svc, 'ws-co');
    const q = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${viaQuery.id}/stream?token=${viaQuery.client_secret.value}`);
    await q.waitFor('session.created');
    const viaProto = await newCall(svc, 'ws-co');
    const p = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${viaProto.id}/stream`, { protocols: ['realtime', `openai-insecure-api-key.${viaProto.client_secret.value}`] });
    await p.waitFor('session.created');
    expect(p.ws.protocol).toBe('realtime');
    await expect(RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${viaProto.id}/stream?token=ek_wrong`)).rejects.toThrow('HTTP 401');
    for (const c of [h, q, p]) c.close();
  });
});

describe('rate limits', () => {
  it('answers 429 with retry-after once a business key passes requests_per_minute', async () => {
    await business('rl-one', { limits: { requests_per_minute: 3, max_concurrent_calls: 5 } });
    const { key } = await keyFor('rl-one');
    for (let i = 0; i < 3; i++) expect((await svc.api('/v1/businesses/rl-one', { key })).status).toBe(200);
    const res = await svc.api('/v1/businesses/rl-one', { key });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await json(res)).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  });

  it('shares one per-business budget between all keys of a business and leaves other businesses alone', async () => {
    await business('rl-shared', { limits: { requests_per_minute: 4, max_concurrent_calls: 5 } });
    await business('rl-other', { limits: { requests_per_minute: 4, max_concurrent_calls: 5 } });
    const k1 = (await keyFor('rl-shared')).key;
    const k2 = (await keyFor('rl-shared')).key;
    const other = (await keyFor('rl-other')).key;
    for (const key of [k1, k1, k2, k2]) expect((await svc.api('/v1/businesses/rl-shared', { key })).status).toBe(200);
    const res = await svc.api('/v1/businesses/rl-shared', { key: k2 });
    expect(res.status).toBe(429);
    expect((await json(res)).error.message).toContain("business 'rl-shared'");
    expect((await svc.api('/v1/businesses/rl-other', { key: other })).status).toBe(200);
    expect((await svc.api('/v1/businesses/rl-shared')).status).toBe(200); // the admin key has its own budget
  });

  it('limits requests without a valid key per client address', async () => {
    svc.services.limits.http.anonymousPerMinute = 2;
    // A fresh address bucket: the test's other unauthenticated requests used the same IP, so clear it.
    const keys = await svc.services.redis.keys(`${svc.services.keys.rate('ip:')}*`);
    if (keys.length) await svc.services.redis.del(...keys);
    expect((await svc.api('/v1/businesses', { key: 'wrong' })).status).toBe(401);
    expect((await svc.api('/v1/businesses', { key: null })).status).toBe(401);
    expect((await svc.api('/v1/businesses', { key: 'wrong' })).status).toBe(429);
    expect((await svc.api('/healthz', { key: null })).status).toBe(200); // operations routes are not limited
  });

  it('refuses a call over max_concurrent_calls with 429 and admits one again after a hang-up', async () => {
    await business('cc-co', { limits: { max_concurrent_calls: 2, requests_per_minute: 100 } });
    const a = await newCall(svc, 'cc-co');
    await newCall(svc, 'cc-co');
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'cc-co' } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await json(res)).error.code).toBe('concurrent_calls_exceeded');
    expect((await svc.api(`/v1/calls/${a.id}`, { method: 'DELETE' })).status).toBe(200);
    await newCall(svc, 'cc-co');
  });

  it('stops counting calls whose gateway stopped sending heartbeats', async () => {
    await business('cc-stale', { limits: { max_concurrent_calls: 1, requests_per_minute: 100 } });
    const a = await newCall(svc, 'cc-stale');
    expect((await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'cc-stale' } })).status).toBe(429);
    // As if the gateway holding call a crashed long ago: its last heartbeat is older than the stale window.
    await svc.services.redis.zadd(svc.services.keys.activeCalls('cc-stale'), Date.now() - svc.services.concurrency.staleMs - 1, a.id);
    await newCall(svc, 'cc-stale');
    // ...and its record no longer claims to be active.
    expect(await json(await svc.api(`/v1/calls/${a.id}`))).toMatchObject({ status: 'ended', end_reason: 'heartbeat_lost' });
  });

  it('counts the drop-in realtime endpoint against the concurrent-call limit too', async () => {
    await business('cc-ws', { limits: { max_concurrent_calls: 1, requests_per_minute: 100 } });
    const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/realtime?business_id=cc-ws`, { key: ADMIN_KEY });
    await c.waitFor('session.created');
    await expect(RealtimeClient.connect(`${svc.wsUrl}/v1/realtime?business_id=cc-ws`, { key: ADMIN_KEY })).rejects.toThrow('HTTP 429');
    c.close();
    await c.closed;
  });
});

describe('call limits on the WebSocket', () => {
  it('cuts off a client that streams audio much faster than real time, with an error event', async () => {
    svc.services.limits.call.audioBurstMs = 1_000;
    await business('fast-co');
    const call = await newCall(svc, 'fast-co');
    const c = await connectCall(svc, call.id);
    c.sendBinary(new Uint8Array(48 * 3_000)); // 3 s of pcm16 at once
    const err = await c.waitFor((e) => e.type === 'error' && e.error.code === 'audio_rate_exceeded');
    expect(err.error.type).toBe('rate_limit_error');
    expect((await c.closed).code).toBe(1008);
  });

  it('drops messages over the message rate with one error event, then accepts them again', async () => {
    const limits = svc.services.limits.call;
    limits.messageBurst = 3;
    limits.messagesPerSecond = 0.001;
    await business('chatty-co');
    const call = await newCall(svc, 'chatty-co');
    const c = await connectCall(svc, call.id);
    for (let i = 0; i < 10; i++) c.send({ type: 'input_audio_buffer.clear', event_id: `e${i}` });
    await c.waitFor((e) => e.type === 'error' && e.error.code === 'rate_limit_exceeded');
    const cleared = await c.waitFor('input_audio_buffer.cleared');
    expect(cleared).toBeTruthy();
    limits.messagesPerSecond = 10_000;
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor((e) => e.type === 'input_audio_buffer.cleared' && c.types().filter((t) => t === 'input_audio_buffer.cleared').length === 4);
    expect(c.events.filter((e) => e.type === 'error' && e.error.code === 'rate_limit_exceeded')).toHaveLength(1);
    c.close();
  });

  it('rejects empty, oversized and non-base64 audio with error events and keeps the call', async () => {
    await business('frames-co');
    const call = await newCall(svc, 'frames-co');
    const c = await connectCall(svc, call.id);
    c.sendBinary(new Uint8Array(0));
    await c.waitFor((e) => e.type === 'error' && e.error.code === 'audio_frame_empty');
    c.sendBinary(new Uint8Array(48 * 31_000));
    await c.waitFor((e) => e.type === 'error' && e.error.code === 'audio_frame_too_large');
    c.send({ type: 'input_audio_buffer.append', audio: 'not base64!', event_id: 'bad-b64' });
    const bad = await c.waitFor((e) => e.type === 'error' && e.error.event_id === 'bad-b64');
    expect(bad.error).toMatchObject({ code: 'invalid_value', param: 'audio' });
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    c.close();
  });
});

describe('request validation limits', () => {
  it('refuses a JSON body over the size limit with 413', async () => {
    const res = await svc.api('/v1/businesses/huge', { method: 'PUT', json: { session: { instructions: 'x'.repeat(2 * 1024 * 1024) } } });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe('payload_too_large');
  });

  it('rejects a bad audit query with a 400 naming the field', async () => {
    await business('q-co');
    const res = await svc.api('/v1/businesses/q-co/audit?since=yesterday-ish');
    expect(res.status).toBe(400);
    expect((await json(res)).error.param).toBe('since');
  });
});

describe('output filtering', () => {
  const filtered = {
    output_filter: { redact: ['credit_card', 'ssn', 'email', 'phone'], patterns: ['ACME-\\d{4}'], speech: true },
  };

  it('masks the caller transcript and the agent answer everywhere they are kept, and in what the agent says', async () => {
    await business('pii-co', filtered);
    svc.fake.script.transcripts.push('My card is 4111 1111 1111 1111 and my email is jane@example.com.');
    svc.fake.script.chat.push({ text: 'Thanks. I have your SSN as 123-45-6789 and ticket ACME-1234. Anything else?' });
    const call = await newCall(svc, 'pii-co');
    const c = await connectCall(svc, call.id);
    c.sendBinary(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    const heard = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(heard.transcript).toBe('My card is [redacted:credit_card] and my email is [redacted:email].');
    const said = c.events.filter((e) => e.type === 'response.audio_transcript.delta').map((e) => e.delta).join('');
    expect(said).toBe('Thanks. I have your SSN as [redacted:ssn] and ticket [redacted]. Anything else?');
    // What went to TTS:
    const tts = svc.fake.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => (r.body as { input: string }).input).join(' ');
    expect(tts).not.toContain('123-45-6789');
    expect(tts).toContain('[redacted:ssn]');
    // The model itself heard the caller as said.
    const chat = svc.fake.requests.find((r) => r.path === '/v1/chat/completions')!.body as { messages: { content: string }[] };
    expect(JSON.stringify(chat.messages)).toContain('4111 1111 1111 1111');
    c.close();
    await c.closed;

    const raw = ['4111 1111 1111 1111', 'jane@example.com', '123-45-6789', 'ACME-1234'];
    const record = JSON.stringify(await json(await svc.api(`/v1/calls/${call.id}`)));
    const logs = JSON.stringify(await json(await svc.api(`/v1/calls/${call.id}/logs`)));
    const trail = JSON.stringify(await audit('pii-co'));
    for (const secret of raw) {
      expect(record).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(trail).not.toContain(secret);
    }
    expect(record).toContain('[redacted:credit_card]');
    expect(logs).toContain('[redacted:email]');
    expect(trail).toContain('[redacted:ssn]');
  });

  it('masks tool arguments and results in the stage log and the audit log', async () => {
    const tool = { type: 'function', name: 'lookup_customer', description: 'Find', parameters: { type: 'object', properties: { phone_number: { type: 'string' } }, required: ['phone_number'] } };
    await business('pii-tools', { session: { instructions: 'x', tools: [tool] }, output_filter: { redact: ['phone', 'email'] }, lookup_customer: { fields: ['name', 'email'] } });
    await svc.api('/v1/businesses/pii-tools/customers/+15550100123', { method: 'PUT', json: { name: 'Jane', email: 'jane@example.com' } });
    svc.fake.script.chat.push({ tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+15550100123' } }] }, { text: 'Found you.' });
    const call = await newCall(svc, 'pii-tools');
    const c = await connectCall(svc, call.id);
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look me up' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.done');
    c.close();
    const logs = JSON.stringify(await json(await svc.api(`/v1/calls/${call.id}/logs`)));
    const toolEntry = (await audit('pii-tools', '?type=tool.call')).data[0];
    expect(toolEntry.data.name).toBe('lookup_customer');
    expect(JSON.parse(toolEntry.data.arguments)).toEqual({ phone_number: '[redacted:phone]' });
    expect(toolEntry.data.output).toContain('[redacted:email]');
    for (const s of [logs, JSON.stringify(toolEntry)]) {
      expect(s).not.toContain('5550100123');
      expect(s).not.toContain('jane@example.com');
    }
  });
});

describe('audit log', () => {
  it('records config changes and key changes with the key that made them', async () => {
    await business('audit-co');
    await business('audit-co', { fallback_message: 'One moment.' });
    const { id } = await keyFor('audit-co');
    await svc.api(`/v1/businesses/audit-co/keys/${id}`, { method: 'DELETE' });
    const page = await audit('audit-co');
    expect(page.data.map((e: Json) => e.type)).toEqual(['business.created', 'business.updated', 'key.created', 'key.revoked']);
    expect(page.data.every((e: Json) => e.actor === 'admin')).toBe(true);
    expect(page.data[1].data.changed).toEqual(['fallback_message']);
    expect(page.data[2].data.key_id).toBe(id);
  });

  it('records a business key as the actor of what it did', async () => {
    await business('actor-co');
    const { id, key } = await keyFor('actor-co');
    const call = (await json(await svc.api('/v1/calls', { method: 'POST', key, json: { business_id: 'actor-co' } }))) as { id: string };
    await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE', key });
    const entries = (await audit('actor-co', `?call_id=${call.id}`)).data as Json[];
    expect(entries.map((e) => [e.type, e.actor])).toEqual([
      ['call.started', `key:${id}`],
      ['call.ended', `key:${id}`],
    ]);
    expect(entries[1]!.data.reason).toBe('hangup');
  });

  it('records a spoken turn: call start, user transcript, agent response and call end', async () => {
    await business('turn-co');
    const call = await newCall(svc, 'turn-co');
    const c = await connectCall(svc, call.id);
    c.sendBinary(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    c.close();
    await c.closed;
    await auditEntry(svc, 'turn-co', 'call.ended'); // written once the server has handled the close
    const types = ((await audit('turn-co', `?call_id=${call.id}`)).data as Json[]).map((e) => e.type);
    expect(types).toEqual(['call.started', 'transcript.user', 'response.agent', 'call.ended']);
  });

  it('pages through entries with a cursor and filters by time', async () => {
    await business('page-co');
    for (let i = 0; i < 4; i++) await svc.api('/v1/businesses/page-co/customers/+1555010010' + i, { method: 'PUT', json: { name: `C${i}` } });
    const first = await audit('page-co', '?type=customer.updated&limit=3');
    expect(first.data).toHaveLength(3);
    expect(first.has_more).toBe(true);
    const second = await audit('page-co', `?type=customer.updated&limit=3&after=${first.next_cursor}`);
    expect(second.data).toHaveLength(1);
    expect(second.has_more).toBe(false);
    const all = [...first.data, ...second.data] as Json[];
    expect(all.map((e) => e.data.phone_number)).toEqual(['+15550100100', '+15550100101', '+15550100102', '+15550100103']);
    const since = all[2]!.ts as number;
    const later = (await audit('page-co', `?type=customer.updated&since=${since}`)).data as Json[];
    expect(later.every((e) => e.ts >= since)).toBe(true);
    expect(later.length).toBeGreaterThanOrEqual(2);
    const until = new Date(all[0]!.ts as number).toISOString();
    const early = (await audit('page-co', `?until=${encodeURIComponent(until)}`)).data as Json[];
    expect(early.every((e) => e.ts <= (all[0]!.ts as number))).toBe(true);
    expect(early.map((e) => e.type)).toContain('business.created');
  });

  it('has no route that edits or deletes entries', async () => {
    await business('ro-co');
    expect((await svc.api('/v1/businesses/ro-co/audit', { method: 'DELETE' })).status).toBe(404);
    expect((await svc.api('/v1/businesses/ro-co/audit', { method: 'POST', json: {} })).status).toBe(404);
    expect((await audit('ro-co')).data).toHaveLength(1);
  });
});
