/**
 * How much text a client may put into a call (docs/DESIGN.md §6): one text item's size, and the total
 * text one call may store (items and instructions the client sends are kept for the call's TTL in
 * Redis). Pure checks; POST /v1/calls/:id/events and the WebSocket apply them to every event.
 */
import type { ClientEvent } from '../contracts/realtime';
import { AUDIO_FORMATS, bytesPerMs } from '../core/audio/formats';
import { DEFAULT_CALL_LIMITS } from './call-limits';

export interface ContentLimits {
  /** Characters in one text content part (conversation.item.create, response.create input). */
  maxTextItemChars: number;
  /** UTF-8 bytes of client text one call may store over its life. */
  maxCallTextBytes: number;
}

export const DEFAULT_CONTENT_LIMITS: ContentLimits = { maxTextItemChars: 32 * 1024, maxCallTextBytes: 1024 * 1024 };

export interface ContentProblem {
  code: 'text_too_large';
  message: string;
  param: string;
}

/** Every text a client event carries, with where it sits (for the error's `param`). */
function clientTexts(e: ClientEvent): { param: string; text: string }[] {
  const out: { param: string; text: string }[] = [];
  const fromItem = (item: unknown, at: string) => {
    const content = (item as { content?: unknown }).content;
    if (!Array.isArray(content)) return;
    content.forEach((part: unknown, i) => {
      const text = (part as { text?: unknown; transcript?: unknown }).text ?? (part as { transcript?: unknown }).transcript;
      if (typeof text === 'string') out.push({ param: `${at}.content[${i}].text`, text });
    });
    const output = (item as { output?: unknown }).output;
    if (typeof output === 'string') out.push({ param: `${at}.output`, text: output });
  };
  const ev = e as { type: string; item?: unknown; response?: { input?: unknown[]; instructions?: unknown }; session?: { instructions?: unknown } };
  if (ev.type === 'conversation.item.create' && ev.item) fromItem(ev.item, 'item');
  if (ev.type === 'session.update' && typeof ev.session?.instructions === 'string') out.push({ param: 'session.instructions', text: ev.session.instructions });
  if (ev.type === 'response.create' && ev.response) {
    ev.response.input?.forEach((item, i) => fromItem(item, `response.input[${i}]`));
    if (typeof ev.response.instructions === 'string') out.push({ param: 'response.instructions', text: ev.response.instructions });
  }
  return out;
}

/** The first text over the per-item cap, if any. */
export function oversizedText(e: ClientEvent, limits: ContentLimits): ContentProblem | null {
  for (const { param, text } of clientTexts(e)) {
    if (text.length > limits.maxTextItemChars) {
      return { code: 'text_too_large', param, message: `${param} has ${text.length} characters; one text item may have at most ${limits.maxTextItemChars}.` };
    }
  }
  return null;
}

export function textBytes(e: ClientEvent): number {
  return clientTexts(e).reduce((n, t) => n + Buffer.byteLength(t.text), 0);
}

/**
 * The largest WebSocket message the gateway reads (larger ones close the socket with 1009). The
 * largest legal event is an input_audio_buffer.append of the longest frame the call guard admits
 * (maxFrameMs, 30 s) in the widest format (pcm16, 24 kHz: 1.44 MB, 1.92 MB as base64); OpenAI
 * allows 15 MiB appends, but anything past 30 s of audio is refused here anyway. 4 MiB leaves room
 * for the JSON around it and for a text item at its cap (32 Ki characters, ≤ 6 bytes each escaped).
 */
export const MAX_WS_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Base64 bytes of the longest audio frame a call admits, in its widest format (checked against MAX_WS_MESSAGE_BYTES in tests). */
export function largestAppendBytes(maxFrameMs = DEFAULT_CALL_LIMITS.maxFrameMs): number {
  const raw = Math.max(...AUDIO_FORMATS.map((f) => bytesPerMs(f))) * maxFrameMs;
  return Math.ceil(raw / 3) * 4;
}
