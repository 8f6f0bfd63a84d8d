/**
 * The Realtime-protocol WebSocket (DESIGN.md §5): `GET /v1/calls/:id/stream` for a created call,
 * and the drop-in `GET /v1/realtime?business_id=…` that creates the call on connect. Auth and the
 * call lookup happen before the upgrade (a bad key is a plain 401); after it, every frame goes
 * through one ordered queue into the call's driver, and every server event is translated to the
 * connection's dialect here, at the edge.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ServerEvent } from '../../contracts/realtime';
import { inputEvents, negotiateDialect, parseClientEvent, parseSubprotocolHeader, toClientWireAll, type Dialect } from '../../core/protocol';
import { ApiError } from '../../errors';
import { createDriver } from '../../modes/create-driver';
import type { CallDriver, WireFrame } from '../../modes/driver';
import { actorOf, authenticate, requireBusinessAccess, requireCallAccess } from '../auth';
import { CallGuard, type GuardError } from '../../security/call-limits';
import { createCall } from '../call-factory';
import { callSessions } from '../sessions/call-sessions';
import { CallEventRecorder } from '../sessions/event-log';
import type { Services } from '../services';
import { CallParams } from './calls';

interface Connection {
  call: CallRecord;
  business: Business;
  dialect: Dialect;
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
        connections.set(req, { call, business, dialect: dialectOf(req) });
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
        connections.set(req, { call: record, business, dialect: dialectOf(req) });
      },
    },
    (socket, req) => serve(s, socket, connections.get(req)!),
  );
}

/** The close code a gateway that shuts down sends its WebSocket clients ("going away"). */
export const SHUTDOWN_CODE = 1001;

const ending = new WeakMap<Services, Set<Promise<void>>>();

/** Keeps a closing connection's last work (driver close, call end) until it is done. */
function trackEnding(s: Services, work: Promise<void>): void {
  let set = ending.get(s);
  if (!set) ending.set(s, (set = new Set()));
  set.add(work);
  void work.finally(() => set.delete(work));
}

/** Resolves when every closed connection has ended its call (graceful shutdown waits for this). */
export async function connectionsEnded(s: Services): Promise<void> {
  await Promise.all([...(ending.get(s) ?? [])]);
}

/** Runs one connection: frames in order into the driver, events out in the connection's dialect. */
export function serve(s: Services, socket: WebSocket, conn: Connection): void {
  const { call, business, dialect } = conn;
  const log = s.log.child({ call_id: call.id, dialect });
  let closed = false;
  // Events are also recorded for SSE readers of the call (GET /v1/calls/:id/events).
  const recorder = new CallEventRecorder(callSessions(s).eventLog, call.id, log, { skipAudio: true });
  const send = (e: ServerEvent, frame?: WireFrame) => {
    recorder.record(e);
    if (closed || socket.readyState !== socket.OPEN) return;
    if (frame?.dialect === dialect) return socket.send(frame.bytes, { binary: false });
    for (const wire of toClientWireAll(e, dialect)) socket.send(JSON.stringify(wire));
  };
  const driver: CallDriver = createDriver(s, call, business, {
    send,
    hangup: (reason) => {
      log.info({ reason }, 'server hangs up');
      socket.close(1000, reason.slice(0, 100));
    },
  });
  // One queue keeps frames in order (an append must land before the commit after it).
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (fn: () => Promise<void> | void) => {
    queue = queue.then(fn).catch((err: Error) => {
      log.error({ err: err.message }, 'call driver error');
      send(inputEvents.error({ type: 'server_error', code: 'internal_error', message: 'Internal error; the call goes on.' }));
    });
  };
  enqueue(() => driver.start());
  // Message rate, audio rate and frame checks (security/call-limits.ts); a fatal one closes the call.
  const guard = new CallGuard(s.limits.call, call.session.input_audio_format);
  const reject = (e: GuardError) => {
    const { fatal, ...error } = e;
    send(inputEvents.error(error));
    if (fatal) socket.close(1008, e.code);
  };
  socket.on('message', (data, isBinary) => {
    const admitted = guard.admit();
    if (!admitted.ok) return void (admitted.error && reject(admitted.error));
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      const bad = guard.audioFrame(buf.length);
      if (bad) return reject(bad);
      return enqueue(() => driver.onAudio(buf));
    }
    const parsed = parseClientEvent(buf.toString('utf8'), dialect);
    if (!parsed.ok) return send(inputEvents.error(parsed.error));
    const e = parsed.event;
    if (e.type === 'input_audio_buffer.append') {
      const bad = guard.appendAudio(e.audio, e.event_id);
      if (bad) return reject(bad);
    } else if (e.type === 'session.update' && e.session.input_audio_format) {
      guard.setFormat(e.session.input_audio_format);
    }
    enqueue(() => driver.onClientEvent(e));
  });
  // Keeps this call counted against the business's concurrent-call limit while it is connected.
  const heartbeat = setInterval(() => void s.concurrency.heartbeat(call.business_id, call.id).catch(() => {}), s.concurrency.staleMs / 4);
  heartbeat.unref();
  const onHangup = (id: string) => id === call.id && socket.close(1000, 'hangup');
  s.events.on('hangup', onHangup);
  socket.on('close', (code) => {
    closed = true;
    clearInterval(heartbeat);
    s.events.off('hangup', onHangup);
    const reason = code === SHUTDOWN_CODE ? 'server_shutdown' : 'client_disconnected';
    enqueue(async () => {
      await driver.close(reason);
      await recorder.flushed(); // an SSE reader that sees the call ended has all its events
      await s.calls.end(call.id, reason);
      void s.hangups.publish(call.id); // SSE readers of this call drain and close
    });
    trackEnding(s, queue);
  });
  socket.on('error', (err) => log.warn({ err: err.message }, 'websocket error'));
}
