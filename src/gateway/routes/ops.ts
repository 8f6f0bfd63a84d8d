/** Health, readiness and the OpenAPI document's home (DESIGN.md §5 Operations). */
import type { FastifyInstance } from 'fastify';
import { redisHealth } from '../../adapters/redis';
import type { Services } from '../services';

export function opsRoutes(app: FastifyInstance, s: Services) {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags } }, async (_req, reply) => {
    // One node: PING. A cluster: cluster_state and how many of its masters answer (redis_cluster).
    const health = await redisHealth(s.redis);
    const redis = health.ok ? 'ok' : (health.error ?? 'not ok');
    const workers = s.localWorkers();
    const missing = s.config.workers.filter((stage) => !workers[stage]);
    const ready = redis === 'ok' && missing.length === 0;
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', redis, ...(health.cluster ? { redis_cluster: health.cluster } : {}), workers, ...(missing.length ? { missing_workers: missing } : {}) };
  });
}
