/** Call lifecycle routes: create, read, list, hang up (docs/DESIGN.md §5 Calls). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CreateCallInput } from '../../contracts/call';
import { ApiError } from '../../errors';
import { actorOf, authenticate, requireBusinessAccess, requireCallAccess } from '../auth';
import { callUrls, createCall } from '../call-factory';
import type { Services } from '../../services';

const RESERVED_METADATA = new Set(['channel', 'from', 'to', 'call_sid', 'stream_sid']);

export const CallParams = z.object({ id: z.string().regex(/^call_[A-Za-z0-9_-]{1,64}$/, 'call ids look like call_…') });

export function callRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['calls'];

  app.post('/v1/calls', { schema: { tags, summary: 'Start a call for a business: its id, client_secret and the URLs to stream to', body: CreateCallInput } }, async (req, reply) => {
    const p = await authenticate(req, s);
    requireBusinessAccess(p, req.body.business_id);
    // These keys say a call is a verified phone call (lookup_customer trusts `from`): Twilio route only.
    const reserved = Object.keys(req.body.metadata ?? {}).find((k) => RESERVED_METADATA.has(k));
    if (reserved) throw ApiError.badRequest(`metadata.${reserved} is reserved for phone calls the service starts itself.`, `metadata.${reserved}`);
    const { record, client_secret } = await createCall(s, req.body, actorOf(p));
    reply.code(201);
    return {
      id: record.id,
      object: 'call',
      business_id: record.business_id,
      mode: record.mode,
      session: record.session,
      client_secret,
      urls: callUrls(s, record.id, req.headers.host),
    };
  });

  app.get('/v1/calls', { schema: { tags, summary: 'List recent calls (optionally of one business)', querystring: z.object({ business_id: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) } }, async (req) => {
    const p = await authenticate(req, s);
    let businessId = req.query.business_id;
    if (p.kind === 'business') businessId = p.businessId;
    else if (p.kind === 'call') throw ApiError.forbidden('A client secret may only read its own call.');
    const data = await s.calls.list({ businessId, limit: req.query.limit });
    return { object: 'list', data };
  });

  app.get('/v1/calls/:id', { schema: { tags, summary: 'Get a call', params: CallParams } }, async (req) => {
    const p = await authenticate(req, s);
    const call = await s.calls.get(req.params.id);
    if (!call) throw ApiError.notFound('call', req.params.id);
    requireCallAccess(p, call);
    return { ...call, object: 'call', transcript: await s.calls.transcript(call.id) };
  });

  app.delete('/v1/calls/:id', { schema: { tags, summary: 'End a call', params: CallParams } }, async (req) => {
    const p = await authenticate(req, s);
    const call = await s.calls.get(req.params.id);
    if (!call) throw ApiError.notFound('call', req.params.id);
    requireCallAccess(p, call);
    const ended = await s.calls.end(call.id, 'hangup', actorOf(p));
    await s.hangups.publish(call.id);
    return { ...ended, object: 'call' };
  });
}
