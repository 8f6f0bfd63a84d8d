import { describe, expect, it } from 'vitest';
import { GREETING, localAnswer, NO_SPEECH_RECOGNITION, NO_STT_ANSWER, offeredTools } from '../../../src/local-provider/answers';
import type { ChatMessage } from '../../../src/local-provider/chat-wire';
import { CUSTOMER_SUPPORT_TOOLS } from '../../../src/tools/customer-support';

/** The tools as the LLM worker sends them: chat-completions shape. */
const TOOLS = CUSTOMER_SUPPORT_TOOLS.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));

function answer(text: string, tools: unknown[] = TOOLS) {
  return localAnswer({ messages: [{ role: 'system', content: 'You are an agent.' }, { role: 'user', content: text }], tools });
}

function toolOf(text: string): string | undefined {
  return answer(text).tool_calls?.[0]?.name;
}

describe('local provider answers: which tool for which text', () => {
  it.each([
    ['my number is +1 (555) 010-0123', 'lookup_customer'],
    ['5550100123', 'lookup_customer'],
    ['I have a problem with my router', 'create_ticket'],
    ['please open a ticket', 'create_ticket'],
    ['my internet is not working', 'create_ticket'],
    ['can I talk to a human?', 'transfer_to_human'],
    ['get me an agent', 'transfer_to_human'],
    ['I want a real person', 'transfer_to_human'],
    ['ok bye', 'end_call'],
    ['Goodbye!', 'end_call'],
  ])('%j → %s', (text, tool) => {
    expect(toolOf(text)).toBe(tool);
  });

  it('passes the phone number as typed digits, and the problem as the ticket summary', () => {
    expect(answer('call me back on 555-010-0123 please').tool_calls?.[0]).toEqual({ name: 'lookup_customer', arguments: { phone_number: '5550100123' } });
    expect(answer('URGENT: the app is broken').tool_calls?.[0]).toEqual({
      name: 'create_ticket',
      arguments: { summary: 'URGENT: the app is broken', priority: 'urgent' },
    });
  });

  it.each(['hello there', 'what are your opening hours?', 'help', 'what is the meaning of life?'])('%j gets text and no tool', (text) => {
    const reply = answer(text);
    expect(reply.tool_calls).toBeUndefined();
    expect(reply.text).toMatch(/\w/);
  });

  it('answers what it cannot do honestly, and says how to get a real model', () => {
    expect(answer('what is the meaning of life?').text).toMatch(/local demo provider.*OPENAI_API_KEY/s);
    expect(answer('hi').text).toBe(GREETING);
    expect(answer('what are your hours').text).toMatch(/Monday to Friday/);
  });

  it('explains the missing speech recognition when the transcript is the marker', () => {
    const text = answer(NO_SPEECH_RECOGNITION).text;
    expect(text).toBe(NO_STT_ANSWER);
    expect(text).toMatch(/no speech recognition/);
    expect(text).toMatch(/OPENAI_API_KEY/);
    expect(text).toMatch(/STT_BASE_URL/);
  });

  it('calls no tool the request does not offer', () => {
    const reply = answer('my number is 5550100123', []);
    expect(reply.tool_calls).toBeUndefined();
    expect(reply.text).toMatch(/no lookup tool/);
  });

  it('reads tool names in the chat and the flat (realtime) shape', () => {
    expect([...offeredTools([{ type: 'function', function: { name: 'a' } }, { type: 'function', name: 'b' }, null, 'x'])]).toEqual(['a', 'b']);
  });

  it('greets when there is no user text yet', () => {
    expect(localAnswer({ messages: [{ role: 'system', content: 'x' }] }).text).toBe(GREETING);
  });
});

describe('local provider answers: after a tool ran', () => {
  function afterTool(name: string, output: unknown): string | undefined {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'whatever' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: typeof output === 'string' ? output : JSON.stringify(output) },
    ];
    const reply = localAnswer({ messages, tools: TOOLS });
    expect(reply.tool_calls).toBeUndefined();
    return reply.text;
  }

  it('says what each support tool returned', () => {
    expect(afterTool('lookup_customer', { found: true, customer: { name: 'Jane Doe', account_id: 'A-1001' } })).toBe('I found you: Jane Doe, account A-1001. How can I help?');
    expect(afterTool('lookup_customer', { found: false, phone_number: '+15550000000' })).toMatch(/couldn't find a customer with the number \+15550000000/);
    expect(afterTool('create_ticket', { created: true, ticket_id: 'tkt_abc' })).toMatch(/opened ticket tkt_abc/);
    expect(afterTool('transfer_to_human', { transferring: true })).toMatch(/transferring you/);
    expect(afterTool('end_call', { ending: true })).toMatch(/Goodbye/);
  });

  it('says a tool failed, and reads out an unknown tool\'s result', () => {
    expect(afterTool('lookup_customer', { found: false, error: 'not a valid phone number' })).toBe('The lookup customer tool failed: not a valid phone number.');
    expect(afterTool('check_weather', 'sunny')).toBe('The check weather tool answered: sunny.');
  });
});
