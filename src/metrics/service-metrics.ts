/**
 * Gauges read at scrape time from a gateway's services: queue depth per stage (BullMQ counts in
 * Redis, so every gateway reports the same cluster-wide depth) and calls not yet ended per mode.
 * Bound to one Services instance, so each app (and each test) gets its own registry, merged with
 * the process registry when /metrics is scraped.
 */
import { Gauge, Registry } from 'prom-client';
import type { Services } from '../services';
import { processRegistry } from './registry';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
/** Calls looked at for the active-calls gauge: the newest this many (a scrape must stay cheap). */
const ACTIVE_CALLS_SCAN = 2_000;

export interface ServiceMetrics {
  /** Prometheus text of the process metrics plus this gateway's gauges. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Open WebSocket connections on this gateway, by route kind. */
  openSockets: Gauge<'route'>;
}

export function createServiceMetrics(s: Services): ServiceMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'voice_agent_queue_depth',
    help: 'Jobs in each stage queue, by state (waiting, active, delayed, prioritized, failed).',
    labelNames: ['stage', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [stage, queue] of Object.entries(s.queues)) {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.set({ stage, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'voice_agent_active_calls',
    help: 'Calls created and not yet ended, by mode (all gateways sharing this Redis; the newest 2000 calls).',
    labelNames: ['mode'] as const,
    registers: [registry],
    async collect() {
      const calls = await s.calls.list({ limit: ACTIVE_CALLS_SCAN });
      const byMode: Record<string, number> = { chained: 0, realtime: 0 };
      for (const c of calls) if (c.status === 'active') byMode[c.mode] = (byMode[c.mode] ?? 0) + 1;
      this.reset();
      for (const [mode, n] of Object.entries(byMode)) this.set({ mode }, n);
    },
  });
  const openSockets = new Gauge({
    name: 'voice_agent_open_websockets',
    help: 'WebSocket connections open on this gateway process, by route (stream, realtime, twilio, other).',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  for (const route of ['stream', 'realtime', 'twilio']) openSockets.set({ route }, 0);
  const merged = Registry.merge([processRegistry, registry]);
  return {
    openSockets,
    async render() {
      return { contentType: merged.contentType, body: await merged.metrics() };
    },
  };
}

/** Which WebSocket route a request path is, for the open-sockets gauge (bounded label values). */
export function socketRoute(path: string): string {
  if (/^\/v1\/calls\/[^/]+\/stream/.test(path)) return 'stream';
  if (path.startsWith('/v1/realtime')) return 'realtime';
  if (path.startsWith('/v1/twilio')) return 'twilio';
  return 'other';
}
