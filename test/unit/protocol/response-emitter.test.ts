import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../../src/contracts/realtime';
import { ResponseEmitter } from '../../../src/core/protocol/response-emitter';

const types = (events: ServerEvent[]) => events.map((e) => e.type);
const of = <T extends ServerEvent['type']>(events: ServerEvent[], type: T) =>
  events.filter((e): e is Extract<ServerEvent, { type: T }> => e.type === type);

describe('ResponseEmitter', () => {
  it('emits an audio reply in OpenAI order', () => {
    const em = new ResponseEmitter({ responseId: 'resp_1', modalities: ['text', 'audio'], previousItemId: 'item_user' });
    const events = [
      ...em.created(),
      ...em.beginMessage('item_a'),
      ...em.transcriptDelta('Hel'),
      ...em.audioDelta('AAAA'),
      ...em.transcriptDelta('lo'),
      ...em.audioDelta('BBBB'),
      ...em.endMessage(),
      ...em.done('completed'),
    ];
    expect(types(events)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.created',
      'response.content_part.added',
      'response.audio_transcript.delta',
      'response.audio.delta',
      'response.audio_transcript.delta',
      'response.audio.delta',
      'response.audio.done',
      'response.audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    for (const e of events) {
      if ('content_index' in e) expect(e).toMatchObject({ response_id: 'resp_1', item_id: 'item_a', output_index: 0, content_index: 0 });
    }
    expect(of(events, 'conversation.item.created')[0]).toMatchObject({ previous_item_id: 'item_user' });
    expect(of(events, 'response.audio_transcript.done')[0]?.transcript).toBe('Hello');
    const done = of(events, 'response.done')[0]!.response;
    expect(done).toMatchObject({ id: 'resp_1', status: 'completed', status_details: null, modalities: ['text', 'audio'] });
    expect(done.output).toEqual([
      { id: 'item_a', object: 'realtime.item', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'audio', transcript: 'Hello' }] },
    ]);
  });

  it('gives every event a unique event_id', () => {
    const em = new ResponseEmitter({ modalities: ['text', 'audio'] });
    const events = [...em.created(), ...em.beginMessage(), ...em.transcriptDelta('x'), ...em.done('completed')];
    const ids = events.map((e) => e.event_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.startsWith('event_'))).toBe(true);
  });

  it('emits a text-only reply with response.text events', () => {
    const em = new ResponseEmitter({ modalities: ['text'] });
    const events = [...em.created(), ...em.beginMessage(), ...em.transcriptDelta('Hi'), ...em.endMessage(), ...em.done('completed')];
    expect(types(events)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.created',
      'response.content_part.added',
      'response.text.delta',
      'response.text.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    expect(of(events, 'response.content_part.added')[0]?.part).toEqual({ type: 'text', text: '' });
    expect(of(events, 'response.text.done')[0]?.text).toBe('Hi');
  });

  it('refuses audio on a text-only reply', () => {
    const em = new ResponseEmitter({ modalities: ['text'] });
    em.created();
    em.beginMessage();
    expect(() => em.audioDelta('AAAA')).toThrow(/text-only/);
  });

  it('emits a tool call reply with the name on arguments.done and indexes after the message', () => {
    const em = new ResponseEmitter({ responseId: 'resp_2', modalities: ['text', 'audio'] });
    const events = [
      ...em.created(),
      ...em.beginMessage('item_m'),
      ...em.transcriptDelta('Let me check.'),
      ...em.endMessage(),
      ...em.beginFunctionCall('call_1', 'lookup', 'item_f'),
      ...em.argumentsDelta('call_1', '{"q":'),
      ...em.argumentsDelta('call_1', '"x"}'),
      ...em.endFunctionCall('call_1'),
      ...em.done('completed'),
    ];
    expect(types(events).slice(10)).toEqual([
      'response.output_item.added',
      'conversation.item.created',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    expect(of(events, 'conversation.item.created')[1]).toMatchObject({ previous_item_id: 'item_m' });
    expect(of(events, 'response.function_call_arguments.done')[0]).toMatchObject({
      response_id: 'resp_2',
      item_id: 'item_f',
      output_index: 1,
      call_id: 'call_1',
      name: 'lookup',
      arguments: '{"q":"x"}',
    });
    expect(em.output[1]).toEqual({
      id: 'item_f',
      object: 'realtime.item',
      type: 'function_call',
      status: 'completed',
      call_id: 'call_1',
      name: 'lookup',
      arguments: '{"q":"x"}',
    });
    expect(em.lastItemId).toBe('item_f');
  });

  it('closes open parts as incomplete before a cancelled response.done', () => {
    const em = new ResponseEmitter({ modalities: ['text', 'audio'] });
    const start = [...em.created(), ...em.beginMessage('item_a'), ...em.transcriptDelta('I was say'), ...em.audioDelta('AAAA')];
    expect(start).toHaveLength(6);
    expect(em.openMessageItemId).toBe('item_a');
    const end = em.done('cancelled', { reason: 'turn_detected' });
    expect(types(end)).toEqual([
      'response.audio.done',
      'response.audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    expect(of(end, 'response.output_item.done')[0]?.item.status).toBe('incomplete');
    const response = of(end, 'response.done')[0]!.response;
    expect(response.status).toBe('cancelled');
    expect(response.status_details).toEqual({ type: 'cancelled', reason: 'turn_detected' });
    expect(response.output[0]).toMatchObject({ status: 'incomplete', content: [{ type: 'audio', transcript: 'I was say' }] });
    expect(em.isDone).toBe(true);
  });

  it('closes an unfinished function call as incomplete when the reply fails', () => {
    const em = new ResponseEmitter({ modalities: ['text'] });
    em.created();
    em.beginFunctionCall('call_1', 'lookup');
    em.argumentsDelta('call_1', '{"q"');
    const end = em.done('failed', { error: { type: 'server_error', code: 'llm_unavailable' } });
    expect(types(end)).toEqual(['response.output_item.done', 'conversation.item.done', 'response.done']);
    expect(of(end, 'response.output_item.done')[0]?.item).toMatchObject({ status: 'incomplete', arguments: '{"q"' });
    expect(of(end, 'response.done')[0]?.response.status_details).toEqual({
      type: 'failed',
      error: { type: 'server_error', code: 'llm_unavailable' },
    });
  });

  it('reports usage on response.done', () => {
    const em = new ResponseEmitter({ modalities: ['text'] });
    em.created();
    const [done] = em.done('completed', {}, { total_tokens: 5, input_tokens: 2, output_tokens: 3 });
    expect(done).toMatchObject({ type: 'response.done', response: { usage: { total_tokens: 5 }, output: [] } });
  });

  it('rejects events after response.done', () => {
    const em = new ResponseEmitter({ modalities: ['text'] });
    em.done('cancelled', { reason: 'client_cancelled' });
    expect(() => em.beginMessage()).toThrow(/already done/);
    expect(() => em.done('completed')).toThrow(/already done/);
  });

  it('rejects a delta when no message is open', () => {
    const em = new ResponseEmitter({ modalities: ['text', 'audio'] });
    expect(() => em.transcriptDelta('x')).toThrow(/beginMessage/);
  });
});
