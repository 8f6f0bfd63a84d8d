import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState } from '../../../src/core/circuit-breaker';

function breaker(failureThreshold = 3, openMs = 30_000) {
  const clock = { t: 1_000 };
  const changes: CircuitState[] = [];
  const b = new CircuitBreaker({ failureThreshold, openMs, now: () => clock.t });
  b.onChange((s) => changes.push(s));
  return { b, clock, changes };
}

/** Fails `n` requests on the primary. */
function fail(b: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) b.failure(b.acquire());
}

describe('CircuitBreaker', () => {
  it('sends every request to the primary while closed', () => {
    const { b } = breaker();
    expect(b.acquire()).toEqual({ target: 'primary', probe: false });
    expect(b.current).toBe('closed');
  });

  it('stays closed after two failures and opens on the third consecutive one', () => {
    const { b, changes } = breaker();
    fail(b, 2);
    expect(b.current).toBe('closed');
    expect(b.acquire().target).toBe('primary');
    fail(b, 1);
    expect(b.current).toBe('open');
    expect(changes).toEqual(['open']);
  });

  it('counts only consecutive failures: a success in between starts over', () => {
    const { b } = breaker();
    fail(b, 2);
    b.success(b.acquire());
    fail(b, 2);
    expect(b.current).toBe('closed');
    expect(b.consecutiveFailures).toBe(2);
  });

  it('skips the primary while open, until the open period is over', () => {
    const { b, clock } = breaker(3, 30_000);
    fail(b, 3);
    clock.t += 29_999;
    expect(b.acquire()).toEqual({ target: 'fallback' });
    clock.t += 1;
    expect(b.current).toBe('half_open');
  });

  it('lets exactly one probe through when half-open; the others go to the fallback', () => {
    const { b, clock, changes } = breaker(3, 100);
    fail(b, 3);
    clock.t += 100;
    expect(b.acquire()).toEqual({ target: 'primary', probe: true });
    expect(b.acquire()).toEqual({ target: 'fallback' });
    expect(changes).toEqual(['open', 'half_open']);
  });

  it('closes when the probe succeeds', () => {
    const { b, clock, changes } = breaker(3, 100);
    fail(b, 3);
    clock.t += 100;
    b.success(b.acquire());
    expect(b.current).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    expect(b.acquire()).toEqual({ target: 'primary', probe: false });
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('opens again for a whole period when the probe fails', () => {
    const { b, clock, changes } = breaker(3, 100);
    fail(b, 3);
    clock.t += 150;
    b.failure(b.acquire());
    expect(b.current).toBe('open');
    clock.t += 99;
    expect(b.acquire().target).toBe('fallback');
    clock.t += 1;
    expect(b.acquire()).toEqual({ target: 'primary', probe: true });
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open']);
  });

  it('a released probe (cancelled, or a 4xx) lets the next request probe instead', () => {
    const { b, clock } = breaker(3, 100);
    fail(b, 3);
    clock.t += 100;
    b.release(b.acquire());
    expect(b.current).toBe('half_open');
    expect(b.acquire()).toEqual({ target: 'primary', probe: true });
  });

  it('ignores outcomes reported for requests that went to the fallback', () => {
    const { b } = breaker();
    fail(b, 3);
    const p = b.acquire();
    expect(p.target).toBe('fallback');
    b.success(p);
    expect(b.current).toBe('open');
  });

  it('a slow request let through before the circuit opened does not extend the open period when it fails', () => {
    const { b, clock } = breaker(3, 100);
    const slow = b.acquire();
    fail(b, 3);
    clock.t += 60;
    b.failure(slow);
    clock.t += 40;
    expect(b.current).toBe('half_open');
  });
});
