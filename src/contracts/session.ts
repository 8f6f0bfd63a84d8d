/**
 * A business's session: the OpenAI Realtime (beta, flat) session object plus `model`, with the
 * defaults of docs/DESIGN.md §5. The same shape is the effective session of a call.
 */
import { z } from 'zod';
import { AudioFormatSchema, DEFAULT_TURN_DETECTION, MaxTokensSchema, TemperatureSchema } from './realtime';
import { passthroughSessionFields } from './session-extras';
import { FunctionTool, ToolChoice, ToolInput } from './tools';

export const AudioFormat = AudioFormatSchema;
export type AudioFormat = z.infer<typeof AudioFormat>;

export const TTS_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer', 'verse'] as const;
export const REALTIME_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;

export const TurnDetection = z.object({
  type: z.enum(['server_vad', 'semantic_vad']).default('server_vad'),
  threshold: z.number().min(0).max(1).default(0.5),
  prefix_padding_ms: z.number().int().min(0).max(5_000).default(300),
  silence_duration_ms: z.number().int().min(50).max(10_000).default(500),
  create_response: z.boolean().default(true),
  interrupt_response: z.boolean().default(true),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
});
export type TurnDetection = z.infer<typeof TurnDetection>;

export const InputAudioTranscription = z.object({
  model: z.string().min(1).default('whisper-1'),
  language: z.string().min(2).max(8).optional(),
  prompt: z.string().max(2_000).optional(),
  delay: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).optional(),
});

export const Modalities = z
  .array(z.enum(['audio', 'text']))
  .min(1)
  .refine((m) => new Set(m).size === m.length, 'modalities must not repeat');


const sessionFields = {
  model: z.string().min(1).max(100),
  instructions: z.string().max(100_000),
  voice: z.string().min(1).max(64),
  temperature: TemperatureSchema,
  max_response_output_tokens: MaxTokensSchema,
  input_audio_format: AudioFormat,
  output_audio_format: AudioFormat,
  input_audio_transcription: InputAudioTranscription.nullable(),
  turn_detection: TurnDetection.nullable(),
  modalities: Modalities,
  tools: z.array(ToolInput).max(128),
  tool_choice: ToolChoice,
  speed: z.number().min(0.25).max(4),
};
/** Accepted, recorded and echoed (realtime mode: forwarded); never set by a business. */
const passthrough = z.object(passthroughSessionFields).partial().shape;

/** What a business sends: everything but instructions optional (mode-dependent defaults filled later). */
export const SessionInput = z
  .object({
    ...sessionFields,
    model: sessionFields.model.optional(),
    voice: sessionFields.voice.optional(),
    temperature: sessionFields.temperature.default(0.8),
    max_response_output_tokens: sessionFields.max_response_output_tokens.default(4096),
    input_audio_format: sessionFields.input_audio_format.default('pcm16'),
    output_audio_format: sessionFields.output_audio_format.default('pcm16'),
    input_audio_transcription: sessionFields.input_audio_transcription.default({ model: 'whisper-1' }),
    turn_detection: sessionFields.turn_detection.default({ ...DEFAULT_TURN_DETECTION }),
    modalities: sessionFields.modalities.default(['audio', 'text']),
    tools: sessionFields.tools.default([]),
    tool_choice: sessionFields.tool_choice.default('auto'),
    speed: sessionFields.speed.optional(),
  })
  .strict();

/** The stored, complete session. */
export const Session = z.object({
  ...sessionFields,
  ...passthrough,
  tools: z.array(FunctionTool),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string() })]),
  speed: sessionFields.speed.optional(),
});
export type Session = z.infer<typeof Session>;

/** A partial session (call overrides, session.update): the same fields, none required, no defaults. */
export const SessionPatch = z
  .object({
    ...sessionFields,
    ...passthrough,
    turn_detection: z
      .object({
        type: z.enum(['server_vad', 'semantic_vad']).optional(),
        threshold: z.number().min(0).max(1).optional(),
        prefix_padding_ms: z.number().int().min(0).max(5_000).optional(),
        silence_duration_ms: z.number().int().min(50).max(10_000).optional(),
        create_response: z.boolean().optional(),
        interrupt_response: z.boolean().optional(),
        eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
      })
      .nullable(),
  })
  .partial()
  .strict();
export type SessionPatch = z.infer<typeof SessionPatch>;

export type Mode = 'chained' | 'realtime';

/** The voices a mode accepts (docs/DESIGN.md §5), plus EXTRA_VOICES for other providers. */
export function allowedVoices(mode: Mode, extraVoices: readonly string[] = []): string[] {
  return [...(mode === 'chained' ? TTS_VOICES : REALTIME_VOICES), ...extraVoices];
}

/** Applies a patch; turn_detection merges field by field so `{threshold: 0.7}` keeps the rest. */
export function applySessionPatch(base: Session, patch: SessionPatch): Session {
  const { turn_detection, ...rest } = patch;
  const out: Session = { ...base, ...(rest as Partial<Session>) };
  if (turn_detection === null) out.turn_detection = null;
  else if (turn_detection !== undefined) {
    out.turn_detection = TurnDetection.parse({ ...(base.turn_detection ?? {}), ...turn_detection });
  }
  return out;
}
