/**
 * Iterates an async iterable until `signal` aborts, then stops at once with an AbortError.
 * Needed because the openai SDK's streams end silently on abort (they swallow the AbortError),
 * and a body reader may not wake up at all: a cancelled turn must neither look complete nor hang.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed below; avoid an unhandled rejection when never raced
  try {
    while (true) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done) break;
      yield r.value;
    }
    if (signal.aborted) throw abortError(signal);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as Error | undefined;
  const e = new Error(reason?.message ?? 'aborted');
  e.name = 'AbortError';
  return e;
}
