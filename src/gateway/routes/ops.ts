/** Health, readiness and the OpenAPI document's home (docs/DESIGN.md §5 Operations, §12). */
import type { FastifyInstance } from 'fastify';
import { liveWorkers } from '../../adapters/worker-heartbeats';
import { redisHealth } from '../../adapters/redis';
import { readCircuits } from '../../adapters/provider-circuits';
import { realtimeCircuit } from '../../modes/realtime/upstream-failover';
import type { Services } from '../../services';

/** Redis commands wait while ioredis reconnects: answer "not ready" after a second instead of hanging. */
function withinASecond<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Redis did not answer within 1 s')), 1_000).unref()),
  ]);
}

export function opsRoutes(app: FastifyInstance, s: Services) {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags, summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { tags, summary: 'Readiness: Redis reachable and this process’s own workers running; live workers per stage on every host; provider circuits' } },
    async (_req, reply) => {
      // One node: PING. A cluster: cluster_state and how many of its masters answer (redis_cluster).
      const health = await redisHealth(s.redis);
      let redis = health.ok ? 'ok' : (health.error ?? 'not ok');
      // Live worker processes per stage across every host, from their heartbeats in Redis.
      let workers: Record<string, number> = {};
      // Each stage's circuit in front of its primary provider (stages with a fallback only; docs/DESIGN.md §8).
      let circuits: Record<string, string> = {};
      try {
        [workers, circuits] = await withinASecond(Promise.all([liveWorkers(s.redis, s.keys), readCircuits(s.redis, s.keys)]));
      } catch (err) {
        if (redis === 'ok') redis = (err as Error).message;
      }
      const rt = realtimeCircuit(s.config);
      if (rt) circuits = { ...circuits, realtime: rt.current };
      // Ready also needs the workers this process was asked to run (WORKERS); a gateway-only process needs none.
      const local = s.localWorkers();
      const missing = s.config.workers.filter((stage) => !local[stage]);
      const ready = redis === 'ok' && missing.length === 0;
      reply.code(ready ? 200 : 503);
      // An open circuit is not "not ready": the fallback serves meanwhile. Absent when no stage has a fallback.
      return {
        status: ready ? 'ready' : 'not_ready',
        redis,
        ...(health.cluster ? { redis_cluster: health.cluster } : {}),
        workers,
        ...(Object.keys(circuits).length ? { circuits } : {}),
        ...(missing.length ? { missing_workers: missing } : {}),
      };
    },
  );
}
