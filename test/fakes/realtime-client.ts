/**
 * A tiny promise-based realtime client for tests (over the `ws` package): buffers every server
 * event so tests can `await next('response.done')` without sleeps or missed events.
 */
import WebSocket from 'ws';

export type ServerEvent = { type: string; event_id?: string } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RealtimeTestClientOptions {
  headers?: Record<string, string>;
  protocols?: string[];
}

export class RealtimeTestClient {
  /** Every server event received, in order. */
  readonly received: ServerEvent[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()) as ServerEvent);
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.wake();
    }));
  }

  static connect(url: string, options: RealtimeTestClientOptions = {}): Promise<RealtimeTestClient> {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: { Authorization: 'Bearer test', ...options.headers } });
    const client = new RealtimeTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake failed with HTTP ${res.statusCode}`)));
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(event: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(event));
  }

  /** Sends raw s16/μ-law bytes as input_audio_buffer.append events of `chunkBytes` each. */
  appendAudio(bytes: Buffer, chunkBytes = 960): void {
    for (let i = 0; i < bytes.length; i += chunkBytes) {
      this.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(i, i + chunkBytes).toString('base64') });
    }
  }

  /**
   * Resolves with the next not-yet-consumed event of `type` (matching `where`), consuming every
   * event up to it. Rejects if the socket closes first.
   */
  async next(type: string, where: (e: ServerEvent) => boolean = () => true): Promise<ServerEvent> {
    for (;;) {
      for (let i = this.cursor; i < this.received.length; i++) {
        const event = this.received[i];
        if (event && event.type === type && where(event)) {
          this.cursor = i + 1;
          return event;
        }
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${type}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The received events from `from` to `to`, both included. */
  between(from: ServerEvent, to: ServerEvent): ServerEvent[] {
    const start = this.received.indexOf(from);
    const end = this.received.indexOf(to);
    return this.received.slice(start, end + 1);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.closed;
  }
}
