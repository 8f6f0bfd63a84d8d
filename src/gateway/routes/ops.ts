/** Health, readiness and the OpenAPI document's home (DESIGN.md §5 Operations). */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services';

export function opsRoutes(app: FastifyInstance, s: Services) {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags } }, async (_req, reply) => {
    let redis = 'ok';
    try {
      // Commands wait while ioredis reconnects: answer "not ready" after a second instead of hanging.
      await Promise.race([
        s.redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('Redis did not answer within 1 s')), 1_000).unref()),
      ]);
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
