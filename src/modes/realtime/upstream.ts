/**
 * The gateway's own WebSocket to an OpenAI Realtime-compatible server (PROTOCOLS.md §1.1): the
 * provider key goes in the handshake (never the client's), the dialect is the server's (GA for
 * OpenAI today, beta only for servers configured so), and every frame is translated at this edge.
 *
 * Why `ws` and not the `openai` SDK's realtime client: the SDK client parses every frame into its
 * own objects, which the relay would then stringify again (a standard audio delta's bytes go to a
 * client of the same dialect untouched here: bench/RESULTS.md, 7 µs instead of 31 µs per delta),
 * and the SDK has one class per dialect where this edge switches by configuration.
 */
import WebSocket from 'ws';
import { parseUpstreamEvent, toUpstreamWire, type Dialect, type UpstreamClientEvent, type UpstreamEvent } from '../../core/protocol';

export interface UpstreamOptions {
  url: string;
  model: string;
  apiKey: string;
  dialect: Dialect;
  /** How long the handshake may take before it counts as refused. */
  connectTimeoutMs?: number;
}

/** Why the upstream could not be reached: the handshake status and the rate-limit hint, if any. */
export class UpstreamConnectError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryAfterS: number | null,
  ) {
    super(message);
    this.name = 'UpstreamConnectError';
  }
}

export interface UpstreamHandlers {
  onEvent(e: UpstreamEvent): void;
  /** The socket closed without us asking (a drop, or the server closing it). */
  onDrop(code: number, reason: string): void;
}

function upstreamUrl(base: string, model: string): string {
  const u = new URL(base);
  u.searchParams.set('model', model);
  return u.toString();
}

export class UpstreamConnection {
  private ws: WebSocket | null = null;
  private closing = false;

  constructor(
    private readonly o: UpstreamOptions,
    private readonly handlers: UpstreamHandlers,
  ) {}

  get dialect(): Dialect {
    return this.o.dialect;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Resolves once the handshake succeeded; rejects with UpstreamConnectError otherwise. */
  connect(): Promise<void> {
    const ws = new WebSocket(upstreamUrl(this.o.url, this.o.model), {
      headers: {
        Authorization: `Bearer ${this.o.apiKey}`,
        ...(this.o.dialect === 'beta' ? { 'OpenAI-Beta': 'realtime=v1' } : {}),
      },
      handshakeTimeout: this.o.connectTimeoutMs ?? 10_000,
    });
    this.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: UpstreamConnectError) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      };
      ws.once('unexpected-response', (_req, res) => {
        const retry = Number(res.headers['retry-after']);
        const status = res.statusCode ?? 0;
        fail(new UpstreamConnectError(`The realtime provider refused the connection (HTTP ${status}).`, status, Number.isFinite(retry) ? retry : null));
      });
      ws.once('error', (err) => fail(new UpstreamConnectError(`Could not connect to the realtime provider: ${err.message}`, null, null)));
      ws.once('open', () => {
        settled = true;
        ws.removeAllListeners();
        ws.on('message', (data, isBinary) => {
          if (isBinary) return;
          const parsed = parseUpstreamEvent(data, this.o.dialect);
          if (parsed) this.handlers.onEvent(parsed);
        });
        ws.on('error', () => {}); // 'close' follows and reports the drop
        ws.on('close', (code, reason) => {
          if (!this.closing) this.handlers.onDrop(code, reason.toString());
        });
        resolve();
      });
    });
  }

  send(event: UpstreamClientEvent): boolean {
    if (!this.open) return false;
    this.ws!.send(JSON.stringify(toUpstreamWire(event, this.o.dialect)));
    return true;
  }

  close(): void {
    this.closing = true;
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, 'call ended');
  }
}
