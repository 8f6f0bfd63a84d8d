/**
 * A Realtime-protocol test client over a real WebSocket: records every server event and lets a
 * test await the next event of a type (no sleeps), send events, and stream audio.
 */
import WebSocket from 'ws';

export type WireEvent = { type: string; [k: string]: any };

export class RealtimeClient {
  readonly events: WireEvent[] = [];
  private waiters: { match: (e: WireEvent) => boolean; resolve: (e: WireEvent) => void; from: number }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const e = JSON.parse(data.toString()) as WireEvent;
      this.events.push(e);
      const idx = this.events.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (idx >= w.from && w.match(e)) {
          w.resolve(e);
          return false;
        }
        return true;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, o: { key?: string; protocols?: string[]; headers?: Record<string, string> } = {}): Promise<RealtimeClient> {
    const ws = new WebSocket(url, o.protocols ?? [], { headers: { ...(o.key ? { authorization: `Bearer ${o.key}` } : {}), ...o.headers } });
    const client = new RealtimeClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(e: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(e));
  }

  sendBinary(b: Uint8Array): void {
    this.ws.send(b);
  }

  /** Appends audio as base64 JSON events of `chunkBytes` each (fast: the VAD counts samples, not wall time). */
  appendAudio(bytes: Uint8Array, chunkBytes = 4800): void {
    for (let i = 0; i < bytes.length; i += chunkBytes) {
      this.send({ type: 'input_audio_buffer.append', audio: Buffer.from(bytes.subarray(i, i + chunkBytes)).toString('base64') });
    }
  }

  /** Resolves with the first event (from index `from`, default: any seen so far) matching. */
  waitFor(type: string | ((e: WireEvent) => boolean), from = 0, timeoutMs = 20_000): Promise<WireEvent> {
    const match = typeof type === 'string' ? (e: WireEvent) => e.type === type : type;
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof type === 'string' ? type : 'event'}; got ${this.types().join(', ')}`)), timeoutMs);
      this.waiters.push({ match, from, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  types(from = 0): string[] {
    return this.events.slice(from).map((e) => e.type);
  }

  close(): void {
    this.ws.close();
  }
}
