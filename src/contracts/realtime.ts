/**
 * The INTERNAL OpenAI Realtime event model (PROTOCOLS.md §1.3–§1.5).
 *
 * It is the beta (v1) shape: flat session, beta event names. Dialects are
 * translated at the edge (src/core/protocol/dialect.ts). Supersets of beta:
 * - `response.function_call_arguments.done` carries `name` (GA has it; the
 *   edge strips it for beta clients);
 * - `conversation.item.done` (GA-only lifecycle event; dropped for beta);
 * - our extensions `response.interrupt` (client) and
 *   `response.function_call.done` (server), unchanged in both dialects.
 */
import { z } from 'zod';
import { FunctionTool, ToolChoice, ToolInput } from './tools';
import { ClientSecretSettingsSchema, NoiseReductionSchema, passthroughSessionFields } from './session-extras';
export * from './session-extras';

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

/** server_vad as OpenAI and DESIGN.md default it. */
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

// ------------------------------------------------------------- client events

/** `response.create.response`: per-reply overrides (§1.4). */
export const ResponseCreateParamsSchema = z.strictObject({
  modalities: ModalitiesSchema.optional(),
  instructions: z.string().optional(),
  voice: VoiceSchema.optional(),
  output_audio_format: AudioFormatSchema.optional(),
  tools: z.array(RealtimeToolSchema).max(128).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  temperature: TemperatureSchema.optional(),
  max_response_output_tokens: MaxTokensSchema.optional(),
  metadata: MetadataSchema.optional(),
  conversation: z.string().min(1).optional(),
  input: z.array(z.union([ItemReferenceSchema, ClientConversationItemSchema])).optional(),
});
export type ResponseCreateParams = z.output<typeof ResponseCreateParamsSchema>;

const eventId = { event_id: z.string().max(128).optional() };
const clientEvent = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ ...eventId, type: z.literal(type), ...shape });

/** Client events whose payload is the same in both dialects (GA parsing reuses them). */
export const SHARED_CLIENT_EVENT_SCHEMAS = [
  clientEvent('input_audio_buffer.append', { audio: Base64AudioSchema }),
  clientEvent('input_audio_buffer.commit', {}),
  clientEvent('input_audio_buffer.clear', {}),
  clientEvent('conversation.item.truncate', {
    item_id: IdSchema,
    content_index: z.number().int().min(0),
    audio_end_ms: z.number().int().min(0),
  }),
  clientEvent('conversation.item.delete', { item_id: IdSchema }),
  clientEvent('conversation.item.retrieve', { item_id: IdSchema }),
  clientEvent('response.cancel', { response_id: z.string().optional() }),
  clientEvent('output_audio_buffer.clear', {}),
  // Our extension (§1.8): cancel the reply and truncate at what was played.
  clientEvent('response.interrupt', {
    response_id: z.string().optional(),
    audio_end_ms: z.number().int().min(0).optional(),
  }),
] as const;

export const ClientEventSchema = z.discriminatedUnion('type', [
  clientEvent('session.update', { session: RealtimeSessionPatchSchema }),
  clientEvent('conversation.item.create', {
    item: ClientConversationItemSchema,
    previous_item_id: z.string().min(1).nullable().optional(),
  }),
  clientEvent('response.create', { response: ResponseCreateParamsSchema.optional() }),
  ...SHARED_CLIENT_EVENT_SCHEMAS,
]);
export type ClientEvent = z.output<typeof ClientEventSchema>;
export type ClientEventType = ClientEvent['type'];
export type ClientEventOf<T extends ClientEventType> = Extract<ClientEvent, { type: T }>;
export const CLIENT_EVENT_TYPES: readonly ClientEventType[] = ClientEventSchema.options.map(
  (o) => o.shape.type.value,
);

// ------------------------------------------------------------- server events

export const ResponseStatusSchema = z.enum(['in_progress', 'completed', 'cancelled', 'failed', 'incomplete']);
export type ResponseStatus = z.infer<typeof ResponseStatusSchema>;

export const ResponseStatusDetailsSchema = z.object({
  type: z.enum(['completed', 'cancelled', 'failed', 'incomplete']),
  reason: z.enum(['turn_detected', 'client_cancelled', 'max_output_tokens', 'content_filter']).optional(),
  error: z.object({ type: z.string().optional(), code: z.string().optional() }).optional(),
});
export type ResponseStatusDetails = z.infer<typeof ResponseStatusDetailsSchema>;

const count = z.number().int().min(0);
export const UsageSchema = z.looseObject({
  total_tokens: count.optional(),
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  input_token_details: z
    .looseObject({ cached_tokens: count.optional(), text_tokens: count.optional(), audio_tokens: count.optional() })
    .optional(),
  output_token_details: z.looseObject({ text_tokens: count.optional(), audio_tokens: count.optional() }).optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const RealtimeResponseSchema = z.object({
  id: z.string(),
  object: z.literal('realtime.response'),
  status: ResponseStatusSchema,
  status_details: ResponseStatusDetailsSchema.nullable(),
  output: z.array(ConversationItemSchema),
  usage: UsageSchema.nullable(),
  conversation_id: z.string().nullable().optional(),
  modalities: ModalitiesSchema.optional(),
  voice: VoiceSchema.optional(),
  output_audio_format: AudioFormatSchema.optional(),
  temperature: z.number().optional(),
  max_output_tokens: MaxTokensSchema.optional(),
  metadata: MetadataSchema.optional(),
});
export type RealtimeResponse = z.infer<typeof RealtimeResponseSchema>;

export const RealtimeErrorSchema = z.object({
  type: z.string(),
  code: z.string().nullable().optional(),
  message: z.string(),
  param: z.string().nullable().optional(),
  event_id: z.string().nullable().optional(),
});
export type RealtimeError = z.infer<typeof RealtimeErrorSchema>;

/** The R fields of §1.5. */
const R = { response_id: z.string(), item_id: z.string(), output_index: count, content_index: count };
const serverEvent = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ event_id: z.string(), type: z.literal(type), ...shape });
const OutputPartSchema = z.object({
  type: z.enum(['audio', 'text']),
  text: z.string().optional(),
  transcript: z.string().optional(),
  audio: z.string().optional(),
});
const fnArgs = { response_id: z.string(), item_id: z.string(), output_index: count, call_id: z.string() };

export const ServerEventSchema = z.discriminatedUnion('type', [
  serverEvent('error', { error: RealtimeErrorSchema }),
  serverEvent('session.created', { session: RealtimeSessionSchema }),
  serverEvent('session.updated', { session: RealtimeSessionSchema }),
  serverEvent('conversation.created', {
    conversation: z.object({ id: z.string(), object: z.literal('realtime.conversation') }),
  }),
  serverEvent('input_audio_buffer.speech_started', { audio_start_ms: count, item_id: z.string() }),
  serverEvent('input_audio_buffer.speech_stopped', { audio_end_ms: count, item_id: z.string() }),
  serverEvent('input_audio_buffer.committed', { previous_item_id: z.string().nullable(), item_id: z.string() }),
  serverEvent('input_audio_buffer.cleared', {}),
  serverEvent('conversation.item.created', {
    previous_item_id: z.string().nullable().optional(),
    item: ConversationItemSchema,
  }),
  // GA lifecycle event (superset): the item is final. Beta clients never see it.
  serverEvent('conversation.item.done', {
    previous_item_id: z.string().nullable().optional(),
    item: ConversationItemSchema,
  }),
  serverEvent('conversation.item.input_audio_transcription.delta', {
    item_id: z.string(),
    content_index: count.optional(),
    delta: z.string().optional(),
    logprobs: z.array(z.unknown()).nullable().optional(),
  }),
  serverEvent('conversation.item.input_audio_transcription.completed', {
    item_id: z.string(),
    content_index: count,
    transcript: z.string(),
    usage: z.looseObject({}).optional(),
    logprobs: z.array(z.unknown()).nullable().optional(),
  }),
  serverEvent('conversation.item.input_audio_transcription.failed', {
    item_id: z.string(),
    content_index: count,
    error: z.object({
      type: z.string().optional(),
      code: z.string().nullable().optional(),
      message: z.string().optional(),
      param: z.string().nullable().optional(),
    }),
  }),
  serverEvent('conversation.item.truncated', { item_id: z.string(), content_index: count, audio_end_ms: count }),
  serverEvent('conversation.item.deleted', { item_id: z.string() }),
  serverEvent('conversation.item.retrieved', { item: ConversationItemSchema }),
  serverEvent('response.created', { response: RealtimeResponseSchema }),
  serverEvent('response.done', { response: RealtimeResponseSchema }),
  serverEvent('response.output_item.added', { response_id: z.string(), output_index: count, item: ConversationItemSchema }),
  serverEvent('response.output_item.done', { response_id: z.string(), output_index: count, item: ConversationItemSchema }),
  serverEvent('response.content_part.added', { ...R, part: OutputPartSchema }),
  serverEvent('response.content_part.done', { ...R, part: OutputPartSchema }),
  serverEvent('response.audio.delta', { ...R, delta: z.string() }),
  serverEvent('response.audio.done', R),
  serverEvent('response.audio_transcript.delta', { ...R, delta: z.string() }),
  serverEvent('response.audio_transcript.done', { ...R, transcript: z.string() }),
  serverEvent('response.text.delta', { ...R, delta: z.string() }),
  serverEvent('response.text.done', { ...R, text: z.string() }),
  serverEvent('response.function_call_arguments.delta', { ...fnArgs, delta: z.string() }),
  // `name` is internal (GA has it, beta does not): optional because a beta upstream omits it.
  serverEvent('response.function_call_arguments.done', {
    ...fnArgs,
    arguments: z.string(),
    name: z.string().optional(),
  }),
  serverEvent('rate_limits.updated', {
    rate_limits: z.array(
      z.object({ name: z.string(), limit: count, remaining: count, reset_seconds: z.number() }),
    ),
  }),
  serverEvent('output_audio_buffer.started', { response_id: z.string() }),
  serverEvent('output_audio_buffer.stopped', { response_id: z.string() }),
  serverEvent('output_audio_buffer.cleared', { response_id: z.string() }),
  // Our extension: a server-side tool ran (DESIGN.md §5).
  serverEvent('response.function_call.done', {
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
    output: z.string(),
    duration_ms: z.number().min(0),
    response_id: z.string().optional(),
    item_id: z.string().optional(),
  }),
]);
export type ServerEvent = z.infer<typeof ServerEventSchema>;
export type ServerEventType = ServerEvent['type'];
export type ServerEventOf<T extends ServerEventType> = Extract<ServerEvent, { type: T }>;
/** A server event before `event_id` is stamped on it. */
export type ServerEventBody = ServerEvent extends infer E ? (E extends ServerEvent ? Omit<E, 'event_id'> : never) : never;
export const SERVER_EVENT_TYPES: readonly ServerEventType[] = ServerEventSchema.options.map(
  (o) => o.shape.type.value,
);
