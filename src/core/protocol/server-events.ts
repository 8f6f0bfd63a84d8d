/**
 * Builders for the server events outside a response (docs/PROTOCOLS.md §1.5):
 * connection, VAD/buffer, user items, transcription, errors. Each fills
 * `event_id`, so drivers never hand-assemble envelopes.
 */
import type {
  ConversationItem,
  RealtimeError,
  RealtimeSession,
  ServerEventOf,
} from '../../contracts/realtime';
import { newId } from './ids';
import { stamp } from './stamp';

type TranscriptionError = ServerEventOf<'conversation.item.input_audio_transcription.failed'>['error'];

export const serverEvents = {
  sessionCreated: (session: RealtimeSession): ServerEventOf<'session.created'> =>
    stamp({ type: 'session.created', session }),

  sessionUpdated: (session: RealtimeSession): ServerEventOf<'session.updated'> =>
    stamp({ type: 'session.updated', session }),

  conversationCreated: (id: string = newId('conv')): ServerEventOf<'conversation.created'> =>
    stamp({ type: 'conversation.created', conversation: { id, object: 'realtime.conversation' } }),

  speechStarted: (o: { audio_start_ms: number; item_id: string }): ServerEventOf<'input_audio_buffer.speech_started'> =>
    stamp({ type: 'input_audio_buffer.speech_started', ...o }),

  speechStopped: (o: { audio_end_ms: number; item_id: string }): ServerEventOf<'input_audio_buffer.speech_stopped'> =>
    stamp({ type: 'input_audio_buffer.speech_stopped', ...o }),

  committed: (o: { previous_item_id: string | null; item_id: string }): ServerEventOf<'input_audio_buffer.committed'> =>
    stamp({ type: 'input_audio_buffer.committed', ...o }),

  cleared: (): ServerEventOf<'input_audio_buffer.cleared'> => stamp({ type: 'input_audio_buffer.cleared' }),

  /** The user item a commit creates: audio is not echoed, the transcript comes later (§1.5). */
  userAudioItem: (item_id: string): ConversationItem => ({
    id: item_id,
    object: 'realtime.item',
    type: 'message',
    status: 'completed',
    role: 'user',
    content: [{ type: 'input_audio', transcript: null }],
  }),

  itemCreated: (item: ConversationItem, previous_item_id: string | null): ServerEventOf<'conversation.item.created'> =>
    stamp({ type: 'conversation.item.created', previous_item_id, item }),

  /** GA's "item is final" event; dropped for beta clients. */
  itemDone: (item: ConversationItem, previous_item_id: string | null): ServerEventOf<'conversation.item.done'> =>
    stamp({ type: 'conversation.item.done', previous_item_id, item }),

  /** committed → item.created (→ item.done for GA): what a commit produces, in order. */
  userAudioCommitted(o: { previous_item_id: string | null; item_id: string }) {
    const item = serverEvents.userAudioItem(o.item_id);
    return [
      serverEvents.committed(o),
      serverEvents.itemCreated(item, o.previous_item_id),
      serverEvents.itemDone(item, o.previous_item_id),
    ] as const;
  },

  transcriptionDelta: (o: { item_id: string; delta: string; content_index?: number }) =>
    stamp({ type: 'conversation.item.input_audio_transcription.delta', content_index: 0, ...o }),

  transcriptionCompleted: (o: { item_id: string; transcript: string; content_index?: number; usage?: Record<string, unknown> }) =>
    stamp({ type: 'conversation.item.input_audio_transcription.completed', content_index: 0, ...o }),

  transcriptionFailed: (o: { item_id: string; error: TranscriptionError; content_index?: number }) =>
    stamp({ type: 'conversation.item.input_audio_transcription.failed', content_index: 0, ...o }),

  truncated: (o: { item_id: string; content_index: number; audio_end_ms: number }): ServerEventOf<'conversation.item.truncated'> =>
    stamp({ type: 'conversation.item.truncated', ...o }),

  deleted: (item_id: string): ServerEventOf<'conversation.item.deleted'> => stamp({ type: 'conversation.item.deleted', item_id }),

  retrieved: (item: ConversationItem): ServerEventOf<'conversation.item.retrieved'> =>
    stamp({ type: 'conversation.item.retrieved', item }),

  /** `error.type` defaults to invalid_request_error; echo the client's event_id when there is one. */
  error: (e: Omit<RealtimeError, 'type'> & { type?: string }): ServerEventOf<'error'> =>
    stamp({ type: 'error', error: { type: 'invalid_request_error', ...e } }),

  /** Our extension: a server-side tool ran (docs/DESIGN.md §5). */
  functionCallDone: (o: {
    call_id: string;
    name: string;
    arguments: string;
    output: string;
    duration_ms: number;
    response_id?: string;
    item_id?: string;
  }): ServerEventOf<'response.function_call.done'> => stamp({ type: 'response.function_call.done', ...o }),
};
