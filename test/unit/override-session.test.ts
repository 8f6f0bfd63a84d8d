/** Only a change is an override (docs/DESIGN.md §7): clients such as the Agents SDK resend their whole session. */
import { describe, expect, it } from 'vitest';
import { BusinessInput, resolveBusiness } from '../../src/contracts/business';
import { SessionPatch } from '../../src/contracts/session';
import { overrideSession } from '../../src/gateway/call-factory';
import { ApiError } from '../../src/errors';

const defaults = { llmModel: 'gpt-4o-mini', realtimeModel: 'gpt-realtime', extraVoices: [] };
function business(allowed: string[] | undefined) {
  const input = BusinessInput.parse({ mode: 'realtime', session: { instructions: 'Help.', voice: 'alloy' }, ...(allowed ? { allowed_overrides: allowed } : {}) });
  return resolveBusiness('acme', input, defaults, 0);
}
const apply = (allowed: string[] | undefined, patch: unknown) => {
  const b = business(allowed);
  return overrideSession(b, b.session, SessionPatch.parse(patch), []);
};
const refusal = (allowed: string[] | undefined, patch: unknown) => {
  try {
    apply(allowed, patch);
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, param: err.param };
    throw err;
  }
  return null;
};

describe('overrideSession', () => {
  it('takes the values the session already has as no change, even when the business allows none', () => {
    const b = business([]);
    const same = { voice: 'alloy', instructions: 'Help.', tool_choice: 'auto', speed: 1, modalities: b.session.modalities, input_audio_transcription: b.session.input_audio_transcription, turn_detection: { type: 'server_vad', threshold: 0.5 }, tools: [] };
    expect(apply([], same)).toEqual(b.session.speed === undefined ? { ...b.session, speed: 1 } : b.session);
  });

  it('refuses a change the business does not allow, naming the field', () => {
    expect(refusal([], { voice: 'marin' })).toEqual({ code: 'override_not_allowed', param: 'session.voice' });
    expect(refusal([], { turn_detection: { silence_duration_ms: 900 } })).toEqual({ code: 'override_not_allowed', param: 'session.turn_detection' });
  });

  it('accepts and records the fields the service only passes on, without permission', () => {
    const s = apply([], { input_audio_noise_reduction: null, tracing: 'auto', include: ['item.input_audio_transcription.logprobs'], truncation: 'auto', parallel_tool_calls: true });
    expect(s).toMatchObject({ input_audio_noise_reduction: null, tracing: 'auto', truncation: 'auto', parallel_tool_calls: true });
  });

  it('treats a stored prompt as an instructions change', () => {
    expect(refusal([], { prompt: { id: 'pmpt_1' } })).toEqual({ code: 'override_not_allowed', param: 'session.prompt' });
    expect(apply(['instructions'], { prompt: { id: 'pmpt_1' } }).prompt).toEqual({ id: 'pmpt_1' });
  });

  it('lets clients ask for user transcripts by default (input_audio_transcription is in the default allowed_overrides)', () => {
    expect(apply(undefined, { input_audio_transcription: { model: 'gpt-4o-mini-transcribe' } }).input_audio_transcription).toEqual({ model: 'gpt-4o-mini-transcribe' });
  });
});
