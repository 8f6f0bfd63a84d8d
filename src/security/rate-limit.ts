/**
 * HTTP rate limits (docs/DESIGN.md §6) with @fastify/rate-limit on the shared Redis store:
 * - unauthenticated: every client address (`req.ip`: the socket's peer unless TRUST_PROXY names
 *   the proxies to believe) has `anonymousPerMinute`, counted before the 401;
 * - per key: every principal (already resolved by the auth gate, never the raw request text) has
 *   its own budget — a business key or client secret gets its business's
 *   `limits.requests_per_minute`, the admin key `adminPerMinute`;
 * - per business: all keys and client secrets of one business share one more budget of
 *   `limits.requests_per_minute`, so adding keys does not add capacity;
 * - the media plane (`/v1/calls/:id/audio|events`, many small requests by design) is counted per
 *   principal and call with `mediaPerMinute` instead — only once the principal is known.
 * Redis key names are fixed-length hashes. Over a limit: 429 `rate_limit_error` with `retry-after`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from '../errors';
import { hashSecret } from '../core/secrets';
import type { Principal } from '../gateway/auth';
import type { Services } from '../services';

export interface HttpLimits {
  adminPerMinute: number;
  anonymousPerMinute: number;
  mediaPerMinute: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { adminPerMinute: 6_000, anonymousPerMinute: 600, mediaPerMinute: 6_000 };

interface Scope {
  key: string;
  max: number;
  /** The business whose shared budget this request also spends (none for admin and media). */
  businessId: string | null;
  businessMax: number;
}

const MEDIA = /^\/v1\/calls\/([^/?]+)\/(audio|events)(?:[/?]|$)/;
const WINDOW_MS = 60_000;

export async function registerRateLimits(app: FastifyInstance, s: Services): Promise<void> {
  const scopes = new WeakMap<FastifyRequest, Promise<Scope>>();
  const rpm = new Map<string, { at: number; value: number | null }>();

  async function businessRpm(id: string): Promise<number | null> {
    const hit = rpm.get(id);
    if (hit && Date.now() - hit.at < 5_000) return hit.value;
    const value = (await s.businesses.get(id))?.limits.requests_per_minute ?? null;
    if (rpm.size > 10_000) rpm.clear();
    rpm.set(id, { at: Date.now(), value });
    return value;
  }

  /** A fixed-length Redis key part, whatever the request said. */
  const h = (text: string) => hashSecret(text).slice(0, 32);
  const who = (p: Principal) => (p.kind === 'admin' ? 'admin' : p.kind === 'business' ? `key:${p.keyId}` : `call:${p.callId}`);

  async function resolve(req: FastifyRequest): Promise<Scope> {
    const limits = s.limits.http;
    const anonymous: Scope = { key: `ip:${h(req.ip)}`, max: limits.anonymousPerMinute, businessId: null, businessMax: 0 };
    const p = req.principal;
    if (!p) return anonymous;
    const media = MEDIA.exec(req.url);
    if (media) return { key: `media:${h(`${who(p)}\n${media[1]}`)}`, max: limits.mediaPerMinute, businessId: null, businessMax: 0 };
    if (p.kind === 'admin') return { key: `key:${h(who(p))}`, max: limits.adminPerMinute, businessId: null, businessMax: 0 };
    const businessId = p.kind === 'business' ? p.businessId : ((await s.calls.get(p.callId))?.business_id ?? null);
    const max = businessId ? await businessRpm(businessId) : null;
    if (!businessId || max === null) return anonymous;
    return { key: `key:${h(who(p))}`, max, businessId, businessMax: max };
  }

  const scopeOf = (req: FastifyRequest) => {
    let p = scopes.get(req);
    if (!p) {
      p = resolve(req);
      scopes.set(req, p);
    }
    return p;
  };

  const exceeded = (what: string, max: number, ttlMs: number) =>
    new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', `Rate limit exceeded: ${max} requests per minute ${what}. Retry after ${Math.max(1, Math.ceil(ttlMs / 1000))} s.`, null, {
      'retry-after': String(Math.max(1, Math.ceil(ttlMs / 1000))),
    });

  await app.register(rateLimit, {
    global: true,
    redis: s.redis,
    nameSpace: s.keys.rate(''),
    timeWindow: WINDOW_MS,
    skipOnError: true, // Redis trouble must not turn into an outage of the API
    allowList: (req) => !req.url.startsWith('/v1/'),
    keyGenerator: async (req) => (await scopeOf(req)).key,
    max: async (req) => (await scopeOf(req)).max,
    errorResponseBuilder: (_req, ctx) => exceeded('for this key', ctx.max, ctx.ttl),
  });

  const perBusiness = app.createRateLimit({
    timeWindow: WINDOW_MS,
    keyGenerator: async (req) => `biz:${h((await scopeOf(req)).businessId ?? '-')}`,
    max: async (req) => (await scopeOf(req)).businessMax,
  });
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1/')) return;
    const scope = await scopeOf(req);
    if (!scope.businessId) return;
    const r = await perBusiness(req);
    if (!r.isAllowed && r.isExceeded) throw exceeded(`for business '${scope.businessId}'`, r.max, r.ttl);
  });
}
