/**
 * The INTERNAL OpenAI Realtime event model (docs/PROTOCOLS.md §1.3–§1.5).
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
import {
  AudioFormatSchema,
  Base64AudioSchema,
  ClientConversationItemSchema,
  ConversationItemSchema,
  IdSchema,
  ItemReferenceSchema,
  MaxTokensSchema,
  MetadataSchema,
  ModalitiesSchema,
  RealtimeSessionPatchSchema,
  RealtimeSessionSchema,
  RealtimeToolSchema,
  TemperatureSchema,
  ToolChoiceSchema,
  VoiceSchema,
} from './realtime-base';

export * from './session-extras';
export * from './realtime-base';

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
  // Our extension: a server-side tool ran (docs/DESIGN.md §5).
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
