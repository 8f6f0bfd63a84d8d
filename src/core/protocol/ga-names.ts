/**
 * Server event names that differ between dialects (docs/PROTOCOLS.md §1.9).
 * Everything not listed has the same name in both.
 */
import type { ServerEventType } from '../../contracts/realtime';

export const SERVER_TYPE_TO_GA = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
  'conversation.item.created': 'conversation.item.added',
} as const satisfies Partial<Record<ServerEventType, string>>;

const FROM_GA: Record<string, ServerEventType> = Object.fromEntries(
  Object.entries(SERVER_TYPE_TO_GA).map(([beta, ga]) => [ga, beta as ServerEventType]),
);

export function serverTypeToGa(type: ServerEventType): string {
  return (SERVER_TYPE_TO_GA as Partial<Record<string, string>>)[type] ?? type;
}

/** GA name → internal name; unknown names come back unchanged. */
export function serverTypeFromGa(type: string): string {
  return FROM_GA[type] ?? type;
}

/** Assistant content part types: internal (beta) → GA. */
export const PART_TYPE_TO_GA: Readonly<Record<string, string>> = { text: 'output_text', audio: 'output_audio' };
export const PART_TYPE_FROM_GA: Readonly<Record<string, string>> = { output_text: 'text', output_audio: 'audio' };
