/**
 * Realtime mode's provider failover (DESIGN.md §8): a failed connect to REALTIME_URL (refused,
 * an HTTP error on the handshake, no answer within the handshake timeout) is tried once on
 * REALTIME_FALLBACK_URL before the call gives up (and, per business, goes on in chained mode).
 * After `circuit.failureThreshold` failed connects the primary is skipped for `circuit.openMs`,
 * then probed by one call. A connection that drops mid-call is not moved: the conversation lives
 * upstream, so that stays the business's realtime_fallback. The breaker is per gateway process.
 */
import type { Config } from '../../config';
import type { ProviderName } from '../../adapters/failover';
import { CircuitBreaker } from '../../core/circuit-breaker';
import { stageMetrics } from '../../metrics/registry';
import { UpstreamConnection, type UpstreamHandlers } from './upstream';

const CIRCUIT_GAUGE = { closed: 0, half_open: 1, open: 2 } as const;

/** One breaker per loaded config (a process has one; tests build several services side by side). */
const breakers = new WeakMap<Config, CircuitBreaker>();

/** The realtime primary's breaker, or null when no REALTIME_FALLBACK_URL is set. */
export function realtimeCircuit(config: Config): CircuitBreaker | null {
  if (!config.realtime.fallback) return null;
  let b = breakers.get(config);
  if (!b) {
    b = new CircuitBreaker(config.circuit);
    stageMetrics.providerCircuit.set({ stage: 'realtime' }, 0);
    b.onChange((state) => stageMetrics.providerCircuit.set({ stage: 'realtime' }, CIRCUIT_GAUGE[state]));
    breakers.set(config, b);
  }
  return b;
}

export interface ConnectedUpstream {
  upstream: UpstreamConnection;
  provider: ProviderName;
}

/**
 * Connects to the primary (or, with its circuit open, straight to the fallback); a failed primary
 * connect reports `onFailover` and tries the fallback. Rejects with the last UpstreamConnectError.
 */
export async function connectUpstream(
  config: Config,
  sessionModel: string,
  handlers: UpstreamHandlers,
  onFailover: (err: Error) => void,
): Promise<ConnectedUpstream> {
  const rt = config.realtime;
  const primary = () => new UpstreamConnection({ url: rt.url, model: sessionModel, apiKey: rt.apiKey, dialect: rt.dialect }, handlers);
  const breaker = realtimeCircuit(config);
  const fb = rt.fallback;
  if (!breaker || !fb) {
    const upstream = primary();
    await upstream.connect();
    return { upstream, provider: 'primary' };
  }
  const permit = breaker.acquire();
  if (permit.target === 'primary') {
    const upstream = primary();
    try {
      await upstream.connect();
      breaker.success(permit);
      return { upstream, provider: 'primary' };
    } catch (err) {
      breaker.failure(permit);
      stageMetrics.providerFailovers.inc({ stage: 'realtime' });
      onFailover(err as Error);
    }
  }
  const upstream = new UpstreamConnection({ url: fb.url, model: fb.model ?? sessionModel, apiKey: fb.apiKey, dialect: rt.dialect }, handlers);
  await upstream.connect();
  return { upstream, provider: 'fallback' };
}
