/**
 * Webhook SSRF (issue 17, item 1) against real local listeners: refused destinations in every
 * notation, at save time and at request time (records saved before the rule, DNS answers), no
 * redirects followed, failed bodies never passed on, response size capped. Each refused case
 * must leave the listener with 0 requests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Business } from '../../src/contracts/business';
import { parseCidrList } from '../../src/core/net/destination';
import { chatRequests, connectCall, newCall } from '../helpers/calls';
import type { RealtimeClient } from '../helpers/realtime-client';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
let hook: Server;
let port: number;
const arrived: { url: string; headers: IncomingHttpHeaders }[] = [];
/** What the listener answers, by path. */
const answers: Record<string, (res: import('node:http').ServerResponse) => void> = {
  '/ok': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
  '/broken': (res) => res.writeHead(500).end('INTERNAL-SECRET-PAGE redis password hunter2'),
  '/huge': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ blob: 'x'.repeat(1024 * 1024) })),
  '/redirect': (res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/internal` }).end('moved'),
  '/redirect-metadata': (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/internal': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"internal":"INTERNAL-SECRET-PAGE"}'),
};

beforeAll(async () => {
  svc = await startService();
  hook = createServer((req, res) => {
    arrived.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => (answers[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  port = (hook.address() as AddressInfo).port;
});
afterAll(async () => {
  await svc?.stop();
  hook?.close();
});
afterEach(() => {
  svc.config.webhookAllowCidrs = [];
  svc.fake.reset();
  arrived.length = 0;
});

const tool = (name: string) => ({ type: 'function', name, parameters: { type: 'object', properties: {} } });
const webhook = (url: string) => ({ type: 'webhook', url, timeout_ms: 2_000, secret: 'whsec-123' });

function putBusiness(id: string, urls: string[]) {
  return svc.api(`/v1/businesses/${id}`, {
    method: 'PUT',
    json: {
      ...SIMPLE_BUSINESS,
      session: { instructions: 'x', tools: urls.map((_, i) => tool(`hook_${i}`)) },
      tool_handlers: Object.fromEntries(urls.map((u, i) => [`hook_${i}`, webhook(u)])),
      expose_tool_output: true,
    },
  });
}

/** Writes webhook URLs straight into the stored record: one saved before the rule, or under an allow list since removed. */
async function storeBusinessBypassingValidation(id: string, urls: string[]): Promise<void> {
  expect((await putBusiness(id, urls.map(() => 'https://example.com/hook'))).status).toBe(201);
  const b = (await svc.services.businesses.get(id)) as Business;
  urls.forEach((u, i) => (b.tool_handlers[`hook_${i}`] = { ...webhook(u), type: 'webhook' } as Business['tool_handlers'][string]));
  await svc.services.businesses.put(b);
}

/** Runs every hook_N tool in one model turn; returns the outputs the model was given. */
async function runTools(businessId: string, n: number): Promise<string[]> {
  svc.fake.script.chat.push({ tool_calls: Array.from({ length: n }, (_, i) => ({ name: `hook_${i}`, arguments: {} })) }, { text: 'Done.' });
  const c: RealtimeClient = await connectCall(svc, (await newCall(svc, businessId)).id);
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] } });
  c.send({ type: 'response.create' });
  await c.waitFor('response.done'); // one response: the tool calls, then the answer that uses them
  c.close();
  const toolMsgs = chatRequests(svc).flatMap((r) => r.messages).filter((m) => m.role === 'tool');
  return toolMsgs.map((m) => String(m.content));
}

const refusedNotations = () => [
  `http://127.0.0.1:${port}/ok`,
  `http://localhost:${port}/ok`,
  `http://LOCALHOST.:${port}/ok`,
  `http://[::1]:${port}/ok`,
  `http://0.0.0.0:${port}/ok`,
  `http://2130706433:${port}/ok`,
  `http://0x7f.1:${port}/ok`,
  `http://017700000001:${port}/ok`,
  `http://127.1:${port}/ok`,
  `http://[::ffff:127.0.0.1]:${port}/ok`,
  `http://[::ffff:7f00:1]:${port}/ok`,
  'http://169.254.169.254/latest/meta-data/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://10.0.0.1/',
  'http://192.168.1.1/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://224.0.0.1/',
];

describe('webhook destinations at save time', () => {
  it('refuses loopback, private, link-local, unique-local, multicast, unspecified and metadata URLs in every notation', async () => {
    for (const url of refusedNotations()) {
      const res = await putBusiness('ssrf-save', [url]);
      const body = (await res.json()) as { error: { code: string; param: string; message: string } };
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(body.error).toMatchObject({ code: 'webhook_url_refused', param: 'tool_handlers.hook_0.url' });
    }
    expect(arrived).toHaveLength(0);
  });

  it('admits the ranges WEBHOOK_ALLOW_CIDRS lists, but never metadata addresses', async () => {
    svc.config.webhookAllowCidrs = parseCidrList(['127.0.0.0/8', '169.254.0.0/16']).cidrs;
    expect((await putBusiness('ssrf-allowed', [`http://127.0.0.1:${port}/ok`])).status).toBe(201);
    expect((await putBusiness('ssrf-allowed', ['http://169.254.169.254/'])).status).toBe(400);
    expect((await putBusiness('ssrf-allowed', ['http://metadata.google.internal/'])).status).toBe(400);
    expect((await putBusiness('ssrf-allowed', ['http://10.0.0.1/'])).status).toBe(400);
  });
});

describe('webhook destinations at request time', () => {
  it('refuses a stored record pointing at internal addresses, and no request arrives', async () => {
    const urls = refusedNotations().slice(0, 11);
    await storeBusinessBypassingValidation('ssrf-stored', urls);
    const outputs = await runTools('ssrf-stored', urls.length);
    expect(outputs).toHaveLength(urls.length);
    for (const o of outputs) expect(o).toContain('refused');
    expect(arrived).toHaveLength(0);
  });

  it('checks the addresses DNS returns, at connect time: a name resolving to loopback is refused', async () => {
    // With a private range admitted, local names pass the save-time name check; DNS decides.
    svc.config.webhookAllowCidrs = parseCidrList(['10.0.0.0/8']).cidrs;
    expect((await putBusiness('ssrf-dns', [`http://localhost:${port}/ok`])).status).toBe(201);
    const [out] = await runTools('ssrf-dns', 1);
    expect(out).toContain("resolves to a refused address");
    expect(arrived).toHaveLength(0);
  });

  it('reaches an admitted private listener (the control case)', async () => {
    svc.config.webhookAllowCidrs = parseCidrList(['127.0.0.0/8']).cidrs;
    expect((await putBusiness('ssrf-ok', [`http://localhost:${port}/ok`])).status).toBe(201);
    const [out] = await runTools('ssrf-ok', 1);
    expect(JSON.parse(out!)).toEqual({ ok: true });
    expect(arrived.map((a) => a.url)).toEqual(['/ok']);
  });

  it('follows no redirect (to the same host or to metadata), and hands the model no body', async () => {
    svc.config.webhookAllowCidrs = parseCidrList(['127.0.0.0/8']).cidrs;
    expect((await putBusiness('ssrf-redirect', [`http://127.0.0.1:${port}/redirect`, `http://127.0.0.1:${port}/redirect-metadata`])).status).toBe(201);
    const outputs = await runTools('ssrf-redirect', 2);
    for (const o of outputs) {
      expect(o).toContain('redirects are not followed');
      expect(o).not.toContain('INTERNAL-SECRET-PAGE');
    }
    expect(arrived.map((a) => a.url).sort()).toEqual(['/redirect', '/redirect-metadata']);
  });

  it('never passes a non-2xx body to the model, the client or the call log, and caps the response size', async () => {
    svc.config.webhookAllowCidrs = parseCidrList(['127.0.0.0/8']).cidrs;
    expect((await putBusiness('ssrf-bodies', [`http://127.0.0.1:${port}/broken`, `http://127.0.0.1:${port}/huge`])).status).toBe(201);
    const outputs = await runTools('ssrf-bodies', 2);
    const broken = outputs.find((o) => o.includes('HTTP 500'))!;
    expect(broken).toBeDefined();
    expect(broken).not.toContain('INTERNAL-SECRET-PAGE');
    expect(outputs.some((o) => o.includes('response larger than'))).toBe(true);
    const calls = (await (await svc.api('/v1/calls?business_id=ssrf-bodies')).json()) as { data: { id: string }[] };
    const logs = await (await svc.api(`/v1/calls/${calls.data[0]!.id}/logs`)).text();
    expect(logs).not.toContain('INTERNAL-SECRET-PAGE');
    expect(logs).not.toContain('xxxxxxxxxxxxxxxx');
  });
});
