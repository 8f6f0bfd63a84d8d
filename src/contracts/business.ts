/** A business: who the agent works for, how it sounds, which tools it may use (docs/DESIGN.md §5). */
import { z } from 'zod';
import { allowedVoices, type Mode, Session, SessionInput } from './session';
import { ToolHandler } from './tools';
import { CUSTOMER_DATA_BOUNDS, jsonBoundsProblem } from '../core/json-bounds';

export const BusinessId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 letters, digits, _ or -');

export const REDACT_CATEGORIES = ['credit_card', 'ssn', 'email', 'phone'] as const;

export const OutputFilter = z
  .object({
    redact: z.array(z.enum(REDACT_CATEGORIES)).default([]),
    /** Extra regular expressions (JavaScript syntax) whose matches are masked. */
    patterns: z
      .array(
        z.string().max(500).refine((p) => {
          try {
            new RegExp(p, 'g');
            return true;
          } catch {
            return false;
          }
        }, 'must be a valid regular expression'),
      )
      .max(20)
      .default([]),
    /** Also filter what the agent says, before TTS. */
    speech: z.boolean().default(false),
  })
  .strict();

export const Limits = z
  .object({
    max_concurrent_calls: z.number().int().min(1).max(10_000).default(20),
    requests_per_minute: z.number().int().min(1).max(100_000).default(120),
  })
  .strict();

/** The default interruption.backchannels: what a listening caller says that is not a turn. */
export const DEFAULT_BACKCHANNELS = ['mm', 'mhm', 'uh-huh', 'uh', 'um'];

/**
 * False-interruption recovery (docs/DESIGN.md §8): a barge-in whose speech turns out to have no words
 * (or only backchannels) within timeout_ms of its end resumes the cancelled answer.
 */
export const FalseInterruption = z
  .object({
    timeout_ms: z.number().int().min(100).max(10_000).default(2_000),
    resume: z.boolean().default(true),
  })
  .strict();
export type FalseInterruption = z.infer<typeof FalseInterruption>;

export const Interruption = z
  .object({
    min_speech_ms: z.number().int().min(50).max(2_000).default(200),
    false_interruption: FalseInterruption.default({ timeout_ms: 2_000, resume: true }),
    backchannels: z.array(z.string().min(1).max(40)).max(50).default(DEFAULT_BACKCHANNELS),
  })
  .strict();

/** Call recording (docs/DESIGN.md §9): off unless the business turns it on. */
export const RecordingSettings = z.object({ enabled: z.boolean().default(false) }).strict();
export type RecordingSettings = z.infer<typeof RecordingSettings>;

export const TransferTarget = z
  .string()
  .regex(/^(\+[1-9]\d{6,14}|sips?:[^\s<>"]+@[^\s<>"]+)$/, 'an E.164 number (+15550100123) or a SIP URI (sip:agent@example.com)');

/** Customer-record fields `lookup_customer` may hand to the model (and so to the caller). */
export const CUSTOMER_FIELDS = ['name', 'email', 'account_id', 'notes', 'data'] as const;

export const LookupCustomerSettings = z
  .object({
    /** Only these fields of a found record are returned; `phone_number` and `found` always are. */
    fields: z.array(z.enum(CUSTOMER_FIELDS)).max(CUSTOMER_FIELDS.length).default(['name']),
    /** Phone calls: look up only the verified caller id, whatever number the caller names. */
    caller_id_only: z.boolean().default(false),
  })
  .strict();
export type LookupCustomerSettings = z.infer<typeof LookupCustomerSettings>;

export const OVERRIDABLE = ['voice', 'instructions', 'temperature', 'tools', 'tool_choice', 'turn_detection', 'modalities', 'input_audio_format', 'output_audio_format', 'max_response_output_tokens', 'speed', 'input_audio_transcription', 'system_messages'] as const;

export const BusinessInput = z
  .object({
    name: z.string().min(1).max(200).optional(),
    mode: z.enum(['chained', 'realtime']).default('chained'),
    session: SessionInput,
    tool_handlers: z.record(z.string(), ToolHandler).default({}),
    fallback_message: z.string().min(1).max(1000).default("Sorry, I'm having trouble right now. One moment please."),
    output_filter: OutputFilter.default({ redact: [], patterns: [], speech: false }),
    limits: Limits.default({ max_concurrent_calls: 20, requests_per_minute: 120 }),
    /**
     * Session fields a call (POST /v1/calls or session.update) may change; `system_messages`
     * also lets clients add role-system conversation items (security/client-overrides.ts).
     */
    allowed_overrides: z
      .array(z.enum(OVERRIDABLE))
      .default(['voice', 'instructions', 'temperature', 'turn_detection', 'input_audio_format', 'output_audio_format', 'modalities', 'input_audio_transcription']),
    /** Realtime mode: what happens when the upstream fails (end the call, or continue in chained mode). */
    realtime_fallback: z.enum(['end_call', 'chained']).default('end_call'),
    /**
     * Chained mode's VAD: how much speech starts a turn and, while the agent is answering,
     * interrupts it (so a cough or an echo blip does not cut the agent off).
     */
    interruption: Interruption.default({ min_speech_ms: 200, false_interruption: { timeout_ms: 2_000, resume: true }, backchannels: DEFAULT_BACKCHANNELS }),
    /**
     * Where transfer_to_human sends a phone call once the agent's last words have played: an
     * E.164 number or a SIP URI. Without it, a transfer is only recorded.
     */
    transfer_to: TransferTarget.nullable().default(null),
    /**
     * Chained mode: start transcribing once the caller has been silent this long, before
     * silence_duration_ms ends the turn; if the turn ends without more speech, the answer starts
     * from that transcript (the STT time hides in the rest of the silence). Null: off.
     */
    early_transcription_ms: z.number().int().min(50).max(5_000).nullable().default(null),
    /** Send server-side tool outputs to the client in `response.function_call.done` (off: name and arguments only). */
    expose_tool_output: z.boolean().default(false),
    /** What the builtin lookup_customer may reveal (docs/DESIGN.md §6). */
    lookup_customer: LookupCustomerSettings.default({ fields: ['name'], caller_id_only: false }),
    /** A two-channel WAV of each call (caller left, agent right), kept as long as the call. */
    recording: RecordingSettings.default({ enabled: false }),
  })
  .strict();
export type BusinessInput = z.input<typeof BusinessInput>;

export const Business = z.object({
  id: BusinessId,
  name: z.string(),
  mode: z.enum(['chained', 'realtime']),
  session: Session,
  tool_handlers: z.record(z.string(), ToolHandler),
  fallback_message: z.string(),
  output_filter: OutputFilter,
  limits: Limits,
  allowed_overrides: z.array(z.enum(OVERRIDABLE)),
  realtime_fallback: z.enum(['end_call', 'chained']),
  /** Absent on businesses stored before it existed: readers default it. */
  interruption: Interruption.optional(),
  /** Absent on businesses stored before it existed: no transfer target. */
  transfer_to: TransferTarget.nullable().optional(),
  /** Absent on businesses stored before it existed: off. */
  early_transcription_ms: z.number().nullable().optional(),
  /** Absent on businesses stored before it existed: off. */
  expose_tool_output: z.boolean().optional(),
  /** Absent on businesses stored before it existed: name only. */
  lookup_customer: LookupCustomerSettings.optional(),
  /** Absent on businesses stored before it existed: off. */
  recording: RecordingSettings.optional(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type Business = z.infer<typeof Business>;

export interface BusinessDefaults {
  llmModel: string;
  realtimeModel: string;
  extraVoices: readonly string[];
}

export class BusinessValidationError extends Error {
  constructor(message: string, readonly param: string) {
    super(message);
  }
}

/** Fills mode-dependent defaults and checks what zod cannot see alone (voice per mode, handler names). */
export function resolveBusiness(
  id: string,
  input: z.output<typeof BusinessInput>,
  defaults: BusinessDefaults,
  now: number,
  createdAt = now,
): Business {
  const mode: Mode = input.mode;
  const voice = input.session.voice ?? (mode === 'chained' ? 'nova' : 'alloy');
  checkVoice(mode, voice, defaults.extraVoices);
  const toolNames = new Set(input.session.tools.map((t) => t.name));
  if (toolNames.size !== input.session.tools.length) {
    throw new BusinessValidationError('Tool names must be unique.', 'session.tools');
  }
  for (const name of Object.keys(input.tool_handlers)) {
    if (!toolNames.has(name)) {
      throw new BusinessValidationError(`tool_handlers.${name} has no matching tool in session.tools.`, `tool_handlers.${name}`);
    }
  }
  const session = Session.parse({
    ...input.session,
    voice,
    model: input.session.model ?? (mode === 'chained' ? defaults.llmModel : defaults.realtimeModel),
  });
  return {
    id,
    name: input.name ?? id,
    mode,
    session,
    tool_handlers: input.tool_handlers,
    fallback_message: input.fallback_message,
    output_filter: input.output_filter,
    limits: input.limits,
    allowed_overrides: input.allowed_overrides,
    realtime_fallback: input.realtime_fallback,
    interruption: input.interruption,
    transfer_to: input.transfer_to,
    early_transcription_ms: input.early_transcription_ms,
    expose_tool_output: input.expose_tool_output,
    lookup_customer: input.lookup_customer,
    recording: input.recording,
    created_at: createdAt,
    updated_at: now,
  };
}

export function checkVoice(mode: Mode, voice: string, extraVoices: readonly string[]): void {
  const allowed = allowedVoices(mode, extraVoices);
  if (!allowed.includes(voice)) {
    throw new BusinessValidationError(
      `session.voice: '${voice}' is not available in ${mode} mode. Allowed: ${allowed.join(', ')}.`,
      'session.voice',
    );
  }
}

/** What GET returns: webhook secrets are write-only. */
export function publicBusiness(b: Business): Business {
  const handlers = Object.fromEntries(
    Object.entries(b.tool_handlers).map(([k, h]) => [k, h.type === 'webhook' && h.secret ? { ...h, secret: '[set]' } : h]),
  );
  return { ...b, tool_handlers: handlers };
}

export const CustomerInput = z
  .object({
    name: z.string().min(1).max(200),
    email: z.email().optional(),
    account_id: z.string().max(100).optional(),
    notes: z.string().max(2000).optional(),
    data: z
      .record(z.string(), z.unknown())
      .superRefine((d, ctx) => {
        const problem = jsonBoundsProblem(d, CUSTOMER_DATA_BOUNDS);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .strict();
export type Customer = z.infer<typeof CustomerInput> & { phone_number: string; updated_at: number };
