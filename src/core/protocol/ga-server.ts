/**
 * Server events between the internal (beta) shape and GA (docs/PROTOCOLS.md §1.9):
 * renamed streams, `conversation.item.added`, nested session and response
 * settings, `output_text`/`output_audio` assistant parts.
 */
import { DEFAULT_SESSION, type ConversationItem, type RealtimeResponse, type ServerEvent } from '../../contracts/realtime';
import { PART_TYPE_FROM_GA, PART_TYPE_TO_GA, serverTypeFromGa, serverTypeToGa } from './ga-names';
import type { GaSession } from './ga-schemas';
import { audioFormatFromGa, audioFormatToGa, modalitiesFromGa, modalitiesToGa, sessionFromGa, sessionToGa } from './ga-session';
import { isRecord, type JsonRecord, type WireEvent } from './wire';

// --------------------------------------------------------- internal → GA

function renamePart<T extends { type: string }>(part: T, table: Readonly<Record<string, string>>): T {
  const type = table[part.type];
  return type === undefined ? part : { ...part, type };
}

function itemToGa(item: ConversationItem): JsonRecord {
  if (item.type !== 'message') return item;
  return { ...item, content: item.content.map((p) => renamePart(p, PART_TYPE_TO_GA)) };
}

function responseToGa(r: RealtimeResponse): JsonRecord {
  const { modalities, voice, output_audio_format, temperature: _notInGa, output, ...same } = r;
  const out: JsonRecord = { ...same, output: output.map(itemToGa) };
  if (modalities !== undefined) out['output_modalities'] = modalitiesToGa(modalities);
  if (voice !== undefined || output_audio_format !== undefined) {
    out['audio'] = {
      output: {
        ...(output_audio_format !== undefined && { format: audioFormatToGa(output_audio_format) }),
        ...(voice !== undefined && { voice }),
      },
    };
  }
  return out;
}

/** One internal event in GA shape (1:1; `toClientWireAll` adds the extra events). */
export function serverEventToGa(e: ServerEvent): WireEvent {
  const type = serverTypeToGa(e.type);
  switch (e.type) {
    case 'session.created':
    case 'session.updated':
      return { ...e, type, session: sessionToGa(e.session) };
    case 'conversation.item.created':
    case 'conversation.item.done':
    case 'conversation.item.retrieved':
    case 'response.output_item.added':
    case 'response.output_item.done':
      return { ...e, type, item: itemToGa(e.item) };
    case 'response.created':
    case 'response.done':
      return { ...e, type, response: responseToGa(e.response) };
    case 'response.content_part.added':
    case 'response.content_part.done':
      return { ...e, type, part: renamePart(e.part, PART_TYPE_TO_GA) };
    default:
      return { ...e, type };
  }
}

// --------------------------------------------------------- GA → internal

function itemFromGa(item: unknown): unknown {
  if (!isRecord(item) || item['type'] !== 'message' || !Array.isArray(item['content'])) return item;
  return {
    ...item,
    content: item['content'].map(partFromGa),
  };
}

function responseFromGa(r: unknown): unknown {
  if (!isRecord(r)) return r;
  const { output_modalities, audio, output, ...same } = r;
  const out: JsonRecord = { ...same };
  if (Array.isArray(output)) out['output'] = output.map(itemFromGa);
  else if (output !== undefined) out['output'] = output;
  if (Array.isArray(output_modalities)) out['modalities'] = modalitiesFromGa(output_modalities);
  const audioOut = isRecord(audio) && isRecord(audio['output']) ? audio['output'] : undefined;
  if (audioOut !== undefined) {
    if (isRecord(audioOut['format'])) {
      out['output_audio_format'] = audioFormatFromGa(audioOut['format'] as Parameters<typeof audioFormatFromGa>[0]);
    }
    if (audioOut['voice'] !== undefined) out['voice'] = audioOut['voice'];
  }
  return out;
}

/**
 * A GA server event reshaped to the internal shape, still unvalidated: the
 * caller validates it with the internal schema. Unknown types come back with
 * their name unchanged.
 */
export function serverEventFromGa(e: WireEvent): WireEvent {
  const type = serverTypeFromGa(e.type);
  switch (type) {
    case 'session.created':
    case 'session.updated':
      return isRecord(e['session']) ? { ...e, type, session: sessionFromGa(e['session'] as GaSession) } : { ...e, type };
    case 'conversation.item.created':
    case 'conversation.item.done':
    case 'conversation.item.retrieved':
    case 'response.output_item.added':
    case 'response.output_item.done':
      return { ...e, type, item: itemFromGa(e['item']) };
    case 'response.created':
    case 'response.done':
      return { ...e, type, response: responseFromGa(e['response']) };
    case 'response.content_part.added':
    case 'response.content_part.done':
      return { ...e, type, part: partFromGa(e['part']) };
    default:
      return { ...e, type };
  }
}

function partFromGa(p: unknown): unknown {
  return isRecord(p) && typeof p['type'] === 'string' ? renamePart(p as { type: string }, PART_TYPE_FROM_GA) : p;
}

// ------------------------------------------------ upstream session leniency

function pick(v: unknown, keys: readonly string[]): unknown {
  if (!isRecord(v)) return v;
  return Object.fromEntries(keys.filter((k) => v[k] !== undefined).map((k) => [k, v[k]]));
}

const TURN_DETECTION_KEYS = [
  'type', 'threshold', 'prefix_padding_ms', 'silence_duration_ms', 'create_response',
  'interrupt_response', 'eagerness', 'idle_timeout_ms',
] as const;

/**
 * The internal session schema is strict in its nested objects (to catch
 * client typos); an upstream may report more (new VAD knobs, …), so keep only
 * what the internal model knows before validating, and an upstream may report
 * less (older beta servers omit `input_audio_noise_reduction`): a missing
 * field takes OpenAI's default. `defaulted` names what was filled in.
 */
export function normalizeUpstreamSession(s: unknown): { session: unknown; defaulted: string[] } {
  if (!isRecord(s)) return { session: s, defaulted: [] };
  const out: JsonRecord = { ...s };
  const defaulted: string[] = [];
  for (const [k, v] of Object.entries(DEFAULT_SESSION)) {
    if (out[k] === undefined) {
      out[k] = v;
      defaulted.push(k);
    }
  }
  if (isRecord(s['turn_detection'])) out['turn_detection'] = pick(s['turn_detection'], TURN_DETECTION_KEYS);
  if (isRecord(s['input_audio_transcription'])) {
    out['input_audio_transcription'] = pick(s['input_audio_transcription'], ['model', 'language', 'prompt', 'delay']);
  }
  if (isRecord(s['input_audio_noise_reduction'])) {
    out['input_audio_noise_reduction'] = pick(s['input_audio_noise_reduction'], ['type']);
  }
  if (Array.isArray(s['tools'])) {
    out['tools'] = s['tools'].map((t: unknown) => pick(t, ['type', 'name', 'description', 'parameters']));
  }
  return { session: out, defaulted };
}
