/**
 * Writes sent without waiting for each reply: one Redis connection keeps them in order, so a
 * stream of small text or audio pieces, or a job's log entries, costs no round trip each.
 * `flush()` waits for all of them (whatever order they finish in) and rethrows the first failure.
 */
export class WriteBatch {
  private all: Promise<unknown> = Promise.resolve();
  private error: unknown = null;

  add(p: Promise<unknown>): void {
    const settled = p.catch((err: unknown) => {
      this.error ??= err;
    });
    this.all = Promise.all([this.all, settled]);
  }

  async flush(): Promise<void> {
    await this.all;
    if (this.error) throw this.error;
  }
}
