/**
 * Twilio request signing (docs/PROTOCOLS.md §6.1): `X-Twilio-Signature` is
 * base64(HMAC-SHA1(auth token, exact URL + POST params sorted by name, each as name+value)).
 * Also a stream token of our own: Twilio's WebSocket upgrade is not known to be signed, so the
 * TwiML hands the media stream an HMAC over (business, CallSid) that `start` must echo back.
 */
import { createHmac } from 'node:crypto';
import { secretsEqual } from '../secrets';

export function twilioSignature(authToken: string, url: string, params: Readonly<Record<string, string>>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export function validTwilioSignature(authToken: string, signature: string | undefined, url: string, params: Readonly<Record<string, string>>): boolean {
  if (!signature) return false;
  return secretsEqual(signature, twilioSignature(authToken, url, params));
}

/** The token our TwiML passes to the media stream as a <Parameter>, bound to the business and call. */
export function streamToken(authToken: string, businessId: string, callSid: string): string {
  return createHmac('sha256', authToken).update(`twilio-stream\n${businessId}\n${callSid}`, 'utf8').digest('base64url');
}

export function validStreamToken(authToken: string, token: string | undefined, businessId: string, callSid: string): boolean {
  if (!token) return false;
  return secretsEqual(token, streamToken(authToken, businessId, callSid));
}
