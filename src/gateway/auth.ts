/**
 * Who is calling: the admin key (everything), a business key (its own business and calls), or a
 * call's short-lived client_secret (that one call only, for browsers that cannot set headers).
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import { secretsEqual } from '../core/secrets';
import { tokenFromSubprotocols } from '../core/protocol/negotiate';
import type { Services } from './services';

export type Principal =
  | { kind: 'admin' }
  | { kind: 'business'; businessId: string; keyId: string }
  | { kind: 'call'; callId: string };

/** The bearer token from the header, `?token=`, or the `openai-insecure-api-key.<token>` subprotocol. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) return h.replace(/^Bearer\s+/i, '').trim();
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string' && q) return q;
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string') return tokenFromSubprotocols(proto.split(',').map((p) => p.trim()));
  return undefined;
}

export async function authenticate(req: FastifyRequest, s: Services): Promise<Principal> {
  const token = bearerToken(req);
  if (!token) throw ApiError.unauthorized();
  if (s.config.adminApiKey && secretsEqual(token, s.config.adminApiKey)) return { kind: 'admin' };
  if (token.startsWith('vak_')) {
    const rec = await s.businesses.resolveKey(token);
    if (rec) return { kind: 'business', businessId: rec.business_id, keyId: rec.key_id };
  } else if (token.startsWith('ek_')) {
    const callId = await s.calls.resolveClientSecret(token);
    if (callId) return { kind: 'call', callId };
  }
  throw ApiError.unauthorized('Invalid API key.');
}

export function requireAdmin(p: Principal): void {
  if (p.kind !== 'admin') throw ApiError.forbidden('This route needs the admin key.');
}

/** Admin, or that business's own key. */
export function requireBusinessAccess(p: Principal, businessId: string): void {
  if (p.kind === 'admin') return;
  if (p.kind === 'business' && p.businessId === businessId) return;
  throw ApiError.forbidden(`This key may not access business '${businessId}'.`);
}

/** Admin, the call's business key, or the call's own client secret. */
export function requireCallAccess(p: Principal, call: { id: string; business_id: string }): void {
  if (p.kind === 'admin') return;
  if (p.kind === 'business' && p.businessId === call.business_id) return;
  if (p.kind === 'call' && p.callId === call.id) return;
  throw ApiError.forbidden(`This key may not access call '${call.id}'.`);
}

export function actorOf(p: Principal): string {
  return p.kind === 'admin' ? 'admin' : p.kind === 'business' ? `key:${p.keyId}` : `call:${p.callId}`;
}
