import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ workers: false });
});
afterAll(async () => {
  await svc?.stop();
});

async function body(res: Response) {
  return (await res.json()) as Record<string, any>;
}

describe('businesses', () => {
  it('creates a business with the design defaults filled in', async () => {
    const res = await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
    expect(res.status).toBe(201);
    const b = await body(res);
    expect(b.mode).toBe('chained');
    expect(b.session).toMatchObject({
      voice: 'nova',
      temperature: 0.8,
      max_response_output_tokens: 4096,
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      input_audio_transcription: { model: 'whisper-1' },
      turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
      modalities: ['audio', 'text'],
      tools: [],
      tool_choice: 'auto',
    });
    expect(b.limits).toEqual({ max_concurrent_calls: 20, requests_per_minute: 120 });
    expect((await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS })).status).toBe(200);
  });

  it('defaults the voice to alloy in realtime mode and rejects a TTS-only voice there', async () => {
    const ok = await body(await svc.api('/v1/businesses/rt', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime' } }));
    expect(ok.session.voice).toBe('alloy');
    const res = await svc.api('/v1/businesses/rt2', {
      method: 'PUT',
      json: { mode: 'realtime', session: { instructions: 'x', voice: 'nova' } },
    });
    expect(res.status).toBe(400);
    const err = (await body(res)).error;
    expect(err.param).toBe('session.voice');
    expect(err.message).toContain('marin');
    expect((await svc.api('/v1/businesses/rt2')).status).toBe(404);
  });

  it('stores tools given in the chat-completions shape in the flat realtime shape', async () => {
    const tool = { type: 'function', function: { name: 'lookup_customer', description: 'Find', parameters: { type: 'object', properties: {} } } };
    const b = await body(
      await svc.api('/v1/businesses/tools', { method: 'PUT', json: { session: { instructions: 'x', tools: [tool] } } }),
    );
    expect(b.session.tools).toEqual([{ type: 'function', name: 'lookup_customer', description: 'Find', parameters: { type: 'object', properties: {} } }]);
  });

  it.each([
    [{ session: { instructions: 'x', voice: 'robot' } }, 'session.voice'],
    [{ session: { instructions: 'x', turn_detection: { threshold: 7 } } }, 'session.turn_detection.threshold'],
    [{ mode: 'psychic', session: { instructions: 'x' } }, 'mode'],
    [{ session: {} }, 'session.instructions'],
  ])('rejects an invalid body %j with a 400 naming the field and writes nothing', async (json, param) => {
    const res = await svc.api('/v1/businesses/bad', { method: 'PUT', json });
    expect(res.status).toBe(400);
    const err = (await body(res)).error;
    expect(err.type).toBe('invalid_request_error');
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
    expect((await svc.api('/v1/businesses/bad')).status).toBe(404);
  });

  it('answers 401 without a key, 401 with a wrong key and 404 for an unknown business', async () => {
    expect((await svc.api('/v1/businesses/acme', { key: null })).status).toBe(401);
    expect((await svc.api('/v1/businesses/acme', { key: 'nope' })).status).toBe(401);
    const res = await svc.api('/v1/businesses/ghost');
    expect(res.status).toBe(404);
    expect((await body(res)).error.code).toBe('business_not_found');
  });

  it('issues business keys shown once, stored hashed, scoped to their business and revocable', async () => {
    await svc.api('/v1/businesses/other', { method: 'PUT', json: SIMPLE_BUSINESS });
    const created = await body(await svc.api('/v1/businesses/acme/keys', { method: 'POST' }));
    expect(created.key).toMatch(/^vak_/);
    const stored = await svc.services.redis.keys(`${svc.config.redisPrefix}:apikey:*`);
    expect(stored.join()).not.toContain(created.key);
    expect((await svc.api('/v1/businesses/acme', { key: created.key })).status).toBe(200);
    expect((await svc.api('/v1/businesses/other', { key: created.key })).status).toBe(403);
    expect((await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS, key: created.key })).status).toBe(403);
    const list = await body(await svc.api('/v1/businesses', { key: created.key }));
    expect(list.data.map((b: { id: string }) => b.id)).toEqual(['acme']);
    expect((await svc.api(`/v1/businesses/acme/keys/${created.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await svc.api('/v1/businesses/acme', { key: created.key })).status).toBe(401);
  });

  it('keeps a customer directory keyed by E.164 numbers', async () => {
    const put = await svc.api('/v1/businesses/acme/customers/(555)%20010-0123', { method: 'PUT', json: { name: 'Jane Doe' } });
    expect(put.status).toBe(200);
    expect((await body(put)).phone_number).toBe('+15550100123');
    const got = await body(await svc.api('/v1/businesses/acme/customers/+15550100123'));
    expect(got.name).toBe('Jane Doe');
    expect((await svc.api('/v1/businesses/acme/customers/12', { method: 'PUT', json: { name: 'x' } })).status).toBe(400);
  });

  it('deletes a business', async () => {
    await svc.api('/v1/businesses/gone', { method: 'PUT', json: SIMPLE_BUSINESS });
    expect((await svc.api('/v1/businesses/gone', { method: 'DELETE' })).status).toBe(200);
    expect((await svc.api('/v1/businesses/gone')).status).toBe(404);
    expect((await svc.api('/v1/businesses/gone', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('calls', () => {
  it('creates a call with the effective session, a client secret and urls', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme', session: { voice: 'echo' }, metadata: { ref: 'x' } } });
    expect(res.status).toBe(201);
    const c = await body(res);
    expect(c.id).toMatch(/^call_/);
    expect(c.session.voice).toBe('echo');
    expect(c.client_secret.value).toMatch(/^ek_/);
    expect(c.client_secret.expires_at).toBeGreaterThan(Date.now() / 1000);
    expect(c.urls.stream).toBe(`${svc.wsUrl}/v1/calls/${c.id}/stream`);
    // The client secret reads its own call only.
    const own = await svc.api(`/v1/calls/${c.id}`, { key: c.client_secret.value });
    expect(own.status).toBe(200);
    expect((await body(own)).status).toBe('active');
    expect((await svc.api('/v1/calls', { key: c.client_secret.value })).status).toBe(403);
  });

  it('refuses overrides the business does not allow, naming the field', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme', session: { tools: [{ type: 'function', name: 'launch_rocket' }] } } });
    expect(res.status).toBe(400);
    expect((await body(res)).error.param).toBe('session.tools');
  });

  it('answers 404 for a call on an unknown business', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'ghost' } });
    expect(res.status).toBe(404);
  });

  it('hangs up a call and keeps its record', async () => {
    const c = await body(await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } }));
    const del = await body(await svc.api(`/v1/calls/${c.id}`, { method: 'DELETE' }));
    expect(del.status).toBe('ended');
    const got = await body(await svc.api(`/v1/calls/${c.id}`));
    expect(got.status).toBe('ended');
    const list = await body(await svc.api('/v1/calls?business_id=acme'));
    expect(list.data.some((x: { id: string }) => x.id === c.id)).toBe(true);
  });
});

describe('operations', () => {
  it('reports health, readiness with Redis and an OpenAPI document', async () => {
    expect((await svc.api('/healthz', { key: null })).status).toBe(200);
    const ready = await svc.api('/readyz', { key: null });
    expect(ready.status).toBe(503); // this test runs no workers, but WORKERS says stt,llm,tts
    expect((await body(ready)).missing_workers).toEqual(['stt', 'llm', 'tts']);
    const doc = await body(await svc.api('/docs/json', { key: null }));
    expect(Object.keys(doc.paths)).toContain('/v1/businesses/{id}');
  });
});
