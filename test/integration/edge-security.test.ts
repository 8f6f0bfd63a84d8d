/**
 * Security round two (issue 17) at the edge, with real sockets and Redis: authentication before
 * any body is read, per-address limits that X-Forwarded-For cannot dodge, keys in URLs, slow
 * bodies, closed Twilio routes, what lookup_customer and tool events reveal, a re-created
 * business, and input bounds (WAV headers, customer data, text items).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeWav } from '../../src/core/audio/formats';
import { createCall } from '../../src/gateway/call-factory';
import { defaultSecurityLimits } from '../../src/security';
import { HIDDEN_TOOL_OUTPUT } from '../../src/security/tool-output';
import { chatRequests, connectCall, newCall } from '../helpers/calls';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
let port: number;
beforeAll(async () => {
  svc = await startService();
  port = Number(new URL(svc.url).port);
  await svc.api('/v1/businesses/edge', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await svc?.stop();
});
afterEach(() => {
  svc.services.limits = defaultSecurityLimits();
  svc.fake.reset();
});

type Json = Record<string, any>;

/** A raw HTTP/1.1 client: sends `head`, then `body` in pieces, and collects what comes back. */
function rawRequest(head: string, firstBody = ''): { socket: Socket; response: Promise<string>; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  const response = new Promise<string>((resolve) => {
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n\r\n')) resolve(data);
    });
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(head + '\r\n\r\n' + firstBody);
  return { socket, response, closed };
}

describe('authentication before any work', () => {
  it('answers 401 to an unauthenticated 24 MiB upload before the body is sent', async () => {
    const call = await newCall(svc, 'edge');
    const size = 24 * 1024 * 1024;
    const { socket, response } = rawRequest(`POST /v1/calls/${call.id}/audio HTTP/1.1\r\nHost: x\r\nContent-Type: audio/pcm;rate=24000\r\nContent-Length: ${size}`, 'x'.repeat(64 * 1024));
    // The client stalls after 64 KiB: the answer must come without the other 23.9 MiB.
    const res = await response;
    expect(res).toMatch(/^HTTP\/1\.1 401/);
    expect(socket.bytesWritten).toBeLessThan(size / 10);
    socket.destroy();
  });

  it('does not parse a 20 MiB JSON body from a stranger: 401, not 413 or a parse', async () => {
    const { socket, response } = rawRequest(`POST /v1/calls/call_x/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}`, '{"type":"');
    expect(await response).toMatch(/^HTTP\/1\.1 401/);
    socket.destroy();
  });

  it('has no JSON parser on the audio routes (415)', async () => {
    const call = await newCall(svc, 'edge');
    const res = await svc.api(`/v1/calls/${call.id}/audio`, { method: 'POST', json: { audio: 'AAAA' } });
    expect(res.status).toBe(415);
  });

  it('resolves a key once per request', async () => {
    const key = ((await (await svc.api('/v1/businesses/edge/keys', { method: 'POST' })).json()) as Json).key as string;
    const store = svc.services.businesses;
    const original = store.resolveKey.bind(store);
    let lookups = 0;
    store.resolveKey = async (k) => {
      lookups++;
      return original(k);
    };
    try {
      expect((await svc.api('/v1/businesses/edge', { key })).status).toBe(200);
      expect(lookups).toBe(1);
    } finally {
      store.resolveKey = original;
    }
  });

  it('ends a request whose body does not arrive in time (408), however slowly it trickles', async () => {
    svc.services.limits.bodyTimeoutMs = 300;
    const { socket, response, closed } = rawRequest(
      `PUT /v1/businesses/edge/customers/+15550100999 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000`,
      '{"name":',
    );
    const trickle = setInterval(() => socket.write(' '), 50);
    try {
      expect(await response).toMatch(/^HTTP\/1\.1 408/);
      await closed;
    } finally {
      clearInterval(trickle);
    }
  });
});

describe('keys in URLs', () => {
  it('refuses the admin key or a business key in ?token= with 401 naming the Authorization header', async () => {
    const key = ((await (await svc.api('/v1/businesses/edge/keys', { method: 'POST' })).json()) as Json).key as string;
    for (const token of [ADMIN_KEY, key]) {
      const res = await svc.api(`/v1/businesses/edge/keys?token=${encodeURIComponent(token)}`, { method: 'POST', key: null });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json).error.message).toContain('Authorization header');
    }
  });

  it('refuses a business key in the WebSocket subprotocol, and still takes a client secret there', async () => {
    const key = ((await (await svc.api('/v1/businesses/edge/keys', { method: 'POST' })).json()) as Json).key as string;
    await expect(RealtimeClient.connect(`${svc.wsUrl}/v1/realtime?business_id=edge`, { protocols: ['realtime', `openai-insecure-api-key.${key}`] })).rejects.toThrow('HTTP 401');
    const call = await newCall(svc, 'edge');
    const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${call.id}/stream`, { protocols: ['realtime', `openai-insecure-api-key.${call.client_secret.value}`] });
    await c.waitFor('session.created');
    c.close();
  });
});

describe('rate limits by client address', () => {
  it('ignores a spoofed X-Forwarded-For: every request counts against the socket address', async () => {
    svc.services.limits.http.anonymousPerMinute = 5;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await svc.api('/v1/businesses', { key: null, headers: { 'x-forwarded-for': `203.0.113.${i + 10}` } });
      statuses.push(res.status);
    }
    // Earlier tests here spent some of this address's budget: at most 5 get through, then only 429s.
    const first429 = statuses.indexOf(429);
    expect(first429).toBeGreaterThanOrEqual(0);
    expect(first429).toBeLessThanOrEqual(5);
    expect(statuses.slice(first429).every((s) => s === 429)).toBe(true);
    expect(statuses.slice(0, first429).every((s) => s === 401)).toBe(true);
  });

  it('names rate-limit keys with fixed-length hashes, whatever the request sends', async () => {
    await svc.api('/v1/businesses', { key: `vak_${'x'.repeat(8000)}` });
    await svc.api(`/v1/calls/call_${'y'.repeat(60)}/events`, { key: ADMIN_KEY });
    const keys = await svc.services.redis.keys(`${svc.services.keys.rate('')}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.length).toBeLessThan(svc.services.keys.rate('').length + 60);
  });

  it('believes X-Forwarded-For only from the proxies TRUST_PROXY names', async () => {
    const proxied = await startService({ workers: false, env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      proxied.services.limits.http.anonymousPerMinute = 2;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await proxied.api('/v1/businesses', { key: null, headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } })).status);
      expect(statuses).toEqual([401, 401, 401, 401]); // four clients behind the trusted proxy
      for (let i = 0; i < 2; i++) await proxied.api('/v1/businesses', { key: null, headers: { 'x-forwarded-for': '198.51.100.77' } });
      expect((await proxied.api('/v1/businesses', { key: null, headers: { 'x-forwarded-for': '198.51.100.77' } })).status).toBe(429);
    } finally {
      await proxied.stop();
    }
  });
});

describe('Twilio routes without TWILIO_AUTH_TOKEN', () => {
  it('answer 403 naming TWILIO_AUTH_TOKEN, refuse the media stream, and start no call', async () => {
    const res = await fetch(`${svc.url}/v1/twilio/voice?business_id=edge`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'CallSid=CA123&From=%2B15550100123&To=%2B15550100000',
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as Json).error.message).toContain('TWILIO_AUTH_TOKEN');
    const ws = new WebSocket(`${svc.wsUrl}/v1/twilio/media-stream`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the media stream opened')));
      ws.once('error', reject);
    });
    expect(status).toBe(403);
    const calls = (await (await svc.api('/v1/calls?business_id=edge&limit=1000')).json()) as { data: { metadata: Json }[] };
    expect(calls.data.filter((c) => c.metadata.channel === 'twilio')).toHaveLength(0);
  });
});

describe('customer data', () => {
  const lookupTool = { type: 'function', name: 'lookup_customer', parameters: { type: 'object', properties: { phone_number: { type: 'string' } }, required: ['phone_number'] } };
  const customer = { name: 'Jane Doe', email: 'jane@example.com', notes: 'PRIVATE: owes 500', account_id: 'A-1' };

  async function lookupBusiness(id: string, extra: Json = {}) {
    const res = await svc.api(`/v1/businesses/${id}`, { method: 'PUT', json: { ...SIMPLE_BUSINESS, session: { instructions: 'x', tools: [lookupTool] }, ...extra } });
    expect(res.status).toBeLessThan(300);
    await svc.api(`/v1/businesses/${id}/customers/+15550100123`, { method: 'PUT', json: customer });
    await svc.api(`/v1/businesses/${id}/customers/+15550100777`, { method: 'PUT', json: { name: 'Other Person', notes: 'OTHER-PRIVATE' } });
  }

  async function lookup(c: RealtimeClient, phone: string) {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: phone } }] }, { text: 'ok' });
    const mark = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'who am I' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.done', mark);
    const done = c.events.slice(mark).find((e) => e.type === 'response.function_call.done')!;
    const modelGot = chatRequests(svc).at(-1)!.messages.filter((m) => m.role === 'tool').at(-1)!.content as string;
    return { clientSaw: done.output as string, modelGot: JSON.parse(modelGot) as Json };
  }

  it('returns only the listed fields to the model, and no tool output to the client by default', async () => {
    await lookupBusiness('cust-default');
    const call = await newCall(svc, 'cust-default');
    const c = await connectCall(svc, call.id);
    const { clientSaw, modelGot } = await lookup(c, '+15550100123');
    expect(modelGot).toEqual({ found: true, customer: { phone_number: '+15550100123', name: 'Jane Doe' } });
    expect(clientSaw).toBe(HIDDEN_TOOL_OUTPUT);
    c.close();
    // Nor through the call log the client secret can read; the business's own keys see it.
    const asClient = await (await svc.api(`/v1/calls/${call.id}/logs?token=${call.client_secret.value}`, { key: null })).text();
    expect(asClient).toContain('lookup_customer');
    expect(asClient).not.toContain('Jane Doe');
    expect(await (await svc.api(`/v1/calls/${call.id}/logs`)).text()).toContain('Jane Doe');
  });

  it('returns the fields the business lists, and the output to clients when expose_tool_output is set', async () => {
    await lookupBusiness('cust-fields', { lookup_customer: { fields: ['name', 'account_id'] }, expose_tool_output: true });
    const c = await connectCall(svc, (await newCall(svc, 'cust-fields')).id);
    const { clientSaw, modelGot } = await lookup(c, '+15550100123');
    expect(modelGot.customer).toEqual({ phone_number: '+15550100123', name: 'Jane Doe', account_id: 'A-1' });
    expect(JSON.parse(clientSaw)).toEqual(modelGot);
    c.close();
  });

  it('binds the lookup to the verified caller id on phone calls, and refuses it on calls without one', async () => {
    await lookupBusiness('cust-bound', { lookup_customer: { fields: ['name', 'notes'], caller_id_only: true } });
    // A phone call as the Twilio route starts it (the only way to set these metadata keys).
    const phone = await createCall(svc.services, { business_id: 'cust-bound', metadata: { channel: 'twilio', from: '+15550100123' } });
    const c = await connectCall(svc, phone.record.id);
    const { modelGot } = await lookup(c, '+15550100777'); // names someone else's number
    expect(modelGot.customer).toEqual({ phone_number: '+15550100123', name: 'Jane Doe', notes: customer.notes });
    c.close();
    const web = await connectCall(svc, (await newCall(svc, 'cust-bound')).id);
    const { modelGot: webGot } = await lookup(web, '+15550100777');
    expect(webGot.found).toBe(false);
    expect(JSON.stringify(webGot)).not.toContain('OTHER-PRIVATE');
    web.close();
    const spoof = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'cust-bound', metadata: { channel: 'twilio', from: '+15550100777' } } });
    expect(spoof.status).toBe(400);
  });
});

describe('a deleted business', () => {
  it('takes its calls, transcripts, audit log, keys and customers with it: a re-created id starts empty', async () => {
    await svc.api('/v1/businesses/phoenix', { method: 'PUT', json: SIMPLE_BUSINESS });
    const key = ((await (await svc.api('/v1/businesses/phoenix/keys', { method: 'POST' })).json()) as Json).key as string;
    await svc.api('/v1/businesses/phoenix/customers/+15550100123', { method: 'PUT', json: { name: 'Old Customer' } });
    const call = await newCall(svc, 'phoenix');
    svc.fake.script.chat.push({ text: 'Old answer.' });
    const c = await connectCall(svc, call.id);
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'OLD-SECRET-TRANSCRIPT' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.done');
    const closed = new Promise((r) => c.ws.once('close', r));
    expect((await svc.api('/v1/businesses/phoenix', { method: 'DELETE' })).status).toBe(200);
    await closed; // its live call was hung up

    expect((await svc.api('/v1/businesses/phoenix', { method: 'PUT', json: SIMPLE_BUSINESS })).status).toBe(201);
    const calls = (await (await svc.api('/v1/calls?business_id=phoenix')).json()) as Json;
    expect(calls.data).toEqual([]);
    expect((await svc.api(`/v1/calls/${call.id}`)).status).toBe(404);
    expect((await svc.api('/v1/businesses/phoenix/customers/+15550100123')).status).toBe(404);
    expect((await svc.api('/v1/businesses/phoenix', { key })).status).toBe(401);
    const audit = (await (await svc.api('/v1/businesses/phoenix/audit')).json()) as Json;
    expect(audit.data.map((e: Json) => e.type)).toEqual(['business.created']);
    expect(JSON.stringify(audit)).not.toContain('OLD-SECRET-TRANSCRIPT');
    const leftovers = await svc.services.redis.keys(`${svc.services.keys.call(call.id)}*`);
    expect(leftovers).toEqual([]);
  });
});

describe('input bounds', () => {
  it('refuses a WAV whose header claims a sample rate outside 8-48 kHz, or more than 600 s', async () => {
    const call = await newCall(svc, 'edge');
    const lie = encodeWav(new Int16Array(64 * 1024), 100); // 128 KiB "of 655 s"
    const res = await svc.api(`/v1/calls/${call.id}/audio`, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: new Uint8Array(lie) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.message).toContain('8000-48000 Hz');
    const long = encodeWav(new Int16Array(8_000 * 601), 8_000);
    const res2 = await svc.api(`/v1/calls/${call.id}/audio`, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: new Uint8Array(long) });
    expect(res2.status).toBe(400);
    expect(((await res2.json()) as Json).error.message).toContain('longer than 600 s');
  });

  it('answers 400, not 500, to deeply nested or oversized customer data', async () => {
    const deep = `{"name":"Deep","data":${'{"d":'.repeat(5_000)}1${'}'.repeat(5_000)}}`;
    const res = await svc.api('/v1/businesses/edge/customers/+15550100555', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: deep });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.message).toContain('nested deeper than');
    const big = await svc.api('/v1/businesses/edge/customers/+15550100555', { method: 'PUT', json: { name: 'Big', data: { blob: 'x'.repeat(20_000) } } });
    expect(big.status).toBe(400);
    const ok = await svc.api('/v1/businesses/edge/customers/+15550100555', { method: 'PUT', json: { name: 'Fine', data: { a: { b: { c: 1 } } } } });
    expect(ok.status).toBe(200);
  });

  it('caps one text item and what one call may store over HTTP events, with clear errors', async () => {
    const call = await newCall(svc, 'edge');
    const item = (text: string) => ({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
    const huge = await svc.api(`/v1/calls/${call.id}/events`, { method: 'POST', json: item('x'.repeat(40_000)) });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as Json).error).toMatchObject({ code: 'text_too_large', param: 'item.content[0].text' });
    svc.services.limits.content.maxCallTextBytes = 1_000;
    expect((await svc.api(`/v1/calls/${call.id}/events`, { method: 'POST', json: item('a'.repeat(600)) })).status).toBe(202);
    const over = await svc.api(`/v1/calls/${call.id}/events`, { method: 'POST', json: item('b'.repeat(600)) });
    expect(over.status).toBe(413);
    expect(((await over.json()) as Json).error.code).toBe('call_text_limit_exceeded');
  });
});
