/**
 * GA client-event shapes (docs/PROTOCOLS.md §1.9) for the three events whose
 * payload differs from beta. Validating the GA shape first means an error
 * names the field the GA client actually sent (`session.audio.input.format.type`).
 * Everything else is identical in both dialects and reuses the internal schemas.
 */
import { z } from 'zod';
import {
  SHARED_CLIENT_EVENT_SCHEMAS,
  FunctionCallItemSchema,
  FunctionCallOutputItemSchema,

  InputAudioPartSchema,
  InputAudioTranscriptionSchema,
  InputTextPartSchema,
  ItemReferenceSchema,
  MaxTokensSchema,
  MetadataSchema,
  ModalitiesSchema,
  NoiseReductionSchema,
  RealtimeToolSchema,
  TemperatureSchema,
  ToolChoiceSchema,
  TurnDetectionSchema,
  VoiceSchema,
  itemCommon,
  IncludeSchema,
  PromptSchema,
  ReasoningSchema,
  TracingSchema,
  TruncationSchema,
} from '../../contracts/realtime';

/**
 * `RealtimeAudioFormats`: `type` is optional in the SDK's types (`{rate: 24000}` alone is PCM),
 * so a missing type reads as audio/pcm and is reported back with it.
 */
export const GaAudioFormatSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('type' in v) ? { ...v, type: 'audio/pcm' } : v),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('audio/pcm'), rate: z.literal(24000).optional() }),
    z.strictObject({ type: z.literal('audio/pcmu') }),
    z.strictObject({ type: z.literal('audio/pcma') }),
  ]),
);
export type GaAudioFormat = z.infer<typeof GaAudioFormatSchema>;

const GaAudioInputSchema = z.strictObject({
  format: GaAudioFormatSchema.optional(),
  transcription: InputAudioTranscriptionSchema.nullable().optional(),
  turn_detection: TurnDetectionSchema.nullable().optional(),
  noise_reduction: NoiseReductionSchema.nullable().optional(),
});
const GaAudioOutputSchema = z.strictObject({
  format: GaAudioFormatSchema.optional(),
  voice: VoiceSchema.optional(),
  speed: z.number().min(0.25).max(1.5).optional(),
});

/**
 * GA session (partial). `type` is required by OpenAI but optional here:
 * GA clients sending only a tweak should not have to repeat it. `temperature`
 * is not GA; accepted as a lenient extension because chained mode honours it.
 */
export const GaSessionSchema = z.strictObject({
  type: z.literal('realtime').optional(),
  id: z.string().optional(),
  object: z.literal('realtime.session').optional(),
  model: z.string().optional(),
  expires_at: z.number().optional(),
  output_modalities: ModalitiesSchema.optional(),
  instructions: z.string().optional(),
  audio: z.strictObject({ input: GaAudioInputSchema.optional(), output: GaAudioOutputSchema.optional() }).optional(),
  tools: z.array(RealtimeToolSchema).max(128).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  max_output_tokens: MaxTokensSchema.optional(),
  temperature: TemperatureSchema.optional(),
  // Recorded, echoed and forwarded upstream; the service does not act on them (session-extras.ts).
  tracing: TracingSchema.optional(),
  include: IncludeSchema.optional(),
  prompt: PromptSchema.optional(),
  truncation: TruncationSchema.optional(),
  reasoning: ReasoningSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
});
export type GaSession = z.output<typeof GaSessionSchema>;

const GaOutputTextPart = z.object({ type: z.literal('output_text'), text: z.string() });

export const GaClientItemSchema = z.discriminatedUnion('type', [
  z.discriminatedUnion('role', [
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('user'), content: z.array(z.discriminatedUnion('type', [InputTextPartSchema, InputAudioPartSchema])).min(1) }),
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('system'), content: z.array(InputTextPartSchema).min(1) }),
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('assistant'), content: z.array(GaOutputTextPart).min(1) }),
  ]),
  FunctionCallItemSchema,
  FunctionCallOutputItemSchema,
]);
export type GaClientItem = z.output<typeof GaClientItemSchema>;

export const GaResponseCreateParamsSchema = z.strictObject({
  output_modalities: ModalitiesSchema.optional(),
  instructions: z.string().optional(),
  audio: z
    .strictObject({
      output: z.strictObject({ format: GaAudioFormatSchema.optional(), voice: VoiceSchema.optional() }).optional(),
    })
    .optional(),
  tools: z.array(RealtimeToolSchema).max(128).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  max_output_tokens: MaxTokensSchema.optional(),
  temperature: TemperatureSchema.optional(),
  metadata: MetadataSchema.optional(),
  conversation: z.string().min(1).optional(),
  input: z.array(z.union([ItemReferenceSchema, GaClientItemSchema])).optional(),
});
export type GaResponseCreateParams = z.output<typeof GaResponseCreateParamsSchema>;

const eventId = { event_id: z.string().max(128).optional() };

export const GaClientEventSchema = z.discriminatedUnion('type', [
  z.object({ ...eventId, type: z.literal('session.update'), session: GaSessionSchema }),
  z.object({
    ...eventId,
    type: z.literal('conversation.item.create'),
    item: GaClientItemSchema,
    previous_item_id: z.string().min(1).nullable().optional(),
  }),
  z.object({ ...eventId, type: z.literal('response.create'), response: GaResponseCreateParamsSchema.optional() }),
  ...SHARED_CLIENT_EVENT_SCHEMAS,
]);
export type GaClientEvent = z.output<typeof GaClientEventSchema>;
