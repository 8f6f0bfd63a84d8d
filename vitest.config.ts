import { defineConfig } from 'vitest/config';

/**
 * The integration tests that also run on a Redis Cluster (DESIGN.md §11), besides their
 * single-node run: a chained turn with a tool, barge-in, worker and gateway SIGKILL, two gateways
 * sharing a call, a realtime-mode call, SSE, plus the cluster's own tests (key spread, failover).
 */
const ON_CLUSTER = [
  'test/integration/cluster.test.ts',
  'test/integration/tools.test.ts',
  'test/integration/barge-in.test.ts',
  'test/integration/crash-recovery.test.ts',
  'test/integration/multi-gateway.test.ts',
  'test/integration/realtime-mode.test.ts',
  'test/integration/sse.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/integration/cluster.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ON_CLUSTER,
          // 3 masters + 3 replicas on 127.0.0.1:7300–7305, started once for the project, stopped after it.
          globalSetup: ['test/helpers/redis-cluster.ts'],
          env: { TEST_REDIS_CLUSTER_NODES: '127.0.0.1:7300,127.0.0.1:7301,127.0.0.1:7302' },
        },
      },
    ],
  },
});
