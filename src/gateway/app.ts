/**
 * The Fastify app factory: plugins and routes, no listen(). main.ts (or a test) listens.
 */
import { hostname } from 'node:os';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { ApiError } from '../errors';
import type { Services } from '../services';
import { businessRoutes } from './routes/businesses';
import { callRoutes } from './routes/calls';
import { opsRoutes } from './routes/ops';
import { connectionsEnded, SHUTDOWN_CODE, streamRoutes } from './routes/stream';
import { logRoutes } from './routes/logs';
import { httpAudioRoutes } from './routes/http-audio';
import { eventRoutes } from './routes/events';
import { turnRoutes } from './routes/turns';
import { twilioRoutes } from './routes/twilio';
import { metricsRoutes } from './routes/metrics';
import { consoleRoutes } from './routes/console';
import { toolRoutes } from './routes/tools';
import { recordingRoutes } from './routes/recordings';
import { selectSubprotocol } from '../core/protocol';
import { registerSecurity, SERVER_TIMEOUTS } from '../security';
import { auditRoutes } from './routes/audit';
import { callSessions } from './sessions/call-sessions';
import { CallDrivenElsewhere, forwardToOwner } from './sessions/ownership';
import { MAX_WS_MESSAGE_BYTES } from '../security/content-limits';

export type App = FastifyInstance;
export type RoutePlugin = (app: FastifyInstance, s: Services) => void | Promise<void>;

const ROUTES: RoutePlugin[] = [opsRoutes, businessRoutes, callRoutes, streamRoutes, logRoutes, toolRoutes, metricsRoutes, consoleRoutes, httpAudioRoutes, eventRoutes, turnRoutes, twilioRoutes, recordingRoutes];

export async function buildApp(s: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: s.log.child({ component: 'gateway' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 25 * 1024 * 1024, // audio uploads: the transcription API's own limit
    // Off unless TRUST_PROXY names the proxies (hop count or CIDRs): else any client could pick
    // its address with X-Forwarded-For and dodge the per-address limits.
    trustProxy: trustProxyOption(s.config.trustProxy),
    requestTimeout: SERVER_TIMEOUTS.requestTimeout,
    keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeout,
  });
  app.server.headersTimeout = SERVER_TIMEOUTS.headersTimeout;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, 'not_found_error', 'route_not_found', `No route ${req.method} ${req.url.split('?')[0]}.`).toBody());
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Voice agent API', version: '0.1.0', description: 'See README.md and docs/DESIGN.md §5.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, {
    options: {
      maxPayload: MAX_WS_MESSAGE_BYTES, // sized to the largest legal event (security/content-limits.ts)
      // Select `realtime` when offered, never the key entry (docs/PROTOCOLS.md §1.1).
      handleProtocols: (protocols) => selectSubprotocol([...protocols]),
    },
    // Graceful shutdown: say "going away" to every client, wait for the closing handshakes (5 s at
    // most) and for the calls to be ended, then stop accepting.
    preClose(done) {
      const server = app.websocketServer;
      const clients = [...server.clients];
      const closed = clients.map((c) => new Promise((resolve) => c.once('close', resolve)));
      for (const c of clients) c.close(SHUTDOWN_CODE, 'server shutting down');
      const force = setTimeout(() => clients.forEach((c) => c.terminate()), 5_000);
      void Promise.all(closed)
        .then(() => connectionsEnded(s))
        .finally(() => {
          clearTimeout(force);
          server.close(() => done());
        });
    },
  });

  // From now on this gateway claims the HTTP calls it drives under the address its peers use.
  app.addHook('onListen', async () => {
    callSessions(s).ownership.selfUrl = gatewayUrl(s.config, app.server.address());
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();
  await registerSecurity(app, s); // auth, size and rate limits: before any route is added
  for (const plugin of ROUTES) await plugin(typed, s);
  await auditRoutes(typed, s);
  return app;
}

/** A hop count trusts that many proxies nearest the server (proxy-addr's meaning of a number). */
function trustProxyOption(v: Services['config']['trustProxy']): boolean | string[] | ((addr: string, hop: number) => boolean) {
  return typeof v === 'number' ? (_addr, hop) => hop < v : v;
}

function gatewayUrl(config: Services['config'], addr: ReturnType<FastifyInstance['server']['address']>): string {
  if (config.gatewayUrl) return config.gatewayUrl.replace(/\/$/, '');
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The Content-Types a route with a body accepts (named in its 415); application/json if unset. */
    accepts?: readonly string[];
  }
}

function errorHandler(this: FastifyInstance, err: FastifyError | ApiError | CallDrivenElsewhere, req: FastifyRequest, reply: FastifyReply): FastifyReply | void {
  if (err instanceof CallDrivenElsewhere) {
    // Not an error for the client: another gateway drives the call, and answers for it.
    forwardToOwner(req, reply, err).catch((e: ApiError) => errorHandler.call(this, e, req, reply));
    return reply;
  }
  if (err instanceof ApiError) {
    reply.code(err.status).headers(err.headers).send(err.toBody());
    return;
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const where = (err as { validationContext?: string }).validationContext ?? 'body';
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const param = path || null;
    const message = `Invalid ${where}${param ? ` field '${param}'` : ''}: ${first?.message ?? 'invalid value'}`;
    reply.code(400).send(ApiError.badRequest(message, param, 'invalid_request').toBody());
    return;
  }
  const status = (err as FastifyError).statusCode ?? 500;
  if (status >= 500) this.log.error({ err }, 'unhandled error');
  const e =
    status === 413
      ? new ApiError(413, 'invalid_request_error', 'payload_too_large', err.message)
      : status === 415
        ? ApiError.unsupportedMediaType(req.headers['content-type'], req.routeOptions.config.accepts ?? ['application/json'])
        : status < 500
          ? new ApiError(status, 'invalid_request_error', (err as FastifyError).code ?? 'invalid_request', err.message)
          : new ApiError(500, 'server_error', 'internal_error', 'Internal error; see the server log.');
  reply.code(e.status).send(e.toBody());
}
