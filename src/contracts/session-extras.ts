/**
 * Session fields of OpenAI's GA and beta references that the service accepts, records, echoes
 * and (realtime mode) forwards upstream, but does not act on itself (docs/DESIGN.md §7).
 */
import { z } from 'zod';

/** `type` is optional in both SDKs' types (`NoiseReduction.type?`). */
export const NoiseReductionSchema = z.strictObject({ type: z.enum(['near_field', 'far_field']).optional() });
export type NoiseReduction = z.infer<typeof NoiseReductionSchema>;

// Session fields the service accepts, records, echoes and (realtime mode) forwards, but does not
// act on itself. Shapes from openai-node 6.x (resources/realtime/realtime.d.ts and
// resources/beta/realtime/realtime.d.ts), so a wrong value is still refused naming the field.

/** `RealtimeTracingConfig` (GA) / `Session.tracing` (beta): 'auto' or a configuration; null turns it off. */
export const TracingSchema = z
  .union([
    z.literal('auto'),
    z.strictObject({ group_id: z.string().optional(), metadata: z.unknown().optional(), workflow_name: z.string().optional() }),
  ])
  .nullable();
/** GA `include`. */
export const IncludeSchema = z.array(z.literal('item.input_audio_transcription.logprobs'));
/** GA `prompt` (`ResponsePrompt`): a stored prompt by id. */
export const PromptSchema = z
  .strictObject({
    id: z.string().min(1),
    variables: z.record(z.string(), z.unknown()).nullable().optional(),
    version: z.string().nullable().optional(),
  })
  .nullable();
/** GA `truncation` (`RealtimeTruncation`). */
export const TruncationSchema = z.union([
  z.enum(['auto', 'disabled']),
  z.strictObject({
    type: z.literal('retention_ratio'),
    retention_ratio: z.number().min(0).max(1),
    token_limits: z.strictObject({ post_instructions: z.number().int().min(0).optional() }).optional(),
  }),
]);
/** GA `reasoning` (`RealtimeReasoning`). */
export const ReasoningSchema = z.strictObject({ effort: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).optional() });
/** Beta `client_secret` (ephemeral-key settings): meaningless on a connected socket, accepted and dropped. */
export const ClientSecretSettingsSchema = z.strictObject({
  expires_after: z.strictObject({ anchor: z.literal('created_at'), seconds: z.number().int().optional() }).optional(),
});

/**
 * The accepted-not-acted-on fields, as the internal (flat) session carries them. The first is
 * beta's and GA's alike (`input_audio_noise_reduction` / `audio.input.noise_reduction`); the
 * rest after `tracing` exist only in GA (a beta peer never sees them).
 */
export const PASSTHROUGH_SESSION_FIELDS = ['input_audio_noise_reduction', 'tracing', 'include', 'prompt', 'truncation', 'reasoning', 'parallel_tool_calls'] as const;
export const GA_ONLY_SESSION_FIELDS = ['include', 'prompt', 'truncation', 'reasoning', 'parallel_tool_calls'] as const;
export const passthroughSessionFields = {
  input_audio_noise_reduction: NoiseReductionSchema.nullable(),
  tracing: TracingSchema,
  include: IncludeSchema,
  prompt: PromptSchema,
  truncation: TruncationSchema,
  reasoning: ReasoningSchema,
  parallel_tool_calls: z.boolean(),
};
