/**
 * Session and per-reply settings between the internal flat (beta) shape and
 * GA's nested one (docs/PROTOCOLS.md §1.9).
 */
import {
  DEFAULT_SESSION,
  type AudioFormat,
  type Modality,
  type RealtimeSession,
  type RealtimeSessionPatch,
  type ResponseCreateParams,
} from '../../contracts/realtime';
import type { GaAudioFormat, GaResponseCreateParams, GaSession } from './ga-schemas';

// ------------------------------------------------------------------- formats

export function audioFormatToGa(f: AudioFormat): GaAudioFormat {
  switch (f) {
    case 'pcm16':
      return { type: 'audio/pcm', rate: 24000 };
    case 'g711_ulaw':
      return { type: 'audio/pcmu' };
    case 'g711_alaw':
      return { type: 'audio/pcma' };
  }
}

export function audioFormatFromGa(f: GaAudioFormat): AudioFormat {
  switch (f.type) {
    case 'audio/pcm':
      return 'pcm16';
    case 'audio/pcmu':
      return 'g711_ulaw';
    case 'audio/pcma':
      return 'g711_alaw';
  }
}

/** GA allows one output kind: `["audio"]` includes the transcript, so it is beta's `["text","audio"]`. */
export function modalitiesToGa(m: readonly Modality[]): Modality[] {
  return m.includes('audio') ? ['audio'] : ['text'];
}

export function modalitiesFromGa(m: readonly Modality[]): Modality[] {
  return m.includes('audio') ? ['text', 'audio'] : ['text'];
}

// ------------------------------------------------------------------- session

type GaInput = NonNullable<NonNullable<GaSession['audio']>['input']>;
type GaOutput = NonNullable<NonNullable<GaSession['audio']>['output']>;

/**
 * Only the fields present in the patch, so a GA `session.update` stays
 * partial. Always carries `type:'realtime'` (GA requires it). `temperature`
 * is dropped: GA rejects it.
 */
export function sessionPatchToGa(p: RealtimeSessionPatch): GaSession {
  const out: GaSession = { type: 'realtime' };
  if (p.model !== undefined) out.model = p.model;
  if (p.modalities !== undefined) out.output_modalities = modalitiesToGa(p.modalities);
  if (p.instructions !== undefined) out.instructions = p.instructions;
  const input: GaInput = {};
  if (p.input_audio_format !== undefined) input.format = audioFormatToGa(p.input_audio_format);
  if (p.input_audio_transcription !== undefined) input.transcription = p.input_audio_transcription;
  if (p.turn_detection !== undefined) input.turn_detection = p.turn_detection;
  if (p.input_audio_noise_reduction !== undefined) input.noise_reduction = p.input_audio_noise_reduction;
  const output: GaOutput = {};
  if (p.output_audio_format !== undefined) output.format = audioFormatToGa(p.output_audio_format);
  if (p.voice !== undefined) output.voice = p.voice;
  if (p.speed !== undefined) output.speed = p.speed;
  if (Object.keys(input).length > 0 || Object.keys(output).length > 0) {
    out.audio = {};
    if (Object.keys(input).length > 0) out.audio.input = input;
    if (Object.keys(output).length > 0) out.audio.output = output;
  }
  if (p.tools !== undefined) out.tools = p.tools;
  if (p.tool_choice !== undefined) out.tool_choice = p.tool_choice;
  if (p.max_response_output_tokens !== undefined) out.max_output_tokens = p.max_response_output_tokens;
  if (p.tracing !== undefined) out.tracing = p.tracing;
  if (p.include !== undefined) out.include = p.include;
  if (p.prompt !== undefined) out.prompt = p.prompt;
  if (p.truncation !== undefined) out.truncation = p.truncation;
  if (p.reasoning !== undefined) out.reasoning = p.reasoning;
  if (p.parallel_tool_calls !== undefined) out.parallel_tool_calls = p.parallel_tool_calls;
  return out;
}

/** A full session in GA shape (session.created / session.updated for GA clients). */
export function sessionToGa(s: RealtimeSession): GaSession {
  const { id, object, expires_at, temperature: _notInGa, ...rest } = s;
  const ga = sessionPatchToGa(rest);
  return {
    type: 'realtime',
    ...(object !== undefined && { object }),
    ...(id !== undefined && { id }),
    ...(expires_at !== undefined && { expires_at }),
    ...ga,
  };
}

export function sessionPatchFromGa(ga: GaSession): RealtimeSessionPatch {
  const out: RealtimeSessionPatch = {};
  if (ga.model !== undefined) out.model = ga.model;
  if (ga.output_modalities !== undefined) out.modalities = modalitiesFromGa(ga.output_modalities);
  if (ga.instructions !== undefined) out.instructions = ga.instructions;
  const input = ga.audio?.input;
  if (input?.format !== undefined) out.input_audio_format = audioFormatFromGa(input.format);
  if (input?.transcription !== undefined) out.input_audio_transcription = input.transcription;
  if (input?.turn_detection !== undefined) out.turn_detection = input.turn_detection;
  if (input?.noise_reduction !== undefined) out.input_audio_noise_reduction = input.noise_reduction;
  const output = ga.audio?.output;
  if (output?.format !== undefined) out.output_audio_format = audioFormatFromGa(output.format);
  if (output?.voice !== undefined) out.voice = output.voice;
  if (output?.speed !== undefined) out.speed = output.speed;
  if (ga.tools !== undefined) out.tools = ga.tools;
  if (ga.tool_choice !== undefined) out.tool_choice = ga.tool_choice;
  if (ga.max_output_tokens !== undefined) out.max_response_output_tokens = ga.max_output_tokens;
  if (ga.temperature !== undefined) out.temperature = ga.temperature;
  if (ga.tracing !== undefined) out.tracing = ga.tracing;
  if (ga.include !== undefined) out.include = ga.include;
  if (ga.prompt !== undefined) out.prompt = ga.prompt;
  if (ga.truncation !== undefined) out.truncation = ga.truncation;
  if (ga.reasoning !== undefined) out.reasoning = ga.reasoning;
  if (ga.parallel_tool_calls !== undefined) out.parallel_tool_calls = ga.parallel_tool_calls;
  return out;
}

/**
 * A full GA session → internal. Fields GA does not report (temperature, and
 * anything an upstream leaves out) take OpenAI's defaults.
 */
export function sessionFromGa(ga: GaSession): RealtimeSession {
  const { model, ...patch } = sessionPatchFromGa(ga);
  return {
    ...(ga.id !== undefined && { id: ga.id }),
    object: 'realtime.session',
    ...(model !== undefined && { model }),
    ...(ga.expires_at !== undefined && { expires_at: ga.expires_at }),
    ...DEFAULT_SESSION,
    ...patch,
  };
}

// ----------------------------------------------------- response.create params

export function responseParamsToGa(p: ResponseCreateParams): GaResponseCreateParams {
  const { modalities, voice, output_audio_format, max_response_output_tokens, temperature: _notInGa, input, ...same } = p;
  const out: GaResponseCreateParams = { ...same };
  if (modalities !== undefined) out.output_modalities = modalitiesToGa(modalities);
  if (voice !== undefined || output_audio_format !== undefined) {
    out.audio = {
      output: {
        ...(output_audio_format !== undefined && { format: audioFormatToGa(output_audio_format) }),
        ...(voice !== undefined && { voice }),
      },
    };
  }
  if (max_response_output_tokens !== undefined) out.max_output_tokens = max_response_output_tokens;
  if (input !== undefined) out.input = input.map((i) => (i.type === 'item_reference' ? i : clientItemToGa(i)));
  return out;
}

export function responseParamsFromGa(g: GaResponseCreateParams): ResponseCreateParams {
  const { output_modalities, audio, max_output_tokens, input, ...same } = g;
  const out: ResponseCreateParams = { ...same };
  if (output_modalities !== undefined) out.modalities = modalitiesFromGa(output_modalities);
  if (audio?.output?.format !== undefined) out.output_audio_format = audioFormatFromGa(audio.output.format);
  if (audio?.output?.voice !== undefined) out.voice = audio.output.voice;
  if (max_output_tokens !== undefined) out.max_response_output_tokens = max_output_tokens;
  if (input !== undefined) out.input = input.map((i) => (i.type === 'item_reference' ? i : clientItemFromGa(i)));
  return out;
}

// Client items differ only in assistant text parts (`text` ↔ `output_text`).
type ClientItem = Exclude<NonNullable<ResponseCreateParams['input']>[number], { type: 'item_reference' }>;
type GaItem = Exclude<NonNullable<GaResponseCreateParams['input']>[number], { type: 'item_reference' }>;

export function clientItemToGa(i: ClientItem): GaItem {
  if (i.type === 'message' && i.role === 'assistant') {
    return { ...i, content: i.content.map((c) => ({ ...c, type: 'output_text' as const })) };
  }
  return i;
}

export function clientItemFromGa(i: GaItem): ClientItem {
  if (i.type === 'message' && i.role === 'assistant') {
    return { ...i, content: i.content.map((c) => ({ ...c, type: 'text' as const })) };
  }
  return i;
}
