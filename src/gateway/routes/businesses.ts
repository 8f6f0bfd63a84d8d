/** Business admin routes (docs/DESIGN.md §5 Businesses): config, API keys, customer directory. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  BusinessId,
  BusinessInput,
  BusinessValidationError,
  CustomerInput,
  publicBusiness,
  resolveBusiness,
  type Business,
  type Customer,
} from '../../contracts/business';
import { toE164 } from '../../core/phone';
import { checkWebhookUrl } from '../../core/net/destination';
import { ApiError } from '../../errors';
import { actorOf, authenticate, requireAdmin, requireBusinessAccess } from '../auth';
import type { Services } from '../../services';

const IdParams = z.object({ id: BusinessId });

export function businessRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['businesses'];

  async function mustExist(id: string) {
    const b = await s.businesses.get(id);
    if (!b) throw ApiError.notFound('business', id);
    return b;
  }

  app.put('/v1/businesses/:id', { schema: { tags, summary: 'Create or replace a business (its prompt, mode, session defaults and tools)', params: IdParams, body: BusinessInput } }, async (req, reply) => {
    const p = await authenticate(req, s);
    requireAdmin(p);
    const existing = await s.businesses.get(req.params.id);
    const now = Date.now();
    let business;
    try {
      business = resolveBusiness(
        req.params.id,
        req.body,
        { llmModel: s.config.llm.model, realtimeModel: s.config.realtime.model, extraVoices: s.config.extraVoices },
        now,
        existing?.created_at ?? now,
      );
    } catch (err) {
      if (err instanceof BusinessValidationError) throw ApiError.badRequest(err.message, err.param);
      throw err;
    }
    for (const [name, h] of Object.entries(business.tool_handlers)) {
      if (h.type !== 'webhook') continue;
      const v = checkWebhookUrl(h.url, s.config.webhookAllowCidrs);
      if (!v.ok) throw ApiError.badRequest(`tool_handlers.${name}.url is refused: ${v.reason}.`, `tool_handlers.${name}.url`, 'webhook_url_refused');
    }
    await s.businesses.put(business);
    await s.audit.append(business, { type: existing ? 'business.updated' : 'business.created', actor: actorOf(p), data: { changed: changedFields(existing, business) } });
    reply.code(existing ? 200 : 201);
    return publicBusiness(business);
  });

  app.get('/v1/businesses', { schema: { tags, summary: 'List the businesses this key may see' } }, async (req) => {
    const p = await authenticate(req, s);
    const all = await s.businesses.list();
    const visible = p.kind === 'admin' ? all : all.filter((b) => p.kind === 'business' && b.id === p.businessId);
    return { object: 'list', data: visible.map(publicBusiness) };
  });

  app.get('/v1/businesses/:id', { schema: { tags, summary: 'Get a business', params: IdParams } }, async (req) => {
    requireBusinessAccess(await authenticate(req, s), req.params.id);
    return publicBusiness(await mustExist(req.params.id));
  });

  app.delete('/v1/businesses/:id', { schema: { tags, summary: 'Delete a business', params: IdParams } }, async (req) => {
    const p = await authenticate(req, s);
    requireAdmin(p);
    await mustExist(req.params.id);
    // Its live calls hang up, then everything of it goes: a re-created id starts empty. The
    // deletion is logged to the server log, not the business's audit log (which is deleted too).
    const { deleted, activeCalls } = await s.businesses.delete(req.params.id);
    if (!deleted) throw ApiError.notFound('business', req.params.id);
    await Promise.all(activeCalls.map((id) => s.hangups.publish(id)));
    req.log.info({ business_id: req.params.id, actor: actorOf(p), calls_ended: activeCalls.length }, 'business deleted');
    return { id: req.params.id, deleted: true };
  });

  app.post('/v1/businesses/:id/keys', { schema: { tags, summary: 'Create an API key for a business (shown once; admin only)', params: IdParams } }, async (req, reply) => {
    const p = await authenticate(req, s);
    requireAdmin(p);
    const business = await mustExist(req.params.id);
    const key = await s.businesses.createKey(req.params.id);
    await s.audit.append(business, { type: 'key.created', actor: actorOf(p), data: { key_id: key.id } });
    reply.code(201);
    return { ...key, business_id: req.params.id, note: 'Store this key now: it is shown only once.' };
  });

  app.get('/v1/businesses/:id/keys', { schema: { tags, summary: "List a business's API key ids (admin only)", params: IdParams } }, async (req) => {
    requireAdmin(await authenticate(req, s));
    await mustExist(req.params.id);
    return { object: 'list', data: (await s.businesses.listKeys(req.params.id)).map((id) => ({ id })) };
  });

  app.delete(
    '/v1/businesses/:id/keys/:key_id',
    { schema: { tags, summary: 'Revoke an API key (streams opened with it close too)', params: IdParams.extend({ key_id: z.string().min(1).max(100) }) } },
    async (req) => {
      const p = await authenticate(req, s);
      requireAdmin(p);
      if (!(await s.businesses.revokeKey(req.params.id, req.params.key_id))) throw ApiError.notFound('key', req.params.key_id);
      // Streams opened with the key close too, on every gateway (sessions/call-host.ts, sessions/sse.ts).
      await s.hangups.revokeKey(req.params.key_id);
      const business = await s.businesses.get(req.params.id);
      if (business) await s.audit.append(business, { type: 'key.revoked', actor: actorOf(p), data: { key_id: req.params.key_id } });
      return { id: req.params.key_id, deleted: true };
    },
  );

  const PhoneParams = IdParams.extend({ phone_number: z.string().min(3).max(40) });
  function e164(raw: string): string {
    const n = toE164(raw);
    if (!n) throw ApiError.badRequest(`'${raw}' is not a phone number (use E.164, e.g. +15550100123).`, 'phone_number');
    return n;
  }

  app.put('/v1/businesses/:id/customers/:phone_number', { schema: { tags, summary: 'Create or replace a customer record, by E.164 phone number', params: PhoneParams, body: CustomerInput } }, async (req) => {
    const p = await authenticate(req, s);
    requireBusinessAccess(p, req.params.id);
    const business = await mustExist(req.params.id);
    const customer: Customer = { ...req.body, phone_number: e164(req.params.phone_number), updated_at: Date.now() };
    await s.businesses.putCustomer(req.params.id, customer);
    await s.audit.append(business, { type: 'customer.updated', actor: actorOf(p), data: { phone_number: customer.phone_number } });
    return customer;
  });

  app.get('/v1/businesses/:id/customers/:phone_number', { schema: { tags, summary: 'Get a customer record, by E.164 phone number', params: PhoneParams } }, async (req) => {
    requireBusinessAccess(await authenticate(req, s), req.params.id);
    await mustExist(req.params.id);
    const phone = e164(req.params.phone_number);
    const c = await s.businesses.getCustomer(req.params.id, phone);
    if (!c) throw ApiError.notFound('customer', phone);
    return c;
  });
}

/** Top-level config fields (and session fields as `session.x`) that a PUT changed. */
function changedFields(before: Business | null, after: Business): string[] {
  if (!before) return [];
  const out: string[] = [];
  for (const k of Object.keys(after) as (keyof Business)[]) {
    if (k === 'updated_at' || k === 'created_at') continue;
    if (k === 'session') {
      for (const f of Object.keys(after.session) as (keyof Business['session'])[]) {
        if (JSON.stringify(before.session[f]) !== JSON.stringify(after.session[f])) out.push(`session.${f}`);
      }
    } else if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out.push(k);
  }
  return out;
}
