/**
 * Tools and graceful failure in chained mode: builtin, webhook and client tools, parallel calls,
 * invalid arguments, provider retries and the spoken fallback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { signWebhook } from '../../src/tools/webhook';
import { chatRequests, connectCall, newCall, spokenTurn } from '../helpers/calls';
import type { RealtimeClient } from '../helpers/realtime-client';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;
let hook: Server;
let hookUrl: string;
const hookCalls: { headers: Record<string, unknown>; body: string }[] = [];
const SECRET = 'webhook-secret-123';

beforeAll(async () => {
  // The webhook listens on 127.0.0.1: admitted the way a self-hosted deployment would.
  svc = await startService({ env: { WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8' } });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hookCalls.push({ headers: req.headers, body });
      if (req.url === '/slow') return; // never answers: the handler's timeout must fire
      if (req.url === '/broken') return void res.writeHead(500).end('boom');
      const [t, v1] = String(req.headers['x-signature']).split(',').map((p) => p.split('=')[1]);
      if (signWebhook(SECRET, Number(t), body) !== v1) return void res.writeHead(401).end('bad signature');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'shipped', eta_days: 2 }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  const tools = ((await (await svc.api('/v1/tools/customer_support')).json()) as { data: object[] }).data;
  const orderTool = { type: 'function', name: 'order_status', description: 'Order status', parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] } };
  const locate = { type: 'function', name: 'get_location', parameters: { type: 'object', properties: {} } };
  await svc.api('/v1/businesses/shop', {
    method: 'PUT',
    json: {
      session: { instructions: 'Help customers.', tools: [...tools, orderTool, locate] },
      tool_handlers: {
        lookup_customer: 'builtin',
        create_ticket: 'builtin',
        order_status: { type: 'webhook', url: `${hookUrl}/orders`, secret: SECRET, timeout_ms: 500 },
        get_location: { type: 'client', timeout_ms: 5000 },
      },
      fallback_message: 'Sorry, I am having trouble right now.',
      expose_tool_output: true, // these tests read the outputs the client is sent
    },
  });
  await svc.api('/v1/businesses/shop/customers/+15550100123', { method: 'PUT', json: { name: 'Jane Doe', account_id: 'A-1001' } });
});
afterAll(async () => {
  await svc?.stop();
  hook?.close();
});
beforeEach(() => {
  svc.fake.reset();
  hookCalls.length = 0;
});

async function ask(c: RealtimeClient) {
  const mark = c.events.length;
  c.appendAudio(pcm16ToBytes(spokenTurn()));
  const done = await c.waitFor('response.done', mark);
  return { done, events: c.events.slice(mark) };
}

const toolMessages = () => chatRequests(svc).at(-1)!.messages.filter((m) => m.role === 'tool');

describe('tools in chained mode', () => {
  it('runs a builtin lookup and speaks the answer, with the function call events in order', async () => {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '(555) 010-0123' } }] });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { done, events } = await ask(c);
    expect(done.response.status).toBe('completed');
    const types = events.map((e) => e.type);
    const order = ['response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.function_call.done', 'response.audio.delta', 'response.done'];
    const idx = order.map((t) => types.indexOf(t));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    const fc = events.find((e) => e.type === 'response.function_call.done')!;
    expect(fc).toMatchObject({ name: 'lookup_customer' });
    expect(JSON.parse(fc.output)).toMatchObject({ found: true, customer: { name: 'Jane Doe' } });
    expect(typeof fc.duration_ms).toBe('number');
    // beta: no name on arguments.done; the result went back to the model
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')!.name).toBeUndefined();
    expect(toolMessages()).toHaveLength(1);
    expect(done.response.output.map((o: { type: string }) => o.type)).toEqual(['function_call', 'message']);
    const logs = (await (await svc.api(`/v1/calls/${c.events[0]!.session.id.replace('sess_', 'call_')}/logs`)).json()) as { data: { stage: string; event: string }[] };
    expect(logs.data.filter((e) => e.stage === 'tool').map((e) => e.event)).toEqual(['started', 'completed']);
    c.close();
  });

  it('joins what the agent said before a tool round and after it with a space', async () => {
    svc.fake.script.chat.push({ text: 'One moment.', tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+15550100123' } }] }, { text: 'I found you.' });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { events } = await ask(c);
    expect(events.find((e) => e.type === 'response.audio_transcript.done')!.transcript).toBe('One moment. I found you.');
    c.close();
  });

  it('runs several tool calls of one model turn in parallel', async () => {
    svc.fake.script.chat.push({
      tool_calls: [
        { name: 'lookup_customer', arguments: { phone_number: '+15550100123' } },
        { name: 'create_ticket', arguments: { summary: 'Broken blender', priority: 'high' } },
      ],
    });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { events } = await ask(c);
    const done = events.filter((e) => e.type === 'response.function_call.done');
    expect(done.map((e) => e.name).sort()).toEqual(['create_ticket', 'lookup_customer']);
    expect(toolMessages()).toHaveLength(2);
    expect(JSON.parse(done.find((e) => e.name === 'create_ticket')!.output).ticket_id).toMatch(/^tkt_/);
    c.close();
  });

  it('gives the model an error result for invalid arguments or an unknown tool, and the call goes on', async () => {
    svc.fake.script.chat.push({
      tool_calls: [
        { name: 'lookup_customer', arguments: { phone: 'x' } },
        { name: 'launch_rocket', arguments: {} },
        { name: 'lookup_customer', arguments: '{not json' },
      ],
    });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { done, events } = await ask(c);
    expect(done.response.status).toBe('completed');
    const outputs = events.filter((e) => e.type === 'response.function_call.done').map((e) => JSON.parse(e.output).error as string);
    expect(outputs.some((o) => o.includes("Invalid arguments for 'lookup_customer'"))).toBe(true);
    expect(outputs.some((o) => o.includes("Unknown tool 'launch_rocket'"))).toBe(true);
    expect(outputs.some((o) => o.includes('not valid JSON'))).toBe(true);
    c.close();
  });

  it('posts webhook tools signed with HMAC-SHA256 and returns the response body', async () => {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'order_status', arguments: { order_id: 'o-42' } }] });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { events } = await ask(c);
    const fc = events.find((e) => e.type === 'response.function_call.done')!;
    expect(JSON.parse(fc.output)).toEqual({ status: 'shipped', eta_days: 2 });
    const body = JSON.parse(hookCalls[0]!.body);
    expect(body).toMatchObject({ tool: 'order_status', arguments: { order_id: 'o-42' }, business_id: 'shop' });
    // Names the run, so a repeat after a worker died mid-request can be recognised.
    expect(hookCalls[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f]{32}$/);
    c.close();
  });

  it('turns a webhook timeout or a non-2xx answer into an error result', async () => {
    const put = async (path: string) => {
      const b = (await (await svc.api('/v1/businesses/shop')).json()) as Record<string, any>;
      b.tool_handlers.order_status = { type: 'webhook', url: `${hookUrl}${path}`, secret: SECRET, timeout_ms: 300 };
      const { id: _id, created_at: _c, updated_at: _u, ...input } = b;
      expect((await svc.api('/v1/businesses/shop2', { method: 'PUT', json: input })).status).toBeLessThan(300);
    };
    for (const [path, expected] of [['/slow', 'timed out after 300 ms'], ['/broken', 'HTTP 500']] as const) {
      await put(path);
      svc.fake.script.chat.push({ tool_calls: [{ name: 'order_status', arguments: { order_id: 'o-1' } }] });
      const c = await connectCall(svc, (await newCall(svc, 'shop2')).id);
      const { done, events } = await ask(c);
      expect(done.response.status).toBe('completed');
      expect(events.find((e) => e.type === 'response.function_call.done')!.output).toContain(expected);
      c.close();
    }
  });

  it('signs so that a receiver with another secret rejects the request', () => {
    const body = '{"a":1}';
    expect(signWebhook(SECRET, 1700000000, body)).not.toBe(signWebhook('other-secret', 1700000000, body));
    expect(signWebhook(SECRET, 1700000000, body)).toBe(signWebhook(SECRET, 1700000000, body));
  });

  it('round-trips a client tool over the WebSocket', async () => {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'get_location', arguments: {} }] });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const args = await c.waitFor('response.function_call_arguments.done');
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: args.call_id, output: '{"city":"Lisbon"}' } });
    c.send({ type: 'response.create' }); // as in OpenAI's API, the function call ended the first response
    const done = await c.waitFor((e) => e.type === 'response.done' && e.response.output.some((i: { type: string }) => i.type === 'message'));
    expect(done.response.status).toBe('completed');
    expect(toolMessages()[0]!.content).toBe('{"city":"Lisbon"}');
    expect(c.types()).not.toContain('error');
    c.close();
  });

  it('hangs up after the goodbye when the model calls end_call', async () => {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'end_call', arguments: { reason: 'caller is done' } }] }, { text: 'Goodbye.' });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const { done } = await ask(c);
    expect(done.response.status).toBe('completed');
    expect((await c.closed).reason).toBe('end_call');
  });
});

describe('provider failures', () => {
  it('retries a 429 twice and then answers normally', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 429, times: 2 });
    const call = await newCall(svc, 'shop');
    const c = await connectCall(svc, call.id);
    const { done } = await ask(c);
    expect(done.response.status).toBe('completed');
    const logs = (await (await svc.api(`/v1/calls/${call.id}/logs`)).json()) as { data: { stage: string; event: string }[] };
    expect(logs.data.filter((e) => e.stage === 'llm' && e.event === 'retry')).toHaveLength(2);
    c.close();
  });

  it('speaks the fallback message when the LLM fails for good, and the next turn works', async () => {
    svc.fake.script.failures.push({ endpoint: 'chat', status: 500, times: 4 });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const first = await ask(c);
    expect(first.events.some((e) => e.type === 'error' && e.error.code === 'turn_failed')).toBe(true);
    const said = first.events.find((e) => e.type === 'response.audio_transcript.done')!;
    expect(said.transcript).toBe('Sorry, I am having trouble right now.');
    expect(first.events.some((e) => e.type === 'response.audio.delta')).toBe(true);
    const second = await ask(c);
    expect(second.done.response.status).toBe('completed');
    expect(second.events.find((e) => e.type === 'response.audio_transcript.done')!.transcript).toContain('You said');
    c.close();
  });

  it('plays the cached fallback message when the LLM and TTS are both down', async () => {
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    // A first failure with TTS up synthesises the fallback message once, and caches it.
    svc.fake.script.failures.push({ endpoint: 'chat', status: 500, times: 4 });
    await ask(c);
    svc.fake.script.failures.push({ endpoint: 'chat', status: 500, times: 4 }, { endpoint: 'speech', status: 500, times: 100 });
    const { done, events } = await ask(c);
    expect(done.response.status).toBe('completed');
    expect(events.find((e) => e.type === 'response.audio_transcript.done')!.transcript).toBe('Sorry, I am having trouble right now.');
    const bytes = events.filter((e) => e.type === 'response.audio.delta').reduce((n, e) => n + Buffer.from(e.delta, 'base64').length, 0);
    expect(bytes).toBe('Sorry, I am having trouble right now.'.length * 40 * 48); // the fake's 40 ms per character
    expect(events.some((e) => e.type === 'error' && e.error.code === 'tts_failed')).toBe(false);
    c.close();
  });

  it('sends the words as an error event when no audio can be made, and the next turn speaks again', async () => {
    svc.fake.script.failures.push({ endpoint: 'speech', status: 500, times: 100 });
    const c = await connectCall(svc, (await newCall(svc, 'shop')).id);
    const first = await ask(c);
    expect(first.done.response.status).toBe('completed');
    const errors = first.events.filter((e) => e.type === 'error' && e.error.code === 'tts_failed').map((e) => e.error.message as string);
    expect(errors.join(' ')).toContain('You said');
    svc.fake.script.failures.length = 0;
    const second = await ask(c);
    expect(second.events.some((e) => e.type === 'response.audio.delta')).toBe(true);
    c.close();
  });
});
