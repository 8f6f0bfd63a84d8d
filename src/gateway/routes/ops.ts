/** Health, readiness and the OpenAPI document's home (DESIGN.md §5 Operations). */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services';

export function opsRoutes(app: FastifyInstance, s: Services) {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags } }, async (_req, reply) => {
    let redis = 'ok';
    try {
      await s.redis.ping();
    } catch (err) {
      redis = (err as Error).message;
    }
    const workers = s.localWorkers();
    const missing = s.config.workers.filter((stage) => !workers[stage]);
    const ready = redis === 'ok' && missing.length === 0;
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', redis, workers, ...(missing.length ? { missing_workers: missing } : {}) };
  });
}
