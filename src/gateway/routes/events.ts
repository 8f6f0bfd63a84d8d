/**
 * A call's events over plain HTTP (DESIGN.md §5):
 * - POST /v1/calls/:id/events: one client event (or an array of them) into the call's driver,
 *   in the dialect of the request (`?dialect=`, or `OpenAI-Beta: realtime=v1`; GA otherwise).
 * - GET /v1/calls/:id/events: the call's server events as Server-Sent Events, from its Redis event
 *   stream, GA by default (`?dialect=beta`). Each event's `id:` is its place in the stream, so a
 *   client that reconnects with `Last-Event-ID` (EventSource does) misses nothing; `?last_event_id=`
 *   does the same for clients that cannot set headers, and no id replays from the call's start.
 *   The stream ends when the call does.
 */
import { dedicatedConnection } from '../../adapters/redis';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ClientEvent } from '../../contracts/realtime';
import { negotiateDialect, parseClientEvent, type Dialect } from '../../core/protocol';
import { ApiError } from '../../errors';
import type { Services } from '../services';
import { accessibleCall, requireActive } from '../sessions/access';
import { callSessions } from '../sessions/call-sessions';
import { formatSse, parseLastEventId, type Cursor } from '../sessions/event-log';
import { CallParams } from './calls';
import { oversizedText, textBytes } from '../../security/content-limits';
import { spendCallText } from '../../security/call-text-budget';

const KEEPALIVE_MS = 15_000;

function dialectOf(req: FastifyRequest): Dialect {
  return negotiateDialect({ headers: req.headers, protocols: [], query: req.query as Record<string, string | undefined> });
}

export function eventRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const sessions = callSessions(s);
  const tags = ['calls'];
  // Open event streams would hold the server open: end them, and the sessions, on shutdown.
  root.addHook('preClose', async () => {
    sessions.signals.emit('shutdown');
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
      let cursor: Cursor = parseLastEventId((Array.isArray(header) ? header[0] : header) ?? req.query.last_event_id);
      const log = sessions.eventLog;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 1000\n\n');

      const conn = dedicatedConnection(s.redis);
      let open = true;
      let ending = false;
      const detach = sessions.get(call.id)?.attachReader();
      const stop = () => {
        open = false;
        conn.disconnect();
      };
      // The call ended: deliver what its session recorded last, then close the stream.
      const onHangup = (id: string) => {
        if (id !== call.id || ending) return;
        ending = true;
        void sessions.whenEnded(call.id).then(() => conn.disconnect());
      };
      s.events.on('hangup', onHangup);
      sessions.signals.on('shutdown', stop);
      req.raw.on('close', stop);
      try {
        ending = call.status === 'ended';
        while (open) {
          let got;
          try {
            got = ending ? await log.read(call.id, cursor, dialect) : await log.read(call.id, cursor, dialect, { conn, blockMs: KEEPALIVE_MS });
          } catch {
            if (!open) break;
            if (ending) continue; // the blocking read was cut short: read the rest without blocking
            throw new Error('event stream read failed');
          }
          cursor = got.cursor;
          for (const e of got.events) res.write(formatSse(e));
          if (ending && got.events.length === 0) break;
          if (!ending && got.events.length === 0) res.write(': keep-alive\n\n');
        }
      } catch (err) {
        req.log.warn({ call_id: call.id, err: (err as Error).message }, 'event stream failed');
      } finally {
        s.events.off('hangup', onHangup);
        sessions.signals.off('shutdown', stop);
        req.raw.off('close', stop);
        detach?.();
        conn.disconnect();
        res.end();
      }
    },
  );
}
