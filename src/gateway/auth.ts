/**
 * Who is calling: the admin key (everything), a business key (its own business and calls), or a
 * call's short-lived client_secret (that one call only, for browsers that cannot set headers).
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import { secretsEqual } from '../core/secrets';
import { tokenFromSubprotocols } from '../core/protocol/negotiate';
import type { Services } from '../services';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, resolved once in onRequest (null: no or an invalid credential). */
    principal: Principal | null;
    /** Why `principal` is null, when a credential was given. */
    authError: ApiError | null;
  }
}

export type Principal =
  | { kind: 'admin' }
  | { kind: 'business'; businessId: string; keyId: string }
  | { kind: 'call'; callId: string };

/** A credential and where it came from: only `ek_` client secrets may travel in the URL. */
export interface Credential {
  token: string;
  inUrl: boolean;
}

/** The bearer token from the header, `?token=`, or the `openai-insecure-api-key.<token>` subprotocol. */
function credentialOf(req: FastifyRequest): Credential | undefined {
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) return { token: h.replace(/^Bearer\s+/i, '').trim(), inUrl: false };
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string' && q) return { token: q, inUrl: true };
  const proto = req.headers['sec-websocket-protocol'];
  const t = typeof proto === 'string' ? tokenFromSubprotocols(proto.split(',').map((p) => p.trim())) : undefined;
  return t ? { token: t, inUrl: true } : undefined;
}

/**
 * Resolves who is calling from the credential. Called once per request (the auth gate in
 * src/security/auth-gate.ts keeps the result as `req.principal`); routes call `authenticate`.
 */
export async function resolvePrincipal(req: FastifyRequest, s: Services): Promise<Principal> {
  const cred = credentialOf(req);
  if (!cred) throw ApiError.unauthorized();
  const { token } = cred;
  // URLs end up in proxy logs, browser history and Referer headers: long-lived keys never go there.
  if (cred.inUrl && !token.startsWith('ek_')) {
    throw ApiError.unauthorized('Only a call\'s client_secret (ek_...) may be given in the URL or WebSocket subprotocol; send API keys in the Authorization header.');
  }
  if (!cred.inUrl && s.config.adminApiKey && secretsEqual(token, s.config.adminApiKey)) return { kind: 'admin' };
  if (token.startsWith('vak_')) {
    const rec = await s.businesses.resolveKey(token);
    if (rec) return { kind: 'business', businessId: rec.business_id, keyId: rec.key_id };
  } else if (token.startsWith('ek_')) {
    const callId = await s.calls.resolveClientSecret(token);
    if (callId) return { kind: 'call', callId };
  }
  throw ApiError.unauthorized('Invalid API key.');
}

/** The request's principal, resolved before its body was read; throws 401 when there is none. */
export async function authenticate(req: FastifyRequest, s: Services): Promise<Principal> {
  if (req.principal) return req.principal;
  if (req.authError) throw req.authError;
  // A route outside the gate (none today): resolve now, once.
  req.principal = await resolvePrincipal(req, s);
  return req.principal;
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
