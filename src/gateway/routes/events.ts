/**
 * A call's events over plain HTTP (docs/DESIGN.md §5):
 * - POST /v1/calls/:id/events: one client event (or an array of them) into the call's driver,
 *   in the dialect of the request (`?dialect=`, or `OpenAI-Beta: realtime=v1`; GA otherwise).
 * - GET /v1/calls/:id/events: the call's server events as Server-Sent Events, from its Redis event
 *   stream, GA by default (`?dialect=beta`). Each event's `id:` is its place in the stream, so a
 *   client that reconnects with `Last-Event-ID` (EventSource does) misses nothing; `?last_event_id=`
 *   does the same for clients that cannot set headers, and no id replays from the call's start.
 *   The stream ends when the call does (sessions/sse.ts: one Redis reader per call and gateway,
 *   at most `limits.sseReadersPerCall` readers per call, closed when the key is revoked).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ClientEvent } from '../../contracts/realtime';
import { negotiateDialect, parseClientEvent, type Dialect } from '../../core/protocol';
import { ApiError } from '../../errors';
import type { Services } from '../../services';
import { accessibleCall, requireActive } from '../sessions/access';
import { callSessions } from '../sessions/call-sessions';
import { decode, formatSse, parseLastEventId, toSse, type Cursor } from '../sessions/event-log';
import { followSse, SSE_SHUTDOWN } from '../sessions/sse';
import { authenticate } from '../auth';
import { CallParams } from './calls';
import { oversizedText, textBytes } from '../../security/content-limits';
import { spendCallText } from '../../security/call-text-budget';

function dialectOf(req: FastifyRequest): Dialect {
  return negotiateDialect({ headers: req.headers, protocols: [], query: req.query as Record<string, string | undefined> });
}

export function eventRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const sessions = callSessions(s);
  const tags = ['calls'];
  // Open event streams would hold the server open: end them, and the sessions, on shutdown.
  root.addHook('preClose', async () => {
    s.events.emit(SSE_SHUTDOWN);
    await sessions.close();
  });
  const query = z.object({ dialect: z.enum(['beta', 'ga']).optional(), token: z.string().optional() });

  app.post(
    '/v1/calls/:id/events',
    {
      schema: {
        tags,
        summary: 'Send client events (Realtime protocol) to a call',
        params: CallParams,
        querystring: query,
        body: z.union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown())).min(1).max(100)]),
        response: { 202: z.object({ accepted: z.number().int() }) },
      },
    },
    async (req, reply) => {
      const call = await accessibleCall(req, s, req.params.id);
      requireActive(call);
      const dialect = dialectOf(req);
      const raw = Array.isArray(req.body) ? req.body : [req.body];
      // All or nothing: one bad event rejects the request before any reaches the call.
      const events: ClientEvent[] = raw.map((value, i) => {
        const parsed = parseClientEvent(value, dialect);
        if (parsed.ok) return parsed.event;
        const where = Array.isArray(req.body) ? `[${i}]` : '';
        throw ApiError.badRequest(parsed.error.message, parsed.error.param ? `${where}${where ? '.' : ''}${parsed.error.param}` : where || null, parsed.error.code);
      });
      const limits = s.limits.content;
      events.forEach((e, i) => {
        const big = oversizedText(e, limits);
        if (big) throw ApiError.badRequest(big.message, Array.isArray(req.body) ? `[${i}].${big.param}` : big.param, big.code);
      });
      await spendCallText(s.redis, s.keys, call.id, events.reduce((n, e) => n + textBytes(e), 0), limits.maxCallTextBytes, s.config.callTtlS);
      const session = await sessions.open(call.id, { manual: false });
      for (const e of events) await session.clientEvent(e);
      reply.code(202);
      return { accepted: events.length };
    },
  );

  app.get(
    '/v1/calls/:id/events',
    {
      schema: {
        tags,
        summary: 'Server events as Server-Sent Events, resumable with Last-Event-ID',
        params: CallParams,
        querystring: query.extend({ last_event_id: z.string().optional() }),
      },
    },
    async (req, reply) => {
      const call = await accessibleCall(req, s, req.params.id);
      const dialect = dialectOf(req);
      const header = req.headers['last-event-id'];
      const cursor: Cursor = parseLastEventId((Array.isArray(header) ? header[0] : header) ?? req.query.last_event_id);
      const log = sessions.eventLog;
      const rest = await log.rest(call.id, cursor, dialect);
      // A reader keeps the call's HTTP session from idling out while it is connected.
      const detach = sessions.get(call.id)?.attachReader();
      try {
        await followSse(s, req, reply, {
          callId: call.id,
          kind: 'events',
          key: log.keyOf(call.id),
          after: cursor.id,
          ended: call.status === 'ended',
          principal: await authenticate(req, s),
          prelude: rest.map(formatSse).join(''),
          render: (id, fields) => toSse(id, decode(fields), dialect).map(formatSse).join(''),
        });
      } finally {
        detach?.();
      }
    },
  );
}
