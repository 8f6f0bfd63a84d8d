import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION, type ServerEvent } from '../../../src/contracts/realtime';
import {
  parseUpstreamEvent,
  sessionFromGa,
  sessionToGa,
  toClientWire,
  toClientWireAll,
  toUpstreamWire,
} from '../../../src/core/protocol/dialect';
import { serverEvents } from '../../../src/core/protocol/server-events';
import { ResponseEmitter } from '../../../src/core/protocol/response-emitter';

const session = {
  ...DEFAULT_SESSION,
  id: 'sess_1',
  object: 'realtime.session' as const,
  model: 'gpt-realtime',
  instructions: 'Be brief.',
  voice: 'marin',
  input_audio_format: 'g711_ulaw' as const,
  output_audio_format: 'g711_ulaw' as const,
  input_audio_transcription: { model: 'whisper-1', language: 'en' },
  input_audio_noise_reduction: { type: 'far_field' as const },
  tools: [{ type: 'function' as const, name: 'lookup', description: 'Find', parameters: { type: 'object' } }],
  tool_choice: { type: 'function' as const, name: 'lookup' },
  max_response_output_tokens: 300,
  speed: 1.1,
};

/** One of every internal server event type, built the way the drivers build them. */
function everyEvent(): ServerEvent[] {
  const audio = new ResponseEmitter({ modalities: ['text', 'audio'], conversationId: 'conv_1', voice: 'marin', outputAudioFormat: 'pcm16' });
  const text = new ResponseEmitter({ modalities: ['text'], previousItemId: 'item_0' });
  const user = serverEvents.userAudioItem('item_u');
  return [
    serverEvents.sessionCreated(session),
    serverEvents.sessionUpdated({ ...session, turn_detection: null, modalities: ['text'] }),
    serverEvents.conversationCreated('conv_1'),
    serverEvents.speechStarted({ audio_start_ms: 1000, item_id: 'item_u' }),
    serverEvents.speechStopped({ audio_end_ms: 2500, item_id: 'item_u' }),
    ...serverEvents.userAudioCommitted({ previous_item_id: null, item_id: 'item_u' }),
    serverEvents.cleared(),
    serverEvents.transcriptionDelta({ item_id: 'item_u', delta: 'Hel' }),
    serverEvents.transcriptionCompleted({ item_id: 'item_u', transcript: 'Hello' }),
    serverEvents.transcriptionFailed({ item_id: 'item_u', error: { type: 'server_error', message: 'boom' } }),
    serverEvents.truncated({ item_id: 'item_a', content_index: 0, audio_end_ms: 640 }),
    serverEvents.deleted('item_a'),
    serverEvents.retrieved(user),
    serverEvents.error({ code: 'invalid_value', message: 'nope', param: 'x', event_id: 'e1' }),
    serverEvents.functionCallDone({ call_id: 'call_1', name: 'lookup', arguments: '{}', output: '{"ok":true}', duration_ms: 12 }),
    { event_id: 'event_r', type: 'rate_limits.updated', rate_limits: [{ name: 'requests', limit: 10, remaining: 9, reset_seconds: 1.5 }] },
    { event_id: 'event_o', type: 'output_audio_buffer.started', response_id: 'resp_1' },
    ...audio.created(),
    ...audio.beginMessage(),
    ...audio.transcriptDelta('Hi'),
    ...audio.audioDelta('AAAA'),
    ...audio.endMessage(),
    ...audio.beginFunctionCall('call_1', 'lookup'),
    ...audio.argumentsDelta('call_1', '{"q":'),
    ...audio.endFunctionCall('call_1', '{"q":1}'),
    ...audio.done('completed', {}, { total_tokens: 3, input_tokens: 1, output_tokens: 2 }),
    ...text.created(),
    ...text.beginMessage(),
    ...text.transcriptDelta('Hi'),
    ...text.done('incomplete', { reason: 'max_output_tokens' }),
  ];
}

describe('server events on the client wire', () => {
  it('leaves beta events as they are, apart from the GA-only name and item.done', () => {
    for (const event of everyEvent()) {
      const wire = toClientWireAll(event, 'beta');
      if (event.type === 'conversation.item.done') expect(wire).toEqual([]);
      else if (event.type === 'response.function_call_arguments.done') {
        const { name: _gaOnly, ...beta } = event;
        expect(wire).toEqual([beta]);
      } else expect(wire).toEqual([event]);
    }
  });

  it('strips name from function_call_arguments.done for beta clients but keeps it for GA', () => {
    const done = everyEvent().find((e) => e.type === 'response.function_call_arguments.done')!;
    expect(toClientWire(done, 'beta')).not.toHaveProperty('name');
    expect(toClientWire(done, 'ga')).toHaveProperty('name', 'lookup');
  });

  it.each([
    ['response.audio.delta', 'response.output_audio.delta'],
    ['response.audio.done', 'response.output_audio.done'],
    ['response.audio_transcript.delta', 'response.output_audio_transcript.delta'],
    ['response.audio_transcript.done', 'response.output_audio_transcript.done'],
    ['response.text.delta', 'response.output_text.delta'],
    ['response.text.done', 'response.output_text.done'],
    ['conversation.item.created', 'conversation.item.added'],
    ['response.done', 'response.done'],
    ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_started'],
  ])('names %s %s for GA clients', (internal, ga) => {
    const event = everyEvent().find((e) => e.type === internal)!;
    expect(toClientWire(event, 'ga')?.type).toBe(ga);
  });

  it('nests the session for GA clients', () => {
    const wire = toClientWire(serverEvents.sessionCreated(session), 'ga');
    expect(wire?.['session']).toEqual({
      type: 'realtime',
      object: 'realtime.session',
      id: 'sess_1',
      model: 'gpt-realtime',
      output_modalities: ['audio'],
      instructions: 'Be brief.',
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          transcription: { model: 'whisper-1', language: 'en' },
          turn_detection: DEFAULT_SESSION.turn_detection,
          noise_reduction: { type: 'far_field' },
        },
        output: { format: { type: 'audio/pcmu' }, voice: 'marin', speed: 1.1 },
      },
      tools: session.tools,
      tool_choice: { type: 'function', name: 'lookup' },
      max_output_tokens: 300,
    });
  });

  it('gives GA clients output_audio parts and output_modalities in responses', () => {
    const events = everyEvent();
    const partAdded = events.find((e) => e.type === 'response.content_part.added')!;
    expect(toClientWire(partAdded, 'ga')).toMatchObject({ part: { type: 'output_audio', transcript: '' } });
    const done = events.find((e) => e.type === 'response.done')!;
    expect(toClientWire(done, 'ga')).toMatchObject({
      response: {
        output_modalities: ['audio'],
        audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } },
        output: [{ type: 'message', content: [{ type: 'output_audio', transcript: 'Hi' }] }, { type: 'function_call' }],
      },
    });
  });

  it('can synthesize conversation.item.done for a completed item from a beta source', () => {
    const created = serverEvents.itemCreated(serverEvents.userAudioItem('item_u'), null);
    expect(toClientWireAll(created, 'ga', { synthesizeItemDone: true }).map((e) => e.type)).toEqual([
      'conversation.item.added',
      'conversation.item.done',
    ]);
    expect(toClientWireAll(created, 'ga').map((e) => e.type)).toEqual(['conversation.item.added']);
  });
});

describe('upstream events', () => {
  it('round-trips every internal event through the GA wire unchanged', () => {
    for (const event of everyEvent()) {
      for (const wire of toClientWireAll(event, 'ga')) {
        expect(parseUpstreamEvent(JSON.stringify(wire), 'ga'), event.type).toEqual({ known: true, event });
      }
    }
  });

  it('round-trips every internal event through the beta wire, except the GA-only name', () => {
    for (const event of everyEvent()) {
      for (const wire of toClientWireAll(event, 'beta')) {
        const expected =
          event.type === 'response.function_call_arguments.done' ? (({ name: _, ...e }) => e)(event) : event;
        expect(parseUpstreamEvent(JSON.stringify(wire), 'beta'), event.type).toEqual({ known: true, event: expected });
      }
    }
  });

  it('passes an unknown GA event through untouched and says so', () => {
    const raw = { type: 'input_audio_buffer.timeout_triggered', event_id: 'e', audio_start_ms: 1, audio_end_ms: 2, item_id: 'i' };
    expect(parseUpstreamEvent(JSON.stringify(raw), 'ga')).toEqual({ known: false, event: raw });
  });

  it('passes a malformed known event through with the reason', () => {
    const raw = { type: 'response.output_audio.delta', event_id: 'e', response_id: 'r' };
    const parsed = parseUpstreamEvent(raw, 'ga');
    expect(parsed).toMatchObject({ known: false, event: raw });
    expect(parsed && !parsed.known && parsed.issue).toContain('item_id');
  });

  it('returns null for frames that are not events', () => {
    expect(parseUpstreamEvent('nope', 'ga')).toBeNull();
    expect(parseUpstreamEvent('{"no":"type"}', 'beta')).toBeNull();
  });

  it('reads an upstream GA session with fields the internal model lacks', () => {
    const ga = {
      type: 'realtime',
      object: 'realtime.session',
      id: 'sess_9',
      model: 'gpt-realtime',
      output_modalities: ['audio'],
      instructions: '',
      tracing: null,
      expires_at: 0,
      audio: {
        input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: null, noise_reduction: null, turn_detection: { type: 'server_vad', threshold: 0.5, idle_timeout_ms: null, future_knob: 1 } },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 },
      },
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
    };
    const parsed = parseUpstreamEvent({ type: 'session.created', event_id: 'e', session: ga }, 'ga');
    expect(parsed).toMatchObject({
      known: true,
      event: { session: { id: 'sess_9', modalities: ['text', 'audio'], turn_detection: { type: 'server_vad', threshold: 0.5, idle_timeout_ms: null } } },
    });
  });

  it('maps a full session to GA and back', () => {
    expect(sessionFromGa(sessionToGa(session))).toEqual(session);
  });
});

describe('client events to an upstream', () => {
  it('adds session.type realtime and nests audio for a GA upstream', () => {
    expect(
      toUpstreamWire({ type: 'session.update', session: { voice: 'alloy', input_audio_format: 'g711_ulaw', temperature: 0.9 } }, 'ga'),
    ).toEqual({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcmu' } }, output: { voice: 'alloy' } } },
    });
  });

  it('sends beta events to a beta upstream unchanged', () => {
    const event = { type: 'session.update' as const, session: { voice: 'alloy', temperature: 0.9 } };
    expect(toUpstreamWire(event, 'beta')).toEqual(event);
  });

  it('translates response.create and assistant items for a GA upstream', () => {
    expect(toUpstreamWire({ type: 'response.create', response: { modalities: ['text', 'audio'], voice: 'ash', max_response_output_tokens: 50 } }, 'ga')).toEqual({
      type: 'response.create',
      response: { output_modalities: ['audio'], audio: { output: { voice: 'ash' } }, max_output_tokens: 50 },
    });
    expect(
      toUpstreamWire({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'x' }] } }, 'ga'),
    ).toEqual({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x' }] } });
  });

  it('refuses to send response.interrupt upstream', () => {
    const interrupt = { type: 'response.interrupt' } as unknown as Parameters<typeof toUpstreamWire>[0];
    expect(() => toUpstreamWire(interrupt, 'ga')).toThrow(/never sent upstream/);
  });
});
