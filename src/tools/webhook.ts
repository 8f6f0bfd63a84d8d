/**
 * Webhook tool handler: POSTs the arguments as JSON, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` (header `X-Signature: t=<ts>,v1=<hex>`, like Stripe's scheme) so the
 * business can check the request is ours and fresh. The JSON response body is the tool result.
 * `Idempotency-Key` names the tool run: it is the same if the run is repeated after a worker died
 * in the middle of the request, so a webhook with side effects can answer a repeat from its own
 * record instead of acting twice.
 */
import { createHmac } from 'node:crypto';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export async function callWebhook(
  handler: { url: string; timeout_ms: number; secret?: string | undefined },
  payload: Record<string, unknown>,
  signal: AbortSignal,
  idempotencyKey: string,
): Promise<unknown> {
  const body = JSON.stringify(payload);
  const ts = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'voice-agent-webhook/1', 'idempotency-key': idempotencyKey };
  if (handler.secret) headers['x-signature'] = `t=${ts},v1=${signWebhook(handler.secret, ts, body)}`;
  const res = await fetch(handler.url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.any([signal, AbortSignal.timeout(handler.timeout_ms)]),
  }).catch((err: Error) => {
    if (err.name === 'TimeoutError') throw new Error(`webhook timed out after ${handler.timeout_ms} ms`);
    throw new Error(`webhook unreachable: ${err.message}`);
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    return { result: text };
  }
}
