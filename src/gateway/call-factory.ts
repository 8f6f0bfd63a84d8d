/**
 * Creating a call: shared by POST /v1/calls, the drop-in /v1/realtime endpoint and Twilio.
 * The effective session is the business's session plus the overrides the business allows.
 */
import type { z } from 'zod';
import { checkVoice, BusinessValidationError, type Business } from '../contracts/business';
import type { CallRecord, CreateCallInput } from '../contracts/call';
import { applySessionPatch, type Session, type SessionPatch } from '../contracts/session';
import { PASSTHROUGH_SESSION_FIELDS } from '../contracts/session-extras';
import { newId } from '../core/protocol/ids';
import { ApiError } from '../errors';
import type { Services } from '../services';

export interface CreatedCall {
  record: CallRecord;
  client_secret: { value: string; expires_at: number };
}

/**
 * Applies a client's session patch within what the business allows; throws a 400 naming the field.
 * Only a *change* is an override (docs/DESIGN.md §7): clients such as the Agents SDK resend their whole
 * configuration, and a field sent with the value the session already has changes nothing. The
 * fields the service only records (noise reduction, tracing, include, …) need no permission,
 * except a stored `prompt`, which would replace the instructions upstream.
 */
export function overrideSession(business: Business, base: Session, patch: SessionPatch, extraVoices: readonly string[], param = 'session'): Session {
  const allowed = business.allowed_overrides as string[];
  for (const field of Object.keys(patch) as (keyof SessionPatch)[]) {
    const gate = field === 'prompt' ? 'instructions' : field;
    if (allowed.includes(gate) || (isPassthrough(field) && field !== 'prompt')) continue;
    if (!changes(base, patch, field)) continue;
    throw new ApiError(400, 'invalid_request_error', 'override_not_allowed', `Business '${business.id}' does not allow calls to change session.${gate}. Allowed: ${business.allowed_overrides.join(', ')}.`, `${param}.${field}`);
  }
  if (patch.voice !== undefined && patch.voice !== base.voice) {
    try {
      checkVoice(business.mode, patch.voice, extraVoices);
    } catch (err) {
      if (err instanceof BusinessValidationError) throw ApiError.badRequest(err.message, `${param}.voice`);
      throw err;
    }
  }
  return applySessionPatch(base, patch);
}

function isPassthrough(field: string): boolean {
  return (PASSTHROUGH_SESSION_FIELDS as readonly string[]).includes(field);
}

/** OpenAI's values for fields a session may leave unset, so `speed: 1` on a session without one is no change. */
const UNSET_MEANS: Partial<Record<keyof Session, unknown>> = { speed: 1, input_audio_noise_reduction: null, prompt: null };

/** Whether applying `field` of the patch would leave the session different (turn_detection merges). */
function changes(base: Session, patch: SessionPatch, field: keyof SessionPatch): boolean {
  const after = applySessionPatch(base, { [field]: patch[field] } as SessionPatch);
  const was = base[field] ?? UNSET_MEANS[field];
  const now = after[field] ?? UNSET_MEANS[field];
  return canonical(was) !== canonical(now);
}

/** JSON with object keys sorted and undefined members dropped: equal values, equal strings. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  ) ?? 'undefined';
}

export async function createCall(s: Services, input: z.output<typeof CreateCallInput>, actor = 'system'): Promise<CreatedCall> {
  const business = await s.businesses.get(input.business_id);
  if (!business) throw ApiError.notFound('business', input.business_id, 'business_id');
  const session = overrideSession(business, business.session, input.session ?? {}, s.config.extraVoices);
  const record: CallRecord = {
    id: newId('call'),
    business_id: business.id,
    mode: business.mode,
    session,
    status: 'active',
    created_at: Date.now(),
    ended_at: null,
    end_reason: null,
    metadata: input.metadata ?? {},
  };
  const slot = await s.concurrency.acquire(business.id, record.id, business.limits.max_concurrent_calls);
  // Calls whose gateway died (or that never connected) end here, so their records say so.
  await Promise.all(slot.stale.map((id) => s.calls.end(id, 'heartbeat_lost').catch(() => null)));
  if (!slot.ok) {
    throw new ApiError(429, 'rate_limit_error', 'concurrent_calls_exceeded', `Business '${business.id}' already has ${slot.active} active calls (limits.max_concurrent_calls = ${business.limits.max_concurrent_calls}).`, null, {
      'retry-after': String(slot.retryAfterS),
    });
  }
  const client_secret = await s.calls.create(record, s.config.clientSecretTtlS);
  await s.audit.append(business, { type: 'call.started', actor, call_id: record.id, data: { mode: record.mode, metadata: record.metadata } });
  return { record, client_secret };
}

export function callUrls(s: Services, callId: string, host: string | undefined) {
  const base = s.config.publicUrl ?? `http://${host ?? `${s.config.host}:${s.config.port}`}`;
  const ws = base.replace(/^http/, 'ws');
  return {
    stream: `${ws}/v1/calls/${callId}/stream`,
    audio: `${base}/v1/calls/${callId}/audio`,
    events: `${base}/v1/calls/${callId}/events`,
    logs: `${base}/v1/calls/${callId}/logs`,
  };
}
