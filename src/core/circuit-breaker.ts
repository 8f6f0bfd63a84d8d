/**
 * The circuit breaker in front of a stage's primary provider (docs/DESIGN.md §8 provider failover):
 * closed (the primary takes every request) → open after `failureThreshold` consecutive failures
 * (every request goes to the fallback for `openMs`) → half-open (one request probes the primary;
 * its success closes the circuit, its failure opens it again). Pure: the clock is injected.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitOptions {
  failureThreshold: number;
  openMs: number;
  now?: () => number;
}

/** What one request may do: try the primary (and whether it is the half-open probe), or skip it. */
export type CircuitPermit = { target: 'primary'; probe: boolean } | { target: 'fallback' };

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;
  private readonly listeners: ((state: CircuitState) => void)[] = [];

  constructor(private readonly o: CircuitOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The state as a reader sees it now: an open circuit whose time is up reads half-open. */
  get current(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.o.openMs) return 'half_open';
    return this.state;
  }

  /** When an open circuit lets its probe through (epoch ms); null unless open. */
  get reopensAt(): number | null {
    return this.state === 'open' ? this.openedAt + this.o.openMs : null;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Called with the new state on every transition (metrics, the shared /readyz view). */
  onChange(fn: (state: CircuitState) => void): void {
    this.listeners.push(fn);
  }

  /** Asks for a request; a `probe: true` permit must be settled with success(), failure() or release(). */
  acquire(): CircuitPermit {
    if (this.state === 'closed') return { target: 'primary', probe: false };
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.o.openMs) return { target: 'fallback' };
      this.set('half_open');
    }
    // Half-open: one probe at a time; everything else keeps going to the fallback meanwhile.
    if (this.probing) return { target: 'fallback' };
    this.probing = true;
    return { target: 'primary', probe: true };
  }

  /** The primary answered. */
  success(permit: CircuitPermit): void {
    if (permit.target !== 'primary') return;
    this.failures = 0;
    if (permit.probe) this.probing = false;
    if (this.state !== 'closed') this.set('closed');
  }

  /** The primary failed (connect error, 5xx, 429 after retries, no first byte in time). */
  failure(permit: CircuitPermit): void {
    if (permit.target !== 'primary') return;
    if (permit.probe) {
      this.probing = false;
      return this.trip();
    }
    // A request let through before the circuit opened, failing after it did, changes nothing.
    if (this.state !== 'closed') return;
    this.failures++;
    if (this.failures >= this.o.failureThreshold) this.trip();
  }

  /** The request ended without saying anything about the primary's health (cancelled, a 4xx). */
  release(permit: CircuitPermit): void {
    if (permit.target === 'primary' && permit.probe) this.probing = false;
  }

  private trip(): void {
    this.openedAt = this.now();
    this.set('open');
  }

  private set(state: CircuitState): void {
    if (state === 'closed') this.failures = 0;
    if (this.state === state && state !== 'open') return;
    this.state = state;
    for (const fn of this.listeners) fn(state);
  }
}
