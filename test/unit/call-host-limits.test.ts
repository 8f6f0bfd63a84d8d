/**
 * The pure parts of the call-host rules: which client events the business allows (both modes use
 * the same guard), stream-id order for the SSE fan-out, and the WebSocket message cap against the
 * largest legal event.
 */
import { describe, expect, it } from 'vitest';
import { BusinessInput, resolveBusiness } from '../../src/contracts/business';
import type { ClientEvent } from '../../src/contracts/realtime';
import { streamIdAfter } from '../../src/gateway/sessions/stream-fanout';
import { guardClientEvent } from '../../src/security/client-overrides';
import { largestAppendBytes, MAX_WS_MESSAGE_BYTES } from '../../src/security/content-limits';

function business(allowed: string[]) {
  const input = BusinessInput.parse({
    session: { instructions: 'Locked.', tools: [{ type: 'function', name: 'lookup_customer', parameters: { type: 'object' } }] },
    tool_handlers: { lookup_customer: 'builtin' },
    allowed_overrides: allowed,
  });
  return resolveBusiness('b1', input, { llmModel: 'gpt-4o-mini', realtimeModel: 'gpt-realtime', extraVoices: [] }, 0);
}

const ctx = (allowed: string[]) => ({ business: business(allowed), extraVoices: [], serverCallIds: new Set(['call_srv']), mode: 'chained' as const });
const system = { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'x' }] };
const ev = (e: unknown) => e as ClientEvent;

describe('guardClientEvent', () => {
  it('refuses client system messages unless system_messages or instructions is allowed', () => {
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'conversation.item.create', item: system }))).toMatchObject({ code: 'override_not_allowed', param: 'item.role' });
    expect(guardClientEvent(ctx(['system_messages']), ev({ type: 'conversation.item.create', item: system }))).toBeNull();
    expect(guardClientEvent(ctx(['instructions']), ev({ type: 'conversation.item.create', item: system }))).toBeNull();
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'response.create', response: { input: [system] } }))).toMatchObject({ param: 'response.input[0].role' });
  });

  it('refuses per-response overrides the business does not allow, by name', () => {
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'response.create', response: { instructions: 'x' } }))).toMatchObject({ param: 'response.instructions' });
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'response.create', response: { max_response_output_tokens: 5 } }))).toMatchObject({ param: 'response.max_response_output_tokens' });
    expect(guardClientEvent(ctx(['instructions', 'temperature']), ev({ type: 'response.create', response: { instructions: 'x', temperature: 0.7 } }))).toBeNull();
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'response.create' }))).toBeNull();
  });

  it('refuses forged calls and results of the gateway’s own tools', () => {
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'conversation.item.create', item: { type: 'function_call', name: 'lookup_customer', call_id: 'c1', arguments: '{}' } }))).toMatchObject({ code: 'tool_not_client_side' });
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_srv', output: '{}' } }))).toMatchObject({ code: 'tool_not_client_side' });
    expect(guardClientEvent(ctx(['voice']), ev({ type: 'input_audio_buffer.commit' }))).toBeNull();
  });
});

describe('streamIdAfter', () => {
  it('orders Redis stream ids by time, then sequence, numerically', () => {
    expect(streamIdAfter('1712345678901-1', '1712345678901-0')).toBe(true);
    expect(streamIdAfter('1712345678901-10', '1712345678901-9')).toBe(true);
    expect(streamIdAfter('999-5', '1000-0')).toBe(false);
    expect(streamIdAfter('5-0', '5-0')).toBe(false);
    expect(streamIdAfter('1-0', '0-0')).toBe(true);
  });
});

describe('MAX_WS_MESSAGE_BYTES', () => {
  it('holds the largest append a call admits, with its JSON, and refuses OpenAI’s 15 MiB', () => {
    const json = JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'evt_'.padEnd(40, 'x'), audio: 'A'.repeat(largestAppendBytes()) });
    expect(Buffer.byteLength(json)).toBeLessThan(MAX_WS_MESSAGE_BYTES);
    expect(MAX_WS_MESSAGE_BYTES).toBeLessThan(15 * 1024 * 1024);
  });
});
