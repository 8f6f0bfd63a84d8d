/**
 * The circuits in front of the primary providers, as /readyz shows them (docs/DESIGN.md §8). Each
 * breaker lives in its worker process (failover decisions are per process); every process writes
 * its breakers' states into one Redis hash (`<stage>|<instance>`, the heartbeat's member names) on
 * each change, so any gateway can show them. Entries of processes without a live heartbeat are
 * ignored (and dropped). A stage shows its worst state across processes: open, half_open, closed.
 */
import type { Stage } from '../config';
import type { CircuitBreaker, CircuitState } from '../core/circuit-breaker';
import type { Keys, Redis } from './redis';
import { liveMembers } from './worker-heartbeats';

interface PublishedCircuit {
  state: CircuitState;
  /** An open circuit's probe time (epoch ms): past it, the circuit reads half-open. */
  reopens_at: number | null;
}

const SEVERITY: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export class CircuitPublisher {
  private readonly fields: string[] = [];

  private constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Publishes each breaker's state now and on every change. */
  static async start(
    redis: Redis,
    keys: Keys,
    instance: string,
    breakers: Partial<Record<Stage, CircuitBreaker | null>>,
    onError: (err: Error) => void,
  ): Promise<CircuitPublisher> {
    const p = new CircuitPublisher(redis, keys);
    for (const [stage, breaker] of Object.entries(breakers)) {
      if (!breaker) continue;
      const field = `${stage}|${instance}`;
      p.fields.push(field);
      const write = () => p.write(field, { state: breaker.current, reopens_at: breaker.reopensAt });
      breaker.onChange(() => void write().catch(onError));
      await write();
    }
    return p;
  }

  private async write(field: string, c: PublishedCircuit): Promise<void> {
    await this.redis.hset(this.keys.providerCircuits(), field, JSON.stringify(c));
  }

  async stop(): Promise<void> {
    if (this.fields.length) await this.redis.hdel(this.keys.providerCircuits(), ...this.fields).catch(() => {});
  }
}

/** Each stage's worst circuit state across live worker processes; stages without a fallback are absent. */
export async function readCircuits(redis: Redis, keys: Keys, now = Date.now()): Promise<Partial<Record<Stage, CircuitState>>> {
  const [live, all] = await Promise.all([liveMembers(redis, keys), redis.hgetall(keys.providerCircuits())]);
  const alive = new Set(live);
  const out: Partial<Record<Stage, CircuitState>> = {};
  const dead: string[] = [];
  for (const [field, json] of Object.entries(all)) {
    if (!alive.has(field)) {
      dead.push(field);
      continue;
    }
    const stage = field.slice(0, field.indexOf('|')) as Stage;
    let c: PublishedCircuit;
    try {
      c = JSON.parse(json) as PublishedCircuit;
    } catch {
      continue;
    }
    const state: CircuitState = c.state === 'open' && c.reopens_at !== null && now >= c.reopens_at ? 'half_open' : c.state;
    const prev = out[stage];
    if (!prev || SEVERITY[state] > SEVERITY[prev]) out[stage] = state;
  }
  // A process that died without stopping left its fields behind.
  if (dead.length) await redis.hdel(keys.providerCircuits(), ...dead).catch(() => {});
  return out;
}
