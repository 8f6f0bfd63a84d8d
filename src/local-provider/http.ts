/** Small HTTP helpers of the local provider's OpenAI-compatible endpoints: bodies, errors, writes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** OpenAI's error object: `{error: {message, type, param, code}}`. */
export interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(`request body over ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function apiError(status: number, message: string, param: string | null = null, code?: string | null): ApiError {
  return { message, type: errorTypeFor(status), param, code: code === undefined ? defaultCodeFor(status) : code };
}

function errorTypeFor(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function defaultCodeFor(status: number): string | null {
  if (status === 401) return 'invalid_api_key';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return null;
}

/** The headers OpenAI sends with every answer (clients read the request id and rate limits). */
export function commonHeaders(): Record<string, string> {
  return {
    'x-request-id': `req_${randomUUID().replace(/-/g, '')}`,
    'openai-processing-ms': '1',
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-reset-requests': '6ms',
    'x-ratelimit-limit-tokens': '10000000',
    'x-ratelimit-remaining-tokens': '9999000',
    'x-ratelimit-reset-tokens': '0s',
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...commonHeaders(),
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, status: number, error: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error }, headers);
}

/** Waits `ms` (no timer at all for 0); resolves early with false when `signal` aborts. */
export function delay(ms: number | undefined, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (!ms || ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes a chunk and waits until it can write more, or until the socket is gone. */
export function write(res: ServerResponse, chunk: string | Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  const more = res.write(chunk);
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      // A macrotask between writes keeps chunks as separate writes on the wire.
      setImmediate(() => resolve(!res.destroyed));
    };
    if (more) done();
    else {
      res.once('drain', done);
      res.once('close', done);
    }
  });
}

export function randomId(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}
