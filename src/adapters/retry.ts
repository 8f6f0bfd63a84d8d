/**
 * Runs a provider call with retries: 408/409/429/5xx and connection errors are retried with
 * backoff (honouring retry-after); other 4xx and cancellations are not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableProviderError } from '../errors';
import { retryDelayMs } from '../core/backoff';

export interface RetryOptions {
  signal?: AbortSignal;
  maxRetries?: number;
  /** Which errors are worth another attempt here (default: isRetryableProviderError). */
  retryIf?: (err: unknown) => boolean;
  onRetry?: (info: { retry: number; delayMs: number; error: Error }) => void | Promise<void>;
}

export async function withRetries<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const maxRetries = o.maxRetries ?? 3;
  for (let retry = 0; ; retry++) {
    try {
      return await fn(retry + 1);
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      if (retry >= maxRetries || !(o.retryIf ?? isRetryableProviderError)(err)) throw err;
      const headers = (err as { headers?: Headers }).headers;
      const delayMs = retryDelayMs(retry, headers);
      await o.onRetry?.({ retry: retry + 1, delayMs, error: err as Error });
      await sleep(delayMs, undefined, { signal: o.signal });
    }
  }
}

/** A short description of a provider error for logs and error events. */
export function describeError(err: unknown): string {
  const e = err as { status?: number; message?: string; code?: string };
  return e?.status ? `${e.status} ${e.code ?? ''} ${e.message ?? ''}`.replace(/\s+/g, ' ').trim() : String(e?.message ?? err);
}
