/**
 * The call's effective session in the shapes realtime mode needs: what is injected upstream
 * (session.update), what the client is shown (session.created/updated — the business's session,
 * not whatever the upstream reports), and the chained-mode session for a fallback. Pure.
 */
import type { AudioFormat, RealtimeSession, RealtimeSessionPatch } from '../../contracts/realtime';
import { TTS_VOICES, type Session } from '../../contracts/session';

/** The whole business session as a realtime session.update payload (internal/beta shape). */
export function upstreamSessionPatch(s: Session): RealtimeSessionPatch {
  return pickUpstream(s, Object.keys(UPSTREAM_FIELDS) as (keyof Session)[]);
}

const UPSTREAM_FIELDS: Partial<Record<keyof Session, true>> = {
  instructions: true,
  voice: true,
  modalities: true,
  input_audio_format: true,
  output_audio_format: true,
  input_audio_transcription: true,
  turn_detection: true,
  tools: true,
  tool_choice: true,
  temperature: true,
  max_response_output_tokens: true,
  speed: true,
  // Recorded only (contracts/session-extras.ts): the upstream acts on them.
  input_audio_noise_reduction: true,
  tracing: true,
  include: true,
  prompt: true,
  truncation: true,
  reasoning: true,
  parallel_tool_calls: true,
};

/** Only `fields` of the session, for the session.update that follows a client's allowed change. */
export function pickUpstream(s: Session, fields: readonly string[]): RealtimeSessionPatch {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!(f in UPSTREAM_FIELDS)) continue;
    const v = s[f as keyof Session];
    if (v === undefined) continue;
    // The realtime API caps speed at 1.5 (TTS allows 4); temperature is narrowed upstream itself.
    out[f] = f === 'speed' ? Math.min(1.5, v as number) : v;
  }
  return out as RealtimeSessionPatch;
}

/** What the client sees: the business's effective session, whatever the upstream reports. */
export function clientSession(s: Session, callId: string): RealtimeSession {
  const { model, ...rest } = s;
  return { id: callId.replace(/^call_/, 'sess_'), object: 'realtime.session', model, ...rest } as RealtimeSession;
}

/** Output bytes per millisecond (PROTOCOLS.md §2): pcm16 is 24 kHz s16, G.711 is 8 kHz 8-bit. */
export function bytesPerMs(f: AudioFormat): number {
  return f === 'pcm16' ? 48 : 8;
}

/**
 * The session a call continues with in chained mode after its upstream failed: the LLM model
 * instead of the realtime one, and a TTS voice (marin/cedar are realtime-only).
 */
export function chainedFallbackSession(s: Session, llmModel: string): Session {
  const voice = (TTS_VOICES as readonly string[]).includes(s.voice) ? s.voice : 'alloy';
  return { ...s, model: llmModel, voice };
}
