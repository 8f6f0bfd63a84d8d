/**
 * API details a newcomer meets first (issue 20): a 415 names the accepted Content-Types, a
 * not-found business names the body field that held it, and the OpenAPI document at /docs
 * describes every operation (a summary each; the audio routes' raw-audio request bodies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ workers: false });
  expect((await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS })).status).toBe(201);
});
afterAll(async () => {
  await svc?.stop();
});

type ErrorBody = { error: { type: string; code: string; message: string; param: string | null } };

describe('API details', () => {
  it('answers a JSON route sent XML with a 415 listing application/json', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', body: '<call/>', headers: { 'content-type': 'application/xml' } });
    expect(res.status).toBe(415);
    const { error } = (await res.json()) as ErrorBody;
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_media_type', param: 'content-type' });
    expect(error.message).toContain('application/json');
    expect(error.message).toContain("'application/xml'");
  });

  it('answers an audio route with no Content-Type with a 415 listing the audio types', async () => {
    const call = (await (await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } })).json()) as { id: string };
    const res = await svc.api(`/v1/calls/${call.id}/audio`, { method: 'POST', body: new Uint8Array(320) });
    expect(res.status).toBe(415);
    const { error } = (await res.json()) as ErrorBody;
    expect(error).toMatchObject({ code: 'unsupported_media_type', param: 'content-type' });
    for (const type of ['audio/pcm', 'application/octet-stream', 'audio/wav']) expect(error.message).toContain(type);
    expect(error.message).toContain("'none'");
    await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE' });
  });

  it('names business_id when POST /v1/calls names an unknown business', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'no-such-business' } });
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as ErrorBody;
    expect(error).toMatchObject({ type: 'not_found_error', code: 'business_not_found', param: 'business_id' });
  });

  it('gives every operation in the OpenAPI document a summary, and the audio routes a raw-audio body', async () => {
    const doc = (await (await svc.api('/docs/json', { key: null })).json()) as {
      info: { description: string };
      paths: Record<string, Record<string, { summary?: string; requestBody?: { content: Record<string, unknown> } }>>;
    };
    const missing: string[] = [];
    let operations = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        operations++;
        if (!op.summary) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(operations).toBeGreaterThan(20);
    expect(missing).toEqual([]);
    for (const path of ['/v1/calls/{id}/audio', '/v1/calls/{id}/turns']) {
      const content = doc.paths[path]?.post?.requestBody?.content ?? {};
      expect(Object.keys(content)).toEqual(expect.arrayContaining(['audio/pcm', 'application/octet-stream', 'audio/wav']));
    }
    expect(doc.info.description).toContain('docs/DESIGN.md');
  });
});
