/**
 * The realtime session configuration: one internal shape, parsed from and serialized to
 * either dialect (beta flat / GA nested, docs/PROTOCOLS.md §1.3 and §1.9).
 */
import { randomId } from './http';
import type { RealtimeAudioFormat } from './synth';

export type Dialect = 'ga' | 'beta';

export interface TurnDetection {
  type: 'server_vad' | 'semantic_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  create_response: boolean;
  interrupt_response: boolean;
  eagerness?: string;
  idle_timeout_ms?: number | null;
}

export interface RealtimeTool {
  type: 'function';
  name: string;
  description?: string;
  parameters?: unknown;
}

export interface SessionConfig {
  id: string;
  model: string;
  instructions: string;
  /** true: speak (audio + transcript); false: text only. */
  audio: boolean;
  voice: string;
  speed: number;
  inputFormat: RealtimeAudioFormat;
  outputFormat: RealtimeAudioFormat;
  transcription: Record<string, unknown> | null;
  turnDetection: TurnDetection | null;
  noiseReduction: unknown;
  tools: RealtimeTool[];
  toolChoice: unknown;
  temperature: number;
  maxOutputTokens: number | 'inf';
  tracing: unknown;
  expiresAt: number;
}

export const REALTIME_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];
const BETA_FORMATS: RealtimeAudioFormat[] = ['pcm16', 'g711_ulaw', 'g711_alaw'];
const GA_FORMAT_TYPES: Record<string, RealtimeAudioFormat> = { 'audio/pcm': 'pcm16', 'audio/pcmu': 'g711_ulaw', 'audio/pcma': 'g711_alaw' };

export const DEFAULT_INSTRUCTIONS = 'You are a helpful, friendly voice assistant (the fake OpenAI provider).';

export function defaultTurnDetection(type: TurnDetection['type'] = 'server_vad'): TurnDetection {
  return { type, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true };
}

export function defaultSession(model: string): SessionConfig {
  return {
    id: randomId('sess_'),
    model,
    instructions: DEFAULT_INSTRUCTIONS,
    audio: true,
    voice: 'alloy',
    speed: 1,
    inputFormat: 'pcm16',
    outputFormat: 'pcm16',
    transcription: null,
    turnDetection: defaultTurnDetection(),
    noiseReduction: null,
    tools: [],
    toolChoice: 'auto',
    temperature: 0.8,
    maxOutputTokens: 'inf',
    tracing: null,
    expiresAt: Math.floor(Date.now() / 1000) + 30 * 60,
  };
}

export interface SessionError {
  code: string;
  message: string;
  param: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Invalid extends Error {
  constructor(readonly detail: SessionError) {
    super(detail.message);
  }
}

function unknownParam(param: string): never {
  throw new Invalid({ code: 'unknown_parameter', message: `Unknown parameter: '${param}'.`, param });
}

function invalidValue(param: string, value: unknown, allowed?: readonly string[]): never {
  const supported = allowed ? ` Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.` : '';
  throw new Invalid({ code: 'invalid_value', message: `Invalid value: '${JSON.stringify(value)}'.${supported}`, param });
}

/**
 * Applies a partial `session.update` payload in the connection's dialect. Returns the merged
 * config, or an error (and nothing changes) like OpenAI: unknown or other-dialect keys are rejected.
 */
export function applySessionUpdate(
  current: SessionConfig,
  update: unknown,
  dialect: Dialect,
  state: { audioProduced: boolean },
): { session: SessionConfig } | { error: SessionError } {
  if (!isObj(update)) return { error: { code: 'invalid_type', message: "Invalid type for 'session': expected an object.", param: 'session' } };
  const next: SessionConfig = structuredClone(current);
  try {
    if (dialect === 'beta') applyBeta(next, update);
    else applyGa(next, update);
    if (state.audioProduced && next.voice !== current.voice) {
      throw new Invalid({ code: 'cannot_update_voice', message: 'Cannot update a conversation\'s voice if assistant audio is present.', param: 'session.voice' });
    }
    return { session: next };
  } catch (err) {
    if (err instanceof Invalid) return { error: err.detail };
    throw err;
  }
}

function applyCommon(next: SessionConfig, key: string, value: unknown, param: string): boolean {
  switch (key) {
    case 'instructions':
      if (typeof value !== 'string') invalidValue(param, value);
      next.instructions = value;
      return true;
    case 'model':
      if (typeof value !== 'string') invalidValue(param, value);
      next.model = value;
      return true;
    case 'tools':
      next.tools = parseTools(value, param);
      return true;
    case 'tool_choice':
      next.toolChoice = parseToolChoice(value, param);
      return true;
    case 'tracing':
      next.tracing = value;
      return true;
    case 'temperature':
      if (typeof value !== 'number' || value < 0.6 || value > 1.2) invalidValue(param, value);
      next.temperature = value;
      return true;
    default:
      return false;
  }
}

function applyBeta(next: SessionConfig, update: Obj): void {
  for (const [key, value] of Object.entries(update)) {
    const param = `session.${key}`;
    if (applyCommon(next, key, value, param)) continue;
    switch (key) {
      case 'modalities':
        if (!Array.isArray(value) || !value.includes('text') || value.some((m) => m !== 'text' && m !== 'audio')) invalidValue(param, value, ['text', 'audio']);
        next.audio = value.includes('audio');
        break;
      case 'voice':
        next.voice = parseVoice(value, param, false);
        break;
      case 'speed':
        next.speed = parseSpeed(value, param);
        break;
      case 'input_audio_format':
      case 'output_audio_format': {
        if (!BETA_FORMATS.includes(value as RealtimeAudioFormat)) invalidValue(param, value, BETA_FORMATS);
        if (key === 'input_audio_format') next.inputFormat = value as RealtimeAudioFormat;
        else next.outputFormat = value as RealtimeAudioFormat;
        break;
      }
      case 'input_audio_transcription':
        next.transcription = parseTranscription(value, param);
        break;
      case 'turn_detection':
        next.turnDetection = parseTurnDetection(value, param, next.turnDetection);
        break;
      case 'input_audio_noise_reduction':
        next.noiseReduction = value;
        break;
      case 'max_response_output_tokens':
        next.maxOutputTokens = parseMaxTokens(value, param);
        break;
      case 'id':
      case 'object':
      case 'expires_at':
      case 'client_secret':
        break; // echoed-back read-only fields are tolerated
      default:
        unknownParam(param);
    }
  }
}

function applyGa(next: SessionConfig, update: Obj): void {
  if (update.type === undefined) {
    throw new Invalid({ code: 'missing_required_parameter', message: "Missing required parameter: 'session.type'.", param: 'session.type' });
  }
  if (update.type !== 'realtime') invalidValue('session.type', update.type, ['realtime']);
  for (const [key, value] of Object.entries(update)) {
    const param = `session.${key}`;
    if (applyCommon(next, key, value, param)) continue;
    switch (key) {
      case 'type':
      case 'id':
      case 'object':
      case 'expires_at':
      case 'truncation':
      case 'prompt':
      case 'include':
        break;
      case 'output_modalities':
        if (!Array.isArray(value) || value.length !== 1 || (value[0] !== 'audio' && value[0] !== 'text')) invalidValue(param, value, ['audio', 'text']);
        next.audio = value[0] === 'audio';
        break;
      case 'max_output_tokens':
        next.maxOutputTokens = parseMaxTokens(value, param);
        break;
      case 'audio':
        applyGaAudio(next, value, param);
        break;
      default:
        unknownParam(param);
    }
  }
}

function applyGaAudio(next: SessionConfig, audio: unknown, param: string): void {
  if (!isObj(audio)) invalidValue(param, audio);
  for (const [key, value] of Object.entries(audio)) {
    if (key !== 'input' && key !== 'output') unknownParam(`${param}.${key}`);
    if (!isObj(value)) invalidValue(`${param}.${key}`, value);
    for (const [field, v] of Object.entries(value)) {
      const p = `${param}.${key}.${field}`;
      if (field === 'format') {
        const format = parseGaFormat(v, p);
        if (key === 'input') next.inputFormat = format;
        else next.outputFormat = format;
      } else if (key === 'input' && field === 'transcription') next.transcription = parseTranscription(v, p);
      else if (key === 'input' && field === 'turn_detection') next.turnDetection = parseTurnDetection(v, p, next.turnDetection);
      else if (key === 'input' && field === 'noise_reduction') next.noiseReduction = v;
      else if (key === 'output' && field === 'voice') next.voice = parseVoice(v, p, true);
      else if (key === 'output' && field === 'speed') next.speed = parseSpeed(v, p);
      else unknownParam(p);
    }
  }
}

function parseGaFormat(value: unknown, param: string): RealtimeAudioFormat {
  const type = isObj(value) ? value.type : undefined;
  const format = typeof type === 'string' ? GA_FORMAT_TYPES[type] : undefined;
  if (!format) invalidValue(`${param}.type`, type, Object.keys(GA_FORMAT_TYPES));
  if (format === 'pcm16' && isObj(value) && value.rate !== undefined && value.rate !== 24000) invalidValue(`${param}.rate`, value.rate, ['24000']);
  return format;
}

function parseVoice(value: unknown, param: string, allowCustom: boolean): string {
  if (allowCustom && isObj(value) && typeof value.id === 'string') return value.id;
  if (typeof value !== 'string' || !REALTIME_VOICES.includes(value)) invalidValue(param, value, REALTIME_VOICES);
  return value;
}

function parseSpeed(value: unknown, param: string): number {
  if (typeof value !== 'number' || value < 0.25 || value > 1.5) invalidValue(param, value);
  return value;
}

function parseMaxTokens(value: unknown, param: string): number | 'inf' {
  if (value === 'inf') return 'inf';
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 4096) invalidValue(param, value);
  return value;
}

function parseTranscription(value: unknown, param: string): Record<string, unknown> | null {
  if (value === null) return null;
  if (!isObj(value)) invalidValue(param, value);
  return { model: 'whisper-1', ...value };
}

function parseTurnDetection(value: unknown, param: string, current: TurnDetection | null): TurnDetection | null {
  if (value === null) return null;
  if (!isObj(value)) invalidValue(param, value);
  const type = value.type ?? current?.type ?? 'server_vad';
  if (type !== 'server_vad' && type !== 'semantic_vad') invalidValue(`${param}.type`, type, ['server_vad', 'semantic_vad']);
  const base = current && current.type === type ? current : defaultTurnDetection(type);
  const merged = { ...base, ...value, type } as TurnDetection;
  if (typeof merged.threshold !== 'number' || merged.threshold < 0 || merged.threshold > 1) invalidValue(`${param}.threshold`, merged.threshold);
  return merged;
}

function parseTools(value: unknown, param: string): RealtimeTool[] {
  if (!Array.isArray(value)) invalidValue(param, value);
  return value.map((tool, i) => {
    if (!isObj(tool)) invalidValue(`${param}[${i}]`, tool);
    if (tool.function !== undefined) unknownParam(`${param}[${i}].function`);
    if (typeof tool.name !== 'string' || !tool.name) {
      throw new Invalid({ code: 'missing_required_parameter', message: `Missing required parameter: '${param}[${i}].name'.`, param: `${param}[${i}].name` });
    }
    return { type: 'function', ...tool } as RealtimeTool;
  });
}

function parseToolChoice(value: unknown, param: string): unknown {
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (isObj(value) && value.type === 'function') {
    const fn = value.function;
    if (typeof value.name === 'string' || (isObj(fn) && typeof fn.name === 'string')) return value;
  }
  return invalidValue(param, value, ['auto', 'none', 'required']);
}

const GA_FORMAT_OBJECTS: Record<RealtimeAudioFormat, object> = {
  pcm16: { type: 'audio/pcm', rate: 24000 },
  g711_ulaw: { type: 'audio/pcmu' },
  g711_alaw: { type: 'audio/pcma' },
};

/** The full session object as OpenAI sends it in session.created / session.updated. */
export function serializeSession(s: SessionConfig, dialect: Dialect): object {
  if (dialect === 'beta') {
    return {
      id: s.id,
      object: 'realtime.session',
      model: s.model,
      expires_at: s.expiresAt,
      modalities: s.audio ? ['text', 'audio'] : ['text'],
      instructions: s.instructions,
      voice: s.voice,
      speed: s.speed,
      input_audio_format: s.inputFormat,
      output_audio_format: s.outputFormat,
      input_audio_transcription: s.transcription,
      turn_detection: s.turnDetection,
      input_audio_noise_reduction: s.noiseReduction,
      tools: s.tools,
      tool_choice: s.toolChoice,
      temperature: s.temperature,
      max_response_output_tokens: s.maxOutputTokens,
      tracing: s.tracing,
      client_secret: null,
    };
  }
  return {
    type: 'realtime',
    object: 'realtime.session',
    id: s.id,
    model: s.model,
    output_modalities: s.audio ? ['audio'] : ['text'],
    instructions: s.instructions,
    tools: s.tools,
    tool_choice: s.toolChoice,
    max_output_tokens: s.maxOutputTokens,
    tracing: s.tracing,
    truncation: 'auto',
    prompt: null,
    expires_at: s.expiresAt,
    include: null,
    audio: {
      input: {
        format: GA_FORMAT_OBJECTS[s.inputFormat],
        transcription: s.transcription,
        noise_reduction: s.noiseReduction,
        turn_detection: s.turnDetection && { idle_timeout_ms: null, ...s.turnDetection },
      },
      output: { format: GA_FORMAT_OBJECTS[s.outputFormat], voice: s.voice, speed: s.speed },
    },
  };
}
