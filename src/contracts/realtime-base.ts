/**
 * The building blocks of the internal Realtime event model (see realtime.ts): primitives, the
 * session object and conversation items, in the beta (v1) shape.
 */
import { z } from 'zod';
import { FunctionTool, ToolChoice, ToolInput } from './tools';
import { ClientSecretSettingsSchema, NoiseReductionSchema, passthroughSessionFields } from './session-extras';

// ---------------------------------------------------------------- primitives

/** OpenAI's limit for one `input_audio_buffer.append` (base64 characters). */
export const MAX_AUDIO_B64_CHARS = 15 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const Base64AudioSchema = z
  .string()
  .max(MAX_AUDIO_B64_CHARS, 'audio is larger than 15 MiB of base64')
  .regex(BASE64, 'audio must be base64');

/** Client-chosen ids are allowed (§1.2); bound them so they fit logs and keys. */
export const IdSchema = z.string().min(1).max(64);

export const AudioFormatSchema = z.enum(['pcm16', 'g711_ulaw', 'g711_alaw']);
export type AudioFormat = z.infer<typeof AudioFormatSchema>;

export const ModalitySchema = z.enum(['text', 'audio']);
export type Modality = z.infer<typeof ModalitySchema>;
export const ModalitiesSchema = z.array(ModalitySchema).min(1).max(2);

/** Realtime voices are any string; GA also allows a custom voice `{id}`. */
export const VoiceSchema = z.union([z.string().min(1).max(64), z.strictObject({ id: IdSchema })]);
export type Voice = z.infer<typeof VoiceSchema>;

/** `model` is optional in both SDKs' types (OpenAI picks one); `delay` is GA's. */
export const InputAudioTranscriptionSchema = z.strictObject({
  model: z.string().min(1).optional(),
  language: z.string().optional(),
  prompt: z.string().optional(),
  delay: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).optional(),
});
export type InputAudioTranscription = z.infer<typeof InputAudioTranscriptionSchema>;

/**
 * Flat rather than a union on `type` so consumers can read fields without
 * narrowing; `eagerness` only means something for semantic_vad,
 * `idle_timeout_ms` (GA) only for server_vad.
 */
export const TurnDetectionSchema = z.strictObject({
  type: z.enum(['server_vad', 'semantic_vad']),
  threshold: z.number().min(0).max(1).optional(),
  prefix_padding_ms: z.number().int().min(0).optional(),
  silence_duration_ms: z.number().int().min(0).optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
  idle_timeout_ms: z.number().int().min(0).nullable().optional(),
});
export type TurnDetection = z.infer<typeof TurnDetectionSchema>;


/** Realtime tools are flat; the chat-completions shape is accepted and flattened (contracts/tools.ts). */
export const RealtimeToolSchema = ToolInput;
export type RealtimeTool = FunctionTool;

/** Normalised to `{type:'function', name}`; the beta comment's `{function:{name}}` is accepted (§1.3). */
export const ToolChoiceSchema = ToolChoice;
export type { ToolChoice };

/** Chat-completions accept 0–2; a realtime upstream narrows this to 0.6–1.2 itself. */
export const TemperatureSchema = z.number().min(0).max(2);
export const MaxTokensSchema = z.union([z.number().int().min(1).max(4096), z.literal('inf')]);
export const MetadataSchema = z.record(z.string(), z.string()).nullable();


// ------------------------------------------------------------------- session

const sessionFields = {
  modalities: ModalitiesSchema,
  instructions: z.string(),
  voice: VoiceSchema,
  input_audio_format: AudioFormatSchema,
  output_audio_format: AudioFormatSchema,
  input_audio_transcription: InputAudioTranscriptionSchema.nullable(),
  turn_detection: TurnDetectionSchema.nullable(),
  input_audio_noise_reduction: NoiseReductionSchema.nullable(),
  tools: z.array(RealtimeToolSchema).max(128),
  tool_choice: ToolChoiceSchema,
  temperature: TemperatureSchema,
  max_response_output_tokens: MaxTokensSchema,
  speed: z.number().min(0.25).max(1.5),
};

/**
 * `session.update` payload: partial, strict so a misspelt or other-dialect
 * field is reported instead of silently ignored. `model` is fixed (§1.3) but
 * clients send it anyway, so it is accepted and ignored by the drivers.
 */
export const RealtimeSessionPatchSchema = z.strictObject({
  ...z.object(sessionFields).partial().shape,
  ...z.object(passthroughSessionFields).partial().shape,
  model: z.string().optional(),
  client_secret: ClientSecretSettingsSchema.optional(),
});
export type RealtimeSessionPatch = z.output<typeof RealtimeSessionPatchSchema>;

/** The full session as `session.created` / `session.updated` report it. */
export const RealtimeSessionSchema = z.object({
  ...sessionFields,
  ...z.object(passthroughSessionFields).partial().shape,
  speed: sessionFields.speed.optional(),
  id: z.string().optional(),
  object: z.literal('realtime.session').optional(),
  model: z.string().optional(),
  expires_at: z.number().optional(),
});
export type RealtimeSession = z.output<typeof RealtimeSessionSchema>;

/** server_vad as OpenAI and docs/DESIGN.md default it. */
export const DEFAULT_TURN_DETECTION = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  create_response: true,
  interrupt_response: true,
} as const;

/** OpenAI's defaults (§1.3); create/interrupt_response are treated as true like the demos do. */
export const DEFAULT_SESSION: RealtimeSession = {
  modalities: ['text', 'audio'],
  instructions: '',
  voice: 'alloy',
  input_audio_format: 'pcm16',
  output_audio_format: 'pcm16',
  input_audio_transcription: null,
  turn_detection: DEFAULT_TURN_DETECTION,
  input_audio_noise_reduction: null,
  tools: [],
  tool_choice: 'auto',
  temperature: 0.8,
  max_response_output_tokens: 'inf',
};

// --------------------------------------------------------------------- items

export const InputTextPartSchema = z.object({ type: z.literal('input_text'), text: z.string() });
export const InputAudioPartSchema = z.object({
  type: z.literal('input_audio'),
  audio: Base64AudioSchema.optional(),
  transcript: z.string().nullable().optional(),
});
export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
export const AudioPartSchema = z.object({
  type: z.literal('audio'),
  audio: Base64AudioSchema.optional(),
  transcript: z.string().nullable().optional(),
});
export const ContentPartSchema = z.discriminatedUnion('type', [InputTextPartSchema, InputAudioPartSchema, TextPartSchema, AudioPartSchema]);
export type ContentPart = z.infer<typeof ContentPartSchema>;

const ItemStatusSchema = z.enum(['completed', 'incomplete', 'in_progress']);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;
export const itemCommon = {
  id: IdSchema.optional(),
  object: z.literal('realtime.item').optional(),
  status: ItemStatusSchema.optional(),
};

export const FunctionCallItemSchema = z.object({
  ...itemCommon,
  type: z.literal('function_call'),
  call_id: IdSchema,
  name: z.string().min(1),
  arguments: z.string(),
});
export const FunctionCallOutputItemSchema = z.object({
  ...itemCommon,
  type: z.literal('function_call_output'),
  call_id: IdSchema,
  output: z.string().max(1_000_000),
});

/** Any item as the server reports it (history, output[], item.created). */
export const ConversationItemSchema = z.discriminatedUnion('type', [
  z.object({
    ...itemCommon,
    type: z.literal('message'),
    role: z.enum(['user', 'assistant', 'system']),
    content: z.array(ContentPartSchema),
  }),
  FunctionCallItemSchema,
  FunctionCallOutputItemSchema,
]);
export type ConversationItem = z.infer<typeof ConversationItemSchema>;

/** What a client may create (§1.4): role decides the allowed content; no assistant audio injection. */
export const ClientConversationItemSchema = z.discriminatedUnion('type', [
  z.discriminatedUnion('role', [
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('user'), content: z.array(z.discriminatedUnion('type', [InputTextPartSchema, InputAudioPartSchema])).min(1) }),
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('system'), content: z.array(InputTextPartSchema).min(1) }),
    z.object({ ...itemCommon, type: z.literal('message'), role: z.literal('assistant'), content: z.array(TextPartSchema).min(1) }),
  ]),
  FunctionCallItemSchema,
  FunctionCallOutputItemSchema,
]);
export type ClientConversationItem = z.infer<typeof ClientConversationItemSchema>;

export const ItemReferenceSchema = z.object({ type: z.literal('item_reference'), id: IdSchema });
