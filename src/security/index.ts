/**
 * The security plugin, registered before the routes: the principal resolved once per request
 * before any body is read, the body deadline, request size limits, HTTP rate limits, then the 401
 * gate (after the per-address limit has counted the request). Per-call guards (call-limits.ts),
 * content caps (content-limits.ts), the concurrent-call limit (concurrency.ts), output filtering
 * (call-filters.ts, core/redact.ts) and the audit log (audit-log.ts) are used by the routes and
 * workers directly.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services';
import { registerAuthGate, registerBodyDeadline, registerPrincipal } from './auth-gate';
import { DEFAULT_CALL_LIMITS, type CallLimits } from './call-limits';
import { DEFAULT_CONTENT_LIMITS, type ContentLimits } from './content-limits';
import { DEFAULT_HTTP_LIMITS, registerRateLimits, type HttpLimits } from './rate-limit';

export interface SecurityLimits {
  http: HttpLimits;
  call: CallLimits;
  content: ContentLimits;
  /** Largest JSON body on routes that do not set their own `bodyLimit` (audio uploads do). */
  jsonBodyBytes: number;
  /** A request's body must have arrived this long after its headers (slow-body clients). */
  bodyTimeoutMs: number;
  /** Open SSE streams per call and kind (event readers, log followers) on one gateway. */
  sseReadersPerCall: number;
}

export function defaultSecurityLimits(): SecurityLimits {
  return {
    http: { ...DEFAULT_HTTP_LIMITS },
    call: { ...DEFAULT_CALL_LIMITS },
    content: { ...DEFAULT_CONTENT_LIMITS },
    jsonBodyBytes: 1024 * 1024,
    bodyTimeoutMs: 30_000,
    sseReadersPerCall: 10,
  };
}

/** Server timeouts (Fastify options): headers, whole request, idle keep-alive. */
export const SERVER_TIMEOUTS = { requestTimeout: 60_000, keepAliveTimeout: 10_000, headersTimeout: 20_000 } as const;

const AUDIO_UPLOAD = /\/audio$/;

export async function registerSecurity(app: FastifyInstance, s: Services): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined && !AUDIO_UPLOAD.test(route.url)) route.bodyLimit = s.limits.jsonBodyBytes;
  });
  registerPrincipal(app, s);
  registerBodyDeadline(app, () => s.limits.bodyTimeoutMs);
  await registerRateLimits(app, s);
  registerAuthGate(app);
}
