import { describe, expect, it } from 'vitest';
import { parseClientEvent, type Dialect } from '../../../src/core/protocol/dialect';

const ok = (raw: unknown, dialect: Dialect) => {
  const r = parseClientEvent(typeof raw === 'string' ? raw : JSON.stringify(raw), dialect);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.event;
};
const err = (raw: unknown, dialect: Dialect) => {
  const r = parseClientEvent(typeof raw === 'string' ? raw : JSON.stringify(raw), dialect);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.event)}`);
  return r.error;
};

const sameInBoth = [
  { type: 'input_audio_buffer.append', audio: 'AAECAw==' },
  { type: 'input_audio_buffer.commit' },
  { type: 'input_audio_buffer.clear' },
  { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 1500 },
  { type: 'conversation.item.delete', item_id: 'item_1' },
  { type: 'conversation.item.retrieve', item_id: 'item_1' },
  { type: 'response.create' },
  { type: 'response.cancel', response_id: 'resp_1' },
  { type: 'output_audio_buffer.clear' },
  { type: 'response.interrupt', audio_end_ms: 820 },
  { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_1', output: '{"ok":true}' } },
  { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] } },
];

describe('parseClientEvent', () => {
  for (const dialect of ['beta', 'ga'] as const) {
    for (const event of sameInBoth) {
      it(`accepts ${event.type} unchanged in the ${dialect} dialect`, () => {
        expect(ok({ event_id: 'evt_1', ...event }, dialect)).toEqual({ event_id: 'evt_1', ...event });
      });
    }
  }

  it('accepts a flat beta session.update as the internal patch', () => {
    const session = {
      modalities: ['text', 'audio'],
      voice: 'verse',
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'g711_ulaw',
      input_audio_transcription: { model: 'whisper-1' },
      turn_detection: { type: 'server_vad', silence_duration_ms: 400 },
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } }],
      tool_choice: 'auto',
      temperature: 0.7,
      max_response_output_tokens: 'inf',
    };
    expect(ok({ type: 'session.update', session }, 'beta')).toEqual({ type: 'session.update', session });
  });

  it('translates a GA session.update with nested audio into the flat internal patch', () => {
    const event = ok(
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          model: 'gpt-realtime',
          output_modalities: ['audio'],
          instructions: 'Be brief.',
          audio: {
            input: {
              format: { type: 'audio/pcm', rate: 24000 },
              transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
              turn_detection: { type: 'semantic_vad', eagerness: 'high' },
              noise_reduction: { type: 'near_field' },
            },
            output: { format: { type: 'audio/pcma' }, voice: 'marin', speed: 1.2 },
          },
          tool_choice: { type: 'function', name: 'lookup' },
          max_output_tokens: 512,
        },
      },
      'ga',
    );
    expect(event).toEqual({
      type: 'session.update',
      session: {
        model: 'gpt-realtime',
        modalities: ['text', 'audio'],
        instructions: 'Be brief.',
        input_audio_format: 'pcm16',
        input_audio_transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
        turn_detection: { type: 'semantic_vad', eagerness: 'high' },
        input_audio_noise_reduction: { type: 'near_field' },
        output_audio_format: 'g711_alaw',
        voice: 'marin',
        speed: 1.2,
        tool_choice: { type: 'function', name: 'lookup' },
        max_response_output_tokens: 512,
      },
    });
  });

  it('maps GA text-only output to beta text modality', () => {
    const event = ok({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } }, 'ga');
    expect(event).toEqual({ type: 'session.update', session: { modalities: ['text'] } });
  });

  it('normalises the beta tool_choice {function:{name}} form to {type, name}', () => {
    const event = ok({ type: 'session.update', session: { tool_choice: { type: 'function', function: { name: 'f' } } } }, 'beta');
    expect(event).toEqual({ type: 'session.update', session: { tool_choice: { type: 'function', name: 'f' } } });
  });

  it('flattens chat-completions style tools', () => {
    const event = ok(
      { type: 'session.update', session: { tools: [{ type: 'function', function: { name: 'f', description: 'd' } }] } },
      'beta',
    );
    expect(event).toEqual({ type: 'session.update', session: { tools: [{ type: 'function', name: 'f', description: 'd' }] } });
  });

  it('translates GA response.create overrides to the beta names', () => {
    const event = ok(
      {
        type: 'response.create',
        response: {
          output_modalities: ['text'],
          audio: { output: { format: { type: 'audio/pcmu' }, voice: 'cedar' } },
          max_output_tokens: 'inf',
          conversation: 'none',
          input: [{ type: 'item_reference', id: 'item_1' }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello' }] }],
        },
      },
      'ga',
    );
    expect(event).toEqual({
      type: 'response.create',
      response: {
        modalities: ['text'],
        output_audio_format: 'g711_ulaw',
        voice: 'cedar',
        max_response_output_tokens: 'inf',
        conversation: 'none',
        input: [{ type: 'item_reference', id: 'item_1' }, { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hello' }] }],
      },
    });
  });

  it('translates a GA assistant output_text item to the beta text part', () => {
    const event = ok(
      { type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi' }] } },
      'ga',
    );
    expect(event).toEqual({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hi' }] },
    });
  });

  it('answers unparsable JSON with invalid_json', () => {
    expect(err('{"type":', 'beta')).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('accepts a text frame delivered as bytes', () => {
    expect(parseClientEvent(Buffer.from('{"type":"input_audio_buffer.commit"}'), 'beta')).toEqual({
      ok: true,
      event: { type: 'input_audio_buffer.commit' },
    });
  });

  it('answers a JSON value without a type with invalid_event', () => {
    expect(err([1, 2], 'beta').code).toBe('invalid_event');
    expect(err({ event_id: 'e9' }, 'ga')).toMatchObject({ code: 'invalid_event', param: 'type', event_id: 'e9' });
  });

  it('answers an unknown type with unknown_event and echoes the event_id', () => {
    expect(err({ type: 'response.explode', event_id: 'e1' }, 'ga')).toMatchObject({
      code: 'unknown_event',
      param: 'type',
      event_id: 'e1',
    });
  });

  it('names the wrong field in the message and param', () => {
    const e = err({ type: 'conversation.item.truncate', item_id: 'i', content_index: 0, audio_end_ms: 'soon' }, 'beta');
    expect(e).toMatchObject({ code: 'invalid_value', param: 'audio_end_ms' });
    expect(e.message).toContain("'audio_end_ms'");
  });

  it('names a nested GA field by its GA path', () => {
    const e = err({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/wav' } } } } }, 'ga');
    expect(e).toMatchObject({ code: 'invalid_value', param: 'session.audio.input.format.type' });
  });

  it('reports a missing field as missing_required_parameter', () => {
    expect(err({ type: 'conversation.item.delete' }, 'beta')).toMatchObject({
      code: 'missing_required_parameter',
      param: 'item_id',
    });
  });

  it('rejects a GA session field on a beta connection as unknown_parameter', () => {
    const e = err({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'] } }, 'beta');
    expect(e).toMatchObject({ code: 'unknown_parameter', param: 'session.type' });
    expect(e.message).toContain('beta');
  });

  it('rejects a beta session field on a GA connection as unknown_parameter', () => {
    expect(err({ type: 'session.update', session: { input_audio_format: 'pcm16' } }, 'ga')).toMatchObject({
      code: 'unknown_parameter',
      param: 'session.input_audio_format',
    });
  });

  it('rejects audio that is not base64', () => {
    expect(err({ type: 'input_audio_buffer.append', audio: 'not base64!' }, 'beta')).toMatchObject({
      code: 'invalid_value',
      param: 'audio',
    });
  });

  it('rejects audio over 15 MiB of base64', () => {
    const audio = 'A'.repeat(15 * 1024 * 1024 + 4);
    expect(err({ type: 'input_audio_buffer.append', audio }, 'beta')).toMatchObject({ code: 'invalid_value', param: 'audio' });
  });

  it('rejects assistant audio injection', () => {
    const e = err(
      { type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'audio', audio: 'AA==' }] } },
      'beta',
    );
    expect(e).toMatchObject({ code: 'invalid_value', param: 'item.content[0].type' });
  });
});
