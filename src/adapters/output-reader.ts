/**
 * Follows one call's output stream with blocking XREAD on a dedicated connection (a blocking read
 * holds its connection) and hands records, in stream order, to the driver. Stopping disconnects
 * the connection, which ends a pending XREAD at once.
 */
import { OutputStream, type OutputRecord } from './output-stream';
import { dedicatedConnection, type Redis } from './redis';

export class OutputReader {
  private conn: Redis | null = null;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private lastId: string,
    private readonly onRecord: (r: OutputRecord) => Promise<void> | void,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    this.conn = dedicatedConnection(this.redis);
    this.done = this.loop(this.conn);
  }

  private async loop(conn: Redis): Promise<void> {
    while (!this.stopped) {
      let records: OutputRecord[];
      try {
        records = await OutputStream.read(conn, this.key, this.lastId, 5_000);
      } catch (err) {
        if (this.stopped) return;
        this.onError(err as Error);
        continue; // ioredis reconnects; the read resumes from lastId
      }
      for (const r of records) {
        this.lastId = r.id;
        if (this.stopped) return;
        try {
          await this.onRecord(r);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.conn?.disconnect();
    await this.done;
  }
}
