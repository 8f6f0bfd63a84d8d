/**
 * The Realtime-protocol WebSocket (docs/DESIGN.md §5): `GET /v1/calls/:id/stream` for a created call,
 * and the drop-in `GET /v1/realtime?business_id=…` that creates the call on connect. Auth and the
 * call lookup happen before the upgrade (a bad key is a plain 401); after it, the connection is
 * one transport of a CallHost (sessions/call-host.ts): frames go through the host's ordered queue
 * into the call's driver, and every server event is translated to the connection's dialect here,
 * at the edge.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import { serverEvents, negotiateDialect, parseClientEvent, parseSubprotocolHeader, toClientWireAll, type Dialect } from '../../core/protocol';
import { ApiError } from '../../errors';
import { actorOf, authenticate, requireBusinessAccess, requireCallAccess, type Principal } from '../auth';
import { CallGuard, type GuardError } from '../../security/call-limits';
import { admitEventText } from '../../security/call-text-budget';
import { createCall } from '../call-factory';
import { CallHost, liveCalls } from '../sessions/call-host';
import type { Services } from '../../services';
import { CallParams } from './calls';

interface Connection {
  call: CallRecord;
  business: Business;
  dialect: Dialect;
  /** The business key it was opened with (its revocation closes the socket). */
  keyId?: string | null;
}

/** The business key of a principal, if it is one. */
function keyIdOf(p: Principal): string | null {
  return p.kind === 'business' ? p.keyId : null;
}

const connections = new WeakMap<FastifyRequest, Connection>();

export function streamRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['calls'];

  function dialectOf(req: FastifyRequest): Dialect {
    return negotiateDialect({
      headers: req.headers,
      protocols: parseSubprotocolHeader(req.headers['sec-websocket-protocol']),
      query: req.query as Record<string, string | undefined>,
    });
  }

  app.get(
    '/v1/calls/:id/stream',
    {
      websocket: true,
      schema: { tags, params: CallParams, querystring: z.object({ dialect: z.enum(['beta', 'ga']).optional(), token: z.string().optional() }) },
      preHandler: async (req) => {
        const p = await authenticate(req, s);
        const call = await s.calls.get((req.params as { id: string }).id);
        if (!call) throw ApiError.notFound('call', (req.params as { id: string }).id);
        requireCallAccess(p, call);
        if (call.status === 'ended') throw ApiError.conflict(`Call '${call.id}' has ended.`, 'call_ended');
        const business = await s.businesses.get(call.business_id);
        if (!business) throw ApiError.notFound('business', call.business_id);
        connections.set(req, { call, business, dialect: dialectOf(req), keyId: keyIdOf(p) });
      },
    },
    (socket, req) => serve(s, socket, connections.get(req)!),
  );

  app.get(
    '/v1/realtime',
    {
      websocket: true,
      schema: {
        tags,
        querystring: z.object({ business_id: z.string().min(1), model: z.string().optional(), dialect: z.enum(['beta', 'ga']).optional(), token: z.string().optional() }),
      },
      preHandler: async (req) => {
        const p = await authenticate(req, s);
        const businessId = (req.query as { business_id: string }).business_id;
        requireBusinessAccess(p, businessId);
        const { record } = await createCall(s, { business_id: businessId }, actorOf(p));
        const business = (await s.businesses.get(businessId))!;
        connections.set(req, { call: record, business, dialect: dialectOf(req), keyId: keyIdOf(p) });
      },
    },
    (socket, req) => serve(s, socket, connections.get(req)!),
  );
}

/** The close code a gateway that shuts down sends its WebSocket clients ("going away"). */
export const SHUTDOWN_CODE = 1001;

/** Resolves when every closed connection has ended its call (graceful shutdown waits for this). */
export async function connectionsEnded(s: Services): Promise<void> {
  await liveCalls(s).allEnded();
}

/**
 * Runs one connection: frames in order into the call's host, events out in the connection's
 * dialect. The frame checks (security/call-limits.ts) are this transport's own.
 */
export function serve(s: Services, socket: WebSocket, conn: Connection): void {
  const { call, business, dialect } = conn;
  const log = s.log.child({ call_id: call.id, dialect });
  const open = () => socket.readyState === socket.OPEN;
  const host = new CallHost(s, {
    call,
    business,
    log,
    recordAudio: false, // the client has the audio; SSE readers get the rest
    keyId: conn.keyId ?? null,
    transport: {
      deliver: (e, frame) => {
        if (!open()) return;
        if (frame?.dialect === dialect) return socket.send(frame.bytes, { binary: false });
        for (const wire of toClientWireAll(e, dialect)) socket.send(JSON.stringify(wire));
      },
      close: (reason, code) => socket.close(code ?? 1000, reason.slice(0, 100)),
    },
  });
  void host.start().catch(() => {});
  // Message rate, audio rate and frame checks (security/call-limits.ts); a fatal one closes the call.
  const guard = new CallGuard(s.limits.call, call.session.input_audio_format);
  const reject = (e: GuardError) => {
    const { fatal, ...error } = e;
    host.send(serverEvents.error(error));
    if (fatal) socket.close(1008, e.code);
  };
  const drive = (p: Promise<void>) => void p.catch(() => {}); // the host reports failures as error events
  socket.on('message', (data, isBinary) => {
    const admitted = guard.admit();
    if (!admitted.ok) return void (admitted.error && reject(admitted.error));
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      const bad = guard.audioFrame(buf.length);
      if (bad) return reject(bad);
      return drive(host.audio(buf));
    }
    const parsed = parseClientEvent(buf.toString('utf8'), dialect);
    if (!parsed.ok) return host.send(serverEvents.error(parsed.error));
    const e = parsed.event;
    if (e.type === 'input_audio_buffer.append') {
      const bad = guard.appendAudio(e.audio, e.event_id);
      if (bad) return reject(bad);
    } else if (e.type === 'session.update' && e.session.input_audio_format) {
      guard.setFormat(e.session.input_audio_format);
    }
    if (e.type === 'conversation.item.create' || e.type === 'response.create' || (e.type === 'session.update' && e.session.instructions !== undefined)) {
      // POST /events' text caps (item size, the call's budget in Redis), checked in the event's turn.
      return drive(
        host.run(async (d) => {
          const bad = await admitEventText(s.redis, s.keys, call.id, e, s.limits.content, s.config.callTtlS);
          if (bad) return host.send(serverEvents.error({ type: 'invalid_request_error', ...bad, ...(e.event_id ? { event_id: e.event_id } : {}) }));
          await d.onClientEvent(e);
        }),
      );
    }
    drive(host.clientEvent(e));
  });
  socket.on('close', (code) => void host.end(code === SHUTDOWN_CODE ? 'server_shutdown' : 'client_disconnected'));
  socket.on('error', (err) => log.warn({ err: err.message }, 'websocket error'));
}
