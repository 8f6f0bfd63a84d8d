import { describe, expect, it } from 'vitest';
import { abortable } from '../../src/core/abortable';

async function* forever(): AsyncGenerator<number> {
  yield 1;
  await new Promise(() => {}); // a body reader that never wakes up
}

async function* quietOnAbort(signal: AbortSignal): AsyncGenerator<number> {
  yield 1;
  await new Promise((r) => signal.addEventListener('abort', r));
  // like the openai SDK: ends without an error when aborted
}

describe('abortable', () => {
  it('passes values through until the source ends', async () => {
    const out: number[] = [];
    for await (const v of abortable((async function* () { yield 1; yield 2; })(), new AbortController().signal)) out.push(v);
    expect(out).toEqual([1, 2]);
  });

  it('stops a source that never wakes up with an AbortError', async () => {
    const ctl = new AbortController();
    const seen: number[] = [];
    const run = (async () => {
      for await (const v of abortable(forever(), ctl.signal)) {
        seen.push(v);
        ctl.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1]);
  });

  it('turns a source that ends quietly on abort into an AbortError', async () => {
    const ctl = new AbortController();
    const run = (async () => {
      for await (const _ of abortable(quietOnAbort(ctl.signal), ctl.signal)) ctl.abort();
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });
});
