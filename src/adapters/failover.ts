/**
 * One stage's providers (docs/DESIGN.md §8 provider failover): the primary, an optional fallback, the
 * stage's first-byte timeout and the circuit breaker in front of the primary. A stage processor
 * hands `run()` one attempt as a function of the provider to use; `run()` decides where it goes:
 *
 * - no fallback configured: the primary, with the usual retries (as before failover existed);
 * - circuit closed (or half-open, for its one probe): the primary, retried only on 429; a connect
 *   error, 5xx, 408/409, 429 once its retries are spent, or no first byte within the stage's
 *   timeout counts against the primary and the same request is made on the fallback at once;
 * - circuit open: straight to the fallback.
 *
 * On the fallback the usual retries apply (it is the last resort). Breaker state is per process.
 */
import type OpenAI from 'openai';
import type { Stage } from '../config';
import { CircuitBreaker, type CircuitPermit } from '../core/circuit-breaker';
import { isRetryableProviderError } from '../errors';
import { withRetries } from './retry';

export type ProviderName = 'primary' | 'fallback';

export interface ProviderTarget {
  name: ProviderName;
  client: OpenAI;
  /** The fallback's own model (`*_FALLBACK_MODEL`); undefined: the model the primary would be asked for. */
  model: string | undefined;
}

export interface Attempt {
  provider: ProviderTarget;
  /** The job's signal, also aborted when no first byte came within the stage's timeout. */
  signal: AbortSignal;
  /** The first byte (token, audio) arrived: the stage timeout no longer applies to this attempt. */
  firstByte(): void;
}

export interface FailoverRunOptions {
  signal: AbortSignal;
  /** Retries on the provider that is the last resort (default 3). */
  maxRetries?: number;
  onRetry?: (r: { retry: number; delayMs: number; error: Error; provider: ProviderName }) => void | Promise<void>;
  /** The primary failed and the request goes to the fallback now. */
  onFailover?: (f: { error: Error }) => void | Promise<void>;
}

export interface FailoverResult<T> {
  value: T;
  provider: ProviderName;
}

/** No first byte within the stage's timeout (STT: no transcript). Counts like a connect error. */
export class FirstByteTimeoutError extends Error {
  override name = 'FirstByteTimeoutError';
  constructor(stage: Stage, readonly timeoutMs: number) {
    super(`no first byte from the ${stage} provider within ${timeoutMs} ms`);
  }
}

/** The failures docs/DESIGN.md §8 sends to the fallback: connect errors and timeouts, 408/409/429, 5xx. */
function isFailoverError(err: unknown): boolean {
  if (err instanceof FirstByteTimeoutError) return true;
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 429) return true; // insufficient_quota too: the primary's account is out, the fallback's may not be
  return isRetryableProviderError(err);
}

const failedOnProvider = new WeakMap<object, ProviderName>();

/** Which provider a request that `run()` gave up on failed on last (for the stage log). */
export function failedOn(err: unknown): ProviderName | undefined {
  return typeof err === 'object' && err !== null ? failedOnProvider.get(err) : undefined;
}

function tagged(provider: ProviderName) {
  return (err: unknown): never => {
    if (typeof err === 'object' && err !== null && !failedOnProvider.has(err)) failedOnProvider.set(err, provider);
    throw err;
  };
}

/** On the primary, only a rate limit is worth waiting for: everything else goes to the fallback at once. */
function isRateLimit(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown } | null;
  return e?.status === 429 && e.code !== 'insufficient_quota';
}

export class StageProvider {
  private readonly primary: ProviderTarget;
  private readonly fallback: ProviderTarget | null;
  /** Null without a fallback: with nowhere else to go, the primary is never skipped. */
  readonly breaker: CircuitBreaker | null;
  private readonly timeoutMs: number;
  private readonly onSwitch: ((stage: Stage) => void) | undefined;

  constructor(
    readonly stage: Stage,
    o: {
      primary: OpenAI;
      fallback: { client: OpenAI; model: string | undefined } | null;
      timeoutMs: number;
      circuit: { failureThreshold: number; openMs: number; now?: () => number };
      /** Counts a switch to the fallback (the provider_failover metric). */
      onSwitch?: (stage: Stage) => void;
    },
  ) {
    this.primary = { name: 'primary', client: o.primary, model: undefined };
    this.fallback = o.fallback ? { name: 'fallback', client: o.fallback.client, model: o.fallback.model } : null;
    this.breaker = o.fallback ? new CircuitBreaker(o.circuit) : null;
    this.timeoutMs = o.timeoutMs;
    this.onSwitch = o.onSwitch;
  }

  async run<T>(fn: (a: Attempt) => Promise<T>, o: FailoverRunOptions): Promise<FailoverResult<T>> {
    const onRetry = (provider: ProviderName) => (r: { retry: number; delayMs: number; error: Error }) => o.onRetry?.({ ...r, provider });
    if (!this.fallback || !this.breaker) {
      const value = await withRetries(() => this.attempt(this.primary, fn, o.signal), {
        signal: o.signal,
        ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
        onRetry: onRetry('primary'),
      }).catch(tagged('primary'));
      return { value, provider: 'primary' };
    }
    const permit: CircuitPermit = this.breaker.acquire();
    if (permit.target === 'primary') {
      try {
        const value = await withRetries(() => this.attempt(this.primary, fn, o.signal), {
          signal: o.signal,
          retryIf: isRateLimit,
          ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
          onRetry: onRetry('primary'),
        });
        this.breaker.success(permit);
        return { value, provider: 'primary' };
      } catch (err) {
        if (o.signal.aborted || !isFailoverError(err)) {
          // Cancelled, or a request the fallback would refuse as well (400, 401, …): not the primary's health.
          this.breaker.release(permit);
          return tagged('primary')(err);
        }
        this.breaker.failure(permit);
        this.onSwitch?.(this.stage);
        await o.onFailover?.({ error: err as Error });
      }
    }
    const fallback = this.fallback;
    const value = await withRetries(() => this.attempt(fallback, fn, o.signal), {
      signal: o.signal,
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      onRetry: onRetry('fallback'),
    }).catch(tagged('fallback'));
    return { value, provider: 'fallback' };
  }

  /** One attempt on one provider, aborted with FirstByteTimeoutError when its first byte is late. */
  private async attempt<T>(provider: ProviderTarget, fn: (a: Attempt) => Promise<T>, jobSignal: AbortSignal): Promise<T> {
    const timer = new AbortController();
    const timeout = new FirstByteTimeoutError(this.stage, this.timeoutMs);
    const handle = setTimeout(() => timer.abort(timeout), this.timeoutMs);
    try {
      return await fn({ provider, signal: AbortSignal.any([jobSignal, timer.signal]), firstByte: () => clearTimeout(handle) });
    } catch (err) {
      // The SDK reports our own abort as a user abort: say what it was, so it is retried or failed over.
      if (timer.signal.aborted && !jobSignal.aborted) throw timeout;
      throw err;
    } finally {
      clearTimeout(handle);
    }
  }
}
