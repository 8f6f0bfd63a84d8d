/**
 * Twilio Media Streams messages (docs/PROTOCOLS.md §6.2–6.3): the inbound ones validated with zod
 * (`sequenceNumber`, `chunk` and `timestamp` are strings on the wire), the outbound ones built
 * here, and the TwiML that connects a call to our media stream.
 */
import { z } from 'zod';

const Str = z.union([z.string(), z.number()]).transform(String);

export const TwilioInbound = z.discriminatedUnion('event', [
  z.object({ event: z.literal('connected') }).loose(),
  z
    .object({
      event: z.literal('start'),
      streamSid: z.string().optional(),
      start: z
        .object({
          streamSid: z.string(),
          callSid: z.string().default(''),
          accountSid: z.string().optional(),
          customParameters: z.record(z.string(), z.string()).default({}),
        })
        .loose(),
    })
    .loose(),
  z.object({ event: z.literal('media'), media: z.object({ payload: z.string(), timestamp: Str.optional(), track: z.string().optional() }).loose() }).loose(),
  z.object({ event: z.literal('mark'), mark: z.object({ name: z.string().default('') }).loose() }).loose(),
  z.object({ event: z.literal('dtmf'), dtmf: z.object({ digit: z.string() }).loose() }).loose(),
  z.object({ event: z.literal('stop') }).loose(),
]);
export type TwilioInbound = z.infer<typeof TwilioInbound>;

export function parseTwilioMessage(raw: string): TwilioInbound | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = TwilioInbound.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export const twilioOut = {
  media: (streamSid: string, payload: Uint8Array) => ({ event: 'media', streamSid, media: { payload: Buffer.from(payload).toString('base64') } }),
  mark: (streamSid: string, name: string) => ({ event: 'mark', streamSid, mark: { name } }),
  clear: (streamSid: string) => ({ event: 'clear', streamSid }),
};

function xmlAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TWIML = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * `<Connect><Stream>` to the media stream, with the parameters it needs (query strings are not
 * allowed). When we close the stream, Twilio asks `actionUrl` what the call does next.
 */
export function connectStreamTwiml(streamUrl: string, parameters: Readonly<Record<string, string>>, actionUrl: string): string {
  const params = Object.entries(parameters)
    .map(([name, value]) => `<Parameter name="${xmlAttr(name)}" value="${xmlAttr(value)}"/>`)
    .join('');
  return `${TWIML}<Response><Connect action="${xmlAttr(actionUrl)}"><Stream url="${xmlAttr(streamUrl)}">${params}</Stream></Connect></Response>`;
}

/** After the stream: bridge the caller to a person (an E.164 number or a SIP URI), or hang up. */
export function afterStreamTwiml(transferTo: string | null): string {
  if (!transferTo) return `${TWIML}<Response><Hangup/></Response>`;
  const target = transferTo.startsWith('sip') ? `<Sip>${xmlText(transferTo)}</Sip>` : `<Number>${xmlText(transferTo)}</Number>`;
  return `${TWIML}<Response><Dial>${target}</Dial></Response>`;
}

function xmlText(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** DTMF digits pressed in a row become one user text item, e.g. "[DTMF] 1234#". */
export function dtmfText(digits: string): string {
  return `[DTMF] ${digits}`;
}
