/** Request helpers shared by the HTTP call routes: the call a request may touch, and raw audio bodies. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallRecord } from '../../contracts/call';
import { ApiError } from '../../errors';
import { authenticate, requireCallAccess } from '../auth';
import type { Services } from '../../services';

/** The call named in the route, if the caller's key (admin, business key or client secret) may touch it. */
export async function accessibleCall(req: FastifyRequest, s: Services, id: string): Promise<CallRecord> {
  const p = await authenticate(req, s);
  const call = await s.calls.get(id);
  if (!call) throw ApiError.notFound('call', id);
  requireCallAccess(p, call);
  return call;
}

export function requireActive(call: CallRecord): void {
  if (call.status === 'ended') throw ApiError.conflict(`Call '${call.id}' has ended.`, 'call_ended');
}

/** Audio bodies arrive as Buffers (in an encapsulated plugin, so other routes are unaffected). */
export function acceptAudioBodies(app: FastifyInstance): void {
  app.addContentTypeParser(/^(audio\/|application\/octet-stream|video\/webm)/, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

export function audioBuffer(body: unknown): Buffer {
  if (!Buffer.isBuffer(body) || body.length === 0) throw ApiError.badRequest('The request body must be audio (see Content-Type), and not empty.', 'body', 'empty_audio');
  return body;
}
