/**
 * Webhook tool handler: POSTs the arguments as JSON, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` (header `X-Signature: t=<ts>,v1=<hex>`, like Stripe's scheme) so the
 * business can check the request is ours and fresh. The JSON response body is the tool result.
 * `Idempotency-Key` names the tool run: it is the same if the run is repeated after a worker died
 * in the middle of the request, so a webhook with side effects can answer a repeat from its own
 * record instead of acting twice.
 *
 * SSRF (docs/DESIGN.md §6): the request goes only to a public address (or one WEBHOOK_ALLOW_CIDRS
 * admits). DNS is resolved here and every address checked in the socket's own `lookup`, so the
 * address connected to is the address checked (no rebinding between check and connect).
 * Redirects are not followed; a non-2xx body is never handed back; the body read is capped.
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkAddress, checkWebhookUrl, type Cidr } from '../core/net/destination';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export interface WebhookPolicy {
  /** Private ranges the operator admits (WEBHOOK_ALLOW_CIDRS). */
  allow: readonly Cidr[];
  /** Largest response body read; more is an error. */
  maxResponseBytes: number;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = { allow: [], maxResponseBytes: 256 * 1024 };

/** Refused before any byte is sent: the message names the rule, never internal details. */
export class WebhookRefused extends Error {}

/** A `lookup` for net.connect that resolves, then refuses if any address is not permitted. */
function guardedLookup(allow: readonly Cidr[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      // Every answer must pass: a mix of public and private answers is a rebinding attempt.
      for (const a of addresses) {
        const v = checkAddress(a.address, allow);
        if (!v.ok) return callback(Object.assign(new WebhookRefused(`webhook host '${hostname}' resolves to a refused address: ${v.reason}`), { code: 'EREFUSED_ADDRESS' }), '', 0);
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}

export async function callWebhook(
  handler: { url: string; timeout_ms: number; secret?: string | undefined },
  payload: Record<string, unknown>,
  signal: AbortSignal,
  idempotencyKey: string,
  policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY,
): Promise<unknown> {
  // Checked again here, not only when saved: the record may predate the rule, or the allow list changed.
  const verdict = checkWebhookUrl(handler.url, policy.allow);
  if (!verdict.ok) throw new WebhookRefused(`webhook URL refused: ${verdict.reason}`);
  const body = JSON.stringify(payload);
  const ts = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': 'voice-agent-webhook/1',
    'idempotency-key': idempotencyKey,
  };
  if (handler.secret) headers['x-signature'] = `t=${ts},v1=${signWebhook(handler.secret, ts, body)}`;
  const both = AbortSignal.any([signal, AbortSignal.timeout(handler.timeout_ms)]);
  const { status, text } = await post(new URL(handler.url), headers, body, both, policy).catch((err: Error) => {
    if (err instanceof WebhookRefused) throw err;
    if (both.aborted && (both.reason as Error | undefined)?.name === 'TimeoutError') throw new Error(`webhook timed out after ${handler.timeout_ms} ms`);
    throw new Error(`webhook unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  });
  // The body of a failed or redirected request may be anything (an internal page): never passed on.
  if (status >= 300 && status < 400) throw new Error(`webhook answered a redirect (HTTP ${status}); redirects are not followed`);
  if (status < 200 || status >= 300) throw new Error(`webhook answered HTTP ${status}`);
  try {
    return JSON.parse(text);
  } catch {
    return { result: text };
  }
}

function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal, policy: WebhookPolicy): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    // Literal IPs skip `lookup` in net.connect; checkWebhookUrl above vetted them already.
    const req = client.request(url, { method: 'POST', headers, signal, lookup: guardedLookup(policy.allow), agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        res.once('end', () => resolve({ status, text: '' }));
        res.once('error', reject);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > policy.maxResponseBytes) {
          req.destroy();
          reject(new WebhookRefused(`webhook response larger than ${policy.maxResponseBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.once('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}
