/**
 * Authentication before any work (docs/DESIGN.md §6): the credential is resolved once per request in
 * onRequest (`req.principal`), before the body is read; a request to an API route without a valid
 * credential is answered 401 there, after the per-address rate limit has counted it, so 24 MiB of
 * body from a stranger is never buffered or parsed. The Twilio routes have their own guard
 * (twilio-access.ts): Twilio cannot send our keys.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError } from '../errors';
import { resolvePrincipal } from '../gateway/auth';
import type { Services } from '../services';

/** Routes that take a key: the /v1 API, except the Twilio webhooks and media stream. */
function needsKey(url: string): boolean {
  return url.startsWith('/v1/') && !url.startsWith('/v1/twilio/');
}

/** Step 1 (app-wide onRequest, before rate limits): who is calling, resolved once. */
export function registerPrincipal(app: FastifyInstance, s: Services): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('authError', null);
  app.addHook('onRequest', async (req) => {
    if (!needsKey(req.url)) return;
    try {
      req.principal = await resolvePrincipal(req, s);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      req.authError = err;
    }
  });
}

/** Step 2 (per route, after the rate-limit hook): no principal, no further work. */
const requirePrincipal: onRequestAsyncHookHandler = async (req: FastifyRequest) => {
  if (req.principal || !needsKey(req.url)) return;
  throw req.authError ?? ApiError.unauthorized();
};

/** Adds the 401 gate to every route added from now on, after hooks added before it (the rate limit). */
export function registerAuthGate(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!needsKey(route.url)) return;
    const hooks = route.onRequest;
    route.onRequest = hooks === undefined ? [requirePrincipal] : Array.isArray(hooks) ? [...hooks, requirePrincipal] : [hooks, requirePrincipal];
  });
}

/**
 * Bodies must arrive within `ms` of the request starting: a client that trickles a body byte by
 * byte cannot hold a connection (and its buffer) forever. Node's requestTimeout does the same but
 * is only checked every 30 s.
 */
export function registerBodyDeadline(app: FastifyInstance, ms: () => number): void {
  app.addHook('onRequest', async (req, reply) => {
    const raw = req.raw;
    const hasBody = raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
    if (!hasBody || raw.headers.upgrade) return;
    const timer = setTimeout(() => {
      if (raw.complete) return;
      const socket = raw.socket;
      // Answered already (a 401 before the body): nothing more to say, just stop reading.
      if (reply.raw.headersSent || socket.destroyed) return socket.destroy();
      socket.end(`HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(TIMEOUT_BODY)}\r\n\r\n${TIMEOUT_BODY}`);
      setTimeout(() => socket.destroy(), 100).unref();
    }, ms());
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
  });
}

const TIMEOUT_BODY = JSON.stringify({
  error: { type: 'invalid_request_error', code: 'request_timeout', message: 'The request body did not arrive in time.', param: null },
});
