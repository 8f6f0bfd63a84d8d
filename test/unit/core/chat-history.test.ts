import { describe, expect, it } from 'vitest';
import { answeredToolCalls } from '../../../src/core/chat-history';

const call = (id: string) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } });

describe('answeredToolCalls', () => {
  it('keeps a history whose tool calls are all answered as it is', () => {
    const h = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [call('a'), call('b')] },
      { role: 'tool', tool_call_id: 'b', content: 'B' },
      { role: 'tool', tool_call_id: 'a', content: 'A' },
      { role: 'assistant', content: 'done' },
    ];
    expect(answeredToolCalls(h)).toEqual(h);
  });

  it('drops unanswered calls (and the message when nothing is left of it), keeping its words', () => {
    expect(
      answeredToolCalls([
        { role: 'assistant', content: null, tool_calls: [call('a')] },
        { role: 'assistant', content: 'Let me check.', tool_calls: [call('b')] },
        { role: 'assistant', content: null, tool_calls: [call('c'), call('d')] },
        { role: 'tool', tool_call_id: 'd', content: 'D' },
        { role: 'user', content: 'and?' },
      ]),
    ).toEqual([
      { role: 'assistant', content: 'Let me check.' },
      { role: 'assistant', content: null, tool_calls: [call('d')] },
      { role: 'tool', tool_call_id: 'd', content: 'D' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('drops a tool message whose call is gone (deleted) or comes after it', () => {
    expect(
      answeredToolCalls([
        { role: 'tool', tool_call_id: 'x', content: 'X' },
        { role: 'assistant', content: null, tool_calls: [call('x')] },
        { role: 'tool', tool_call_id: 'y', content: 'Y' },
      ]),
    ).toEqual([]);
  });
});
