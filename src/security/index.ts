/**
 * The security plugin: request size limits and HTTP rate limits, registered before the routes.
 * Per-call guards (call-limits.ts), the concurrent-call limit (concurrency.ts), output filtering
 * (call-filters.ts, core/redact.ts) and the audit log (audit-log.ts) are used by the routes and
 * workers directly.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../gateway/services';
import { DEFAULT_CALL_LIMITS, type CallLimits } from './call-limits';
import { DEFAULT_HTTP_LIMITS, registerRateLimits, type HttpLimits } from './rate-limit';

export interface SecurityLimits {
  http: HttpLimits;
  call: CallLimits;
  /** Largest JSON body on routes that do not set their own `bodyLimit` (audio uploads do). */
  jsonBodyBytes: number;
}

export function defaultSecurityLimits(): SecurityLimits {
  return { http: { ...DEFAULT_HTTP_LIMITS }, call: { ...DEFAULT_CALL_LIMITS }, jsonBodyBytes: 1024 * 1024 };
}

const AUDIO_UPLOAD = /\/audio$/;

export async function registerSecurity(app: FastifyInstance, s: Services): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined && !AUDIO_UPLOAD.test(route.url)) route.bodyLimit = s.limits.jsonBodyBytes;
  });
  await registerRateLimits(app, s);
}
