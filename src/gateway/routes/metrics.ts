/**
 * GET /metrics: Prometheus text (prom-client). Per process: the stage histograms and counters this
 * process observed, plus queue depth and active calls read from Redis at scrape time.
 * Unauthenticated, like /healthz: it carries no call content, only stage names, tool names and counts.
 */
import type { FastifyInstance } from 'fastify';
import { createServiceMetrics, socketRoute } from '../../metrics/service-metrics';
import type { Services } from '../../services';

export function metricsRoutes(app: FastifyInstance, s: Services) {
  const metrics = createServiceMetrics(s);
  // Open sockets on this gateway, counted where ws hands them over (after auth and upgrade).
  app.websocketServer?.on('connection', (socket, req) => {
    const route = socketRoute((req.url ?? '').split('?')[0] ?? '');
    metrics.openSockets.inc({ route });
    socket.once('close', () => metrics.openSockets.dec({ route }));
  });

  app.get('/metrics', { schema: { tags: ['operations'], hide: true } }, async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
