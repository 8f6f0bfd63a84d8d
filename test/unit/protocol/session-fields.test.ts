/**
 * Every session field of OpenAI's GA and beta references is accepted (docs/DESIGN.md §7), in the
 * shapes the official SDKs send; what OpenAI refuses is still refused naming the field; the
 * upstream side is liberal (a beta server that omits optional fields).
 */
import { describe, expect, it } from 'vitest';
import { parseClientEvent, parseUpstreamEvent, toClientWireAll, toUpstreamWire, type Dialect } from '../../../src/core/protocol/dialect';
import { stamp } from '../../../src/core/protocol/stamp';
import { DEFAULT_SESSION, type ClientEventOf } from '../../../src/contracts/realtime';

const parse = (session: unknown, dialect: Dialect) => parseClientEvent(JSON.stringify({ type: 'session.update', event_id: 'evt_1', session }), dialect);
const patchOf = (session: unknown, dialect: Dialect) => {
  const r = parse(session, dialect);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return (r.event as ClientEventOf<'session.update'>).session;
};

/** What @openai/agents-realtime 0.14 sends on connect (openaiRealtimeBase._getMergedSessionConfig), plus its tracing update. */
const AGENTS_SDK_SESSION = {
  type: 'realtime',
  instructions: 'Be brief.',
  model: 'gpt-realtime',
  output_modalities: ['audio'],
  audio: {
    input: {
      format: { type: 'audio/pcm', rate: 24000 },
      noise_reduction: null,
      transcription: { model: 'gpt-4o-mini-transcribe' },
      turn_detection: { type: 'semantic_vad' },
    },
    output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 },
  },
  tool_choice: 'auto',
  tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} } }],
};

describe('session.update fields of the GA reference', () => {
  it("accepts the Agents SDK's whole session, noise_reduction: null and tracing included", () => {
    const p = patchOf(AGENTS_SDK_SESSION, 'ga');
    expect(p).toMatchObject({ input_audio_noise_reduction: null, input_audio_transcription: { model: 'gpt-4o-mini-transcribe' }, speed: 1, input_audio_format: 'pcm16', modalities: ['text', 'audio'] });
    expect(patchOf({ type: 'realtime', tracing: 'auto' }, 'ga')).toEqual({ tracing: 'auto' });
    expect(patchOf({ type: 'realtime', tracing: { workflow_name: 'w', group_id: 'g', metadata: { a: 1 } } }, 'ga').tracing).toEqual({ workflow_name: 'w', group_id: 'g', metadata: { a: 1 } });
    expect(patchOf({ type: 'realtime', tracing: null }, 'ga')).toEqual({ tracing: null });
  });

  it('accepts include, prompt, truncation, reasoning, parallel_tool_calls and transcription delay, and forwards them upstream in GA shape', () => {
    const session = {
      type: 'realtime',
      include: ['item.input_audio_transcription.logprobs'],
      prompt: { id: 'pmpt_1', version: '2', variables: { city: 'Paris' } },
      truncation: { type: 'retention_ratio', retention_ratio: 0.5, token_limits: { post_instructions: 1000 } },
      reasoning: { effort: 'low' },
      parallel_tool_calls: false,
      audio: { input: { transcription: { model: 'whisper-1', delay: 'low' }, noise_reduction: { type: 'far_field' } } },
    };
    const p = patchOf(session, 'ga');
    const up = toUpstreamWire({ type: 'session.update', session: p }, 'ga') as unknown as { session: Record<string, unknown> };
    expect(up.session).toMatchObject({ ...session, audio: { input: session.audio.input } });
    // A beta server knows none of the GA-only fields.
    const beta = toUpstreamWire({ type: 'session.update', session: p }, 'beta') as unknown as { session: Record<string, unknown> };
    expect(Object.keys(beta.session).sort()).toEqual(['input_audio_noise_reduction', 'input_audio_transcription']);
  });

  it('reads an audio format without type as audio/pcm, as the SDK types allow', () => {
    expect(patchOf({ type: 'realtime', audio: { output: { format: { rate: 24000 } } } }, 'ga')).toEqual({ output_audio_format: 'pcm16' });
  });

  it('still refuses what OpenAI refuses, naming the param', () => {
    const cases: [unknown, string, string][] = [
      [{ type: 'realtime', truncation: 'sometimes' }, 'invalid_value', 'session.truncation'],
      [{ type: 'realtime', include: ['everything'] }, 'invalid_value', 'session.include[0]'],
      [{ type: 'realtime', audio: { input: { noise_reduction: { type: 'underwater' } } } }, 'invalid_value', 'session.audio.input.noise_reduction.type'],
      [{ type: 'realtime', tracing: 42 }, 'invalid_value', 'session.tracing'],
      [{ type: 'realtime', colour: 'blue' }, 'unknown_parameter', 'session.colour'],
    ];
    for (const [session, code, param] of cases) {
      const r = parse(session, 'ga');
      expect(r.ok, JSON.stringify(session)).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ type: 'invalid_request_error', code, param, event_id: 'evt_1' });
    }
  });
});

describe('session.update fields of the beta reference', () => {
  it('accepts input_audio_noise_reduction (null or a type), tracing, speed and client_secret (dropped)', () => {
    const p = patchOf(
      { input_audio_noise_reduction: null, tracing: 'auto', speed: 1.1, client_secret: { expires_after: { anchor: 'created_at', seconds: 600 } }, tool_choice: 'auto', max_response_output_tokens: 'inf' },
      'beta',
    );
    expect(p).toEqual({ input_audio_noise_reduction: null, tracing: 'auto', speed: 1.1, tool_choice: 'auto', max_response_output_tokens: 'inf' });
    expect(patchOf({ input_audio_noise_reduction: { type: 'near_field' } }, 'beta')).toEqual({ input_audio_noise_reduction: { type: 'near_field' } });
  });

  it('refuses GA-only fields on a beta connection, naming them', () => {
    const r = parse({ include: ['item.input_audio_transcription.logprobs'] }, 'beta');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'unknown_parameter', param: 'session.include' });
  });

  it('echoes a session to a beta client without GA-only fields', () => {
    const session = { ...DEFAULT_SESSION, tracing: 'auto' as const, include: ['item.input_audio_transcription.logprobs' as const] };
    const [wire] = toClientWireAll(stamp({ type: 'session.updated', session }), 'beta') as unknown as { session: Record<string, unknown> }[];
    expect(wire!.session['tracing']).toBe('auto');
    expect(wire!.session).not.toHaveProperty('include');
    const [ga] = toClientWireAll(stamp({ type: 'session.updated', session }), 'ga') as unknown as { session: Record<string, unknown> }[];
    expect(ga!.session).toMatchObject({ tracing: 'auto', include: ['item.input_audio_transcription.logprobs'] });
  });
});

describe('upstream leniency', () => {
  it('takes a beta session.updated that omits optional fields, with the defaults, and says what it filled in', () => {
    const { input_audio_noise_reduction: _omitted, max_response_output_tokens: _too, ...sparse } = DEFAULT_SESSION;
    const u = parseUpstreamEvent(JSON.stringify({ type: 'session.updated', event_id: 'e1', session: { id: 'sess_1', object: 'realtime.session', ...sparse, extra_knob: 3 } }), 'beta');
    expect(u).toMatchObject({ known: true, event: { type: 'session.updated', session: { input_audio_noise_reduction: null, max_response_output_tokens: 'inf' } } });
    expect(u && u.known && u.note).toMatch(/input_audio_noise_reduction/);
  });

  it('keeps unknown top-level fields of a known event', () => {
    const u = parseUpstreamEvent(JSON.stringify({ type: 'input_audio_buffer.cleared', event_id: 'e2', shard: 'eu-1' }), 'beta');
    expect(u).toMatchObject({ known: true, event: { type: 'input_audio_buffer.cleared', shard: 'eu-1' } });
  });
});
