/**
 * Chained mode's conversation items as OpenAI's Realtime API has them: conversation.item.retrieve,
 * delete and truncate (events, errors, and the history the LLM then sees), and a client tool's
 * function call ending the response, so one user turn gets one answer whether the client follows
 * its function_call_output with response.create or not.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { chatRequests, connectCall, newCall, spokenTurn } from '../helpers/calls';
import type { RealtimeClient, WireEvent } from '../helpers/realtime-client';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;
/** A webhook tool that answers when the test says so (so a response is still open at a known point). */
let hook: Server;
let webhookCalled: Promise<(body: string) => void>;
let onWebhook: (release: (body: string) => void) => void;
const armWebhook = () => (webhookCalled = new Promise((resolve) => (onWebhook = resolve)));
beforeAll(async () => {
  svc = await startService({ env: { WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8' } });
  hook = createServer((req, res: ServerResponse) => {
    req.resume();
    req.on('end', () => onWebhook((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body)));
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/stock`;
  const locate = { type: 'function', name: 'get_location', description: 'Where the caller is.', parameters: { type: 'object', properties: {} } };
  const stock = { type: 'function', name: 'check_stock', description: 'Stock of an item.', parameters: { type: 'object', properties: { item: { type: 'string' } } } };
  const res = await svc.api('/v1/businesses/items', {
    method: 'PUT',
    json: {
      mode: 'chained',
      session: { instructions: 'Help customers.', tools: [locate, stock] },
      tool_handlers: { get_location: { type: 'client', timeout_ms: 5000 }, check_stock: { type: 'webhook', url: hookUrl, secret: 'webhook-secret-123', timeout_ms: 10_000 } },
    },
  });
  expect(res.status).toBeLessThan(300);
});
afterAll(async () => {
  await svc?.stop();
  hook?.close();
});
beforeEach(() => svc.fake.reset());

const connect = async (dialect: 'beta' | 'ga' = 'beta') => connectCall(svc, (await newCall(svc, 'items')).id, dialect);
const isAnswer = (e: WireEvent) => e.type === 'response.done' && e.response.output.some((i: WireEvent) => i.type === 'message');
const lastChat = () => chatRequests(svc).at(-1)!.messages;

async function say(c: RealtimeClient, text: string): Promise<string> {
  const mark = c.events.length;
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
  // GA names it conversation.item.added.
  return (await c.waitFor((e) => e.type === 'conversation.item.created' || e.type === 'conversation.item.added', mark)).item.id as string;
}

async function answer(c: RealtimeClient): Promise<WireEvent> {
  const mark = c.events.length;
  c.send({ type: 'response.create' });
  return c.waitFor((e) => e.type === 'response.done', mark);
}

describe('conversation.item.retrieve / delete / truncate in chained mode', () => {
  it("answers an unknown item id with OpenAI's errors, and the call goes on", async () => {
    const c = await connect();
    const cases = [
      ['conversation.item.retrieve', 'item_retrieve_invalid_item_id', 'retrieving'],
      ['conversation.item.delete', 'item_delete_invalid_item_id', 'deleting'],
      ['conversation.item.truncate', 'item_truncate_invalid_item_id', 'truncating'],
    ] as const;
    for (const [type, code, doing] of cases) {
      const mark = c.events.length;
      c.send({ type, event_id: `ev_${code}`, item_id: 'item_nope', content_index: 0, audio_end_ms: 0 });
      const err = await c.waitFor('error', mark);
      expect(err.error).toMatchObject({ type: 'invalid_request_error', code, message: `Error ${doing} item: the item with id 'item_nope' does not exist.`, event_id: `ev_${code}` });
    }
    await say(c, 'Still there?');
    expect((await answer(c)).response.status).toBe('completed');
    c.close();
  });

  it('retrieves a spoken user item with its transcript and audio (GA), and a finished answer', async () => {
    const c = await connect('ga');
    svc.fake.script.transcripts.push('What are your opening hours?');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done');
    const userId = (await c.waitFor('conversation.item.input_audio_transcription.completed')).item_id as string;
    c.send({ type: 'conversation.item.retrieve', item_id: userId });
    const user = await c.waitFor((e) => e.type === 'conversation.item.retrieved' && e.item.id === userId);
    expect(user.item).toMatchObject({ type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: 'What are your opening hours?' }] });
    // The caller's audio back in the session's format (pcm16, 24 kHz): about as long as what was said.
    const bytes = Buffer.from(user.item.content[0].audio, 'base64').length;
    expect(bytes).toBeGreaterThan(48 * 500);
    expect(bytes).toBeLessThan(pcm16ToBytes(spokenTurn()).length);

    const answerId = done.response.output[0].id as string;
    c.send({ type: 'conversation.item.retrieve', item_id: answerId });
    const said = await c.waitFor((e) => e.type === 'conversation.item.retrieved' && e.item.id === answerId);
    expect(said.item).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_audio', transcript: 'You said: What are your opening hours. How can I help further?' }] });
    expect(c.types()).not.toContain('error');
    c.close();
  });

  it('deletes an item from the history the model sees, and a deleted item cannot be retrieved', async () => {
    const c = await connect();
    const secret = await say(c, 'My PIN is 4321.');
    await say(c, 'What time do you close?');
    c.send({ type: 'conversation.item.delete', item_id: secret });
    expect((await c.waitFor('conversation.item.deleted')).item_id).toBe(secret);
    expect((await answer(c)).response.status).toBe('completed');
    const said = lastChat().map((m) => m.content).join('\n');
    expect(said).toContain('What time do you close?');
    expect(said).not.toContain('4321');

    const mark = c.events.length;
    c.send({ type: 'conversation.item.retrieve', item_id: secret });
    expect((await c.waitFor('error', mark)).error.code).toBe('item_retrieve_invalid_item_id');
    c.close();
  });

  it('truncates a finished answer to the words heard by audio_end_ms; past its audio or on a user item it is an error', async () => {
    const c = await connect();
    await say(c, 'Tell me about returns');
    const done = await answer(c);
    const item = done.response.output[0] as WireEvent;
    const full = 'You said: Tell me about returns. How can I help further?';
    expect(item.content[0].transcript).toBe(full);

    let mark = c.events.length;
    c.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: 600_000 });
    expect((await c.waitFor('error', mark)).error.message).toMatch(/^Audio content of \d+ms is already shorter than 600000ms$/);

    const userId = c.events.find((e) => e.type === 'conversation.item.created' && e.item.role === 'user')!.item.id;
    mark = c.events.length;
    c.send({ type: 'conversation.item.truncate', item_id: userId, content_index: 0, audio_end_ms: 0 });
    expect((await c.waitFor('error', mark)).error).toMatchObject({ code: null, message: 'Only model output audio messages can be truncated' });

    // Cut inside the first sentence's audio: the model keeps nothing past what was heard.
    mark = c.events.length;
    c.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: 200 });
    expect(await c.waitFor('conversation.item.truncated', mark)).toMatchObject({ item_id: item.id, audio_end_ms: 200 });
    c.send({ type: 'conversation.item.retrieve', item_id: item.id });
    const cut = ((await c.waitFor('conversation.item.retrieved', mark)).item.content[0].transcript as string);
    expect(full.startsWith(cut)).toBe(true);
    expect(cut).not.toContain('How can I help further');

    await say(c, 'And exchanges?');
    await answer(c);
    const history = lastChat().filter((m) => m.role === 'assistant').map((m) => m.content ?? '');
    expect(history.some((t) => t.includes('How can I help further'))).toBe(false);
    c.close();
  });
});

describe("a client tool's call ends the response, as in OpenAI's API", () => {
  async function callTool(c: RealtimeClient) {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'get_location', arguments: {} }] });
    await say(c, 'Where am I?');
    const first = await answer(c);
    expect(first.response.output.map((i: WireEvent) => i.type)).toEqual(['function_call']);
    expect(first.response.status).toBe('completed');
    return first.response.output[0].call_id as string;
  }

  it('function_call_output + response.create: exactly one answer, which used the output', async () => {
    const c = await connect('ga');
    const callId = await callTool(c);
    const mark = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"city":"Lisbon"}' } });
    c.send({ type: 'response.create' });
    const done = await c.waitFor(isAnswer, mark);
    expect(done.response.output[0].content[0].transcript).toContain('Lisbon');
    // Another turn, so anything a second answer to the tool would have sent is in before we count.
    await say(c, 'Thanks');
    await answer(c);
    expect(c.events.slice(mark).filter((e) => e.type === 'response.created')).toHaveLength(2);
    expect(c.types()).not.toContain('error');
    c.close();
  });

  it('response.create sent before the function call\'s response is done (a business tool of the same turn still running): one answer, no error', async () => {
    const c = await connect();
    armWebhook();
    svc.fake.script.chat.push({ tool_calls: [{ name: 'get_location', arguments: {} }, { name: 'check_stock', arguments: { item: 'kettle' } }] });
    await say(c, 'Where am I, and do you have kettles?');
    c.send({ type: 'response.create' });
    const release = await webhookCalled;
    const call = await c.waitFor((e) => e.type === 'response.output_item.done' && e.item.name === 'get_location');
    // As the Agents SDK does: output and response.create the moment the call is complete.
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: call.item.call_id, output: '{"city":"Porto"}' } });
    c.send({ type: 'response.create' });
    await c.waitFor((e) => e.type === 'conversation.item.created' && e.item.type === 'function_call_output');
    release('{"in_stock":3}');
    const first = await c.waitFor('response.done');
    expect(first.response.output.map((i: WireEvent) => i.name)).toEqual(['get_location', 'check_stock']);
    const done = await c.waitFor(isAnswer);
    expect(done.response.status).toBe('completed');
    expect(c.events.filter((e) => e.type === 'response.created')).toHaveLength(2);
    expect(c.types()).not.toContain('error');
    // The answer's model request had both results: the client's and the business tool's.
    const tools = lastChat().filter((m) => m.role === 'tool').map((m) => m.content);
    expect(tools.sort()).toEqual(['{"city":"Porto"}', '{"in_stock":3}']);
    c.close();
  });

  it('function_call_output alone starts no response (as OpenAI); the next response sees it', async () => {
    const c = await connect();
    const callId = await callTool(c);
    const mark = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"city":"Faro"}' } });
    await c.waitFor('conversation.item.created', mark);
    await say(c, 'So?');
    const done = await answer(c);
    expect(done.response.status).toBe('completed');
    // One response after the output (the one asked for), and the model had the tool's answer.
    expect(c.events.slice(mark).filter((e) => e.type === 'response.created')).toHaveLength(1);
    const messages = lastChat();
    expect(messages.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: callId, content: '{"city":"Faro"}' });
    expect(messages.find((m) => m.tool_calls)?.tool_calls).toHaveLength(1);
    c.close();
  });

  it('a function call the client never answers is left out of what the model sees next', async () => {
    const c = await connect();
    await callTool(c);
    await say(c, 'Never mind, what are your hours?');
    expect((await answer(c)).response.status).toBe('completed');
    const messages = lastChat();
    expect(messages.some((m) => m.tool_calls || m.role === 'tool')).toBe(false);
    c.close();
  });
});
