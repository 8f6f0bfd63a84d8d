/** One chained-mode turn as the gateway tracks it: from the commit to its response's end. */
import type { LlmJob } from '../../contracts/jobs';
import type { Session } from '../../contracts/session';
import { AudioPlayout } from '../../core/playout';
import { newId, type ResponseEmitter } from '../../core/protocol';
import type { SpokenSentence } from '../../core/truncate';
import type { VadOptions } from '../../core/vad/vad';

/** TTS audio is PCM16 24 kHz: 48 bytes per ms. */
export const PCM24K_BYTES_PER_MS = 48;

export interface Turn {
  id: string;
  responseId: string;
  assistantItemId: string;
  emitter: ResponseEmitter | null;
  modalities: ('audio' | 'text')[];
  textSent: number;
  sentences: { text: string; bytes: number }[];
  playout: AudioPlayout;
  totalSentences: number | null;
  usage: Record<string, number> | undefined;
  audioBytesSent: number;
  firstAudioAt: number | null;
  committedAt: number;
  cancelled: boolean;
  /** The cancellation under way: a second one (a client's truncate right after barge-in) waits for it. */
  cancelling: Promise<void> | null;
  /** Manual turns: respond once the transcript is in (response.create came before it). */
  respondOnTranscript: boolean;
  responding: boolean;
  /** The response ended with a client tool's function call: a response.create waits for its end. */
  hadClientTool: boolean;
  overrides: LlmJob['overrides'];
  /** end_call / transfer_to_human asked for during this turn: done once the answer has played. */
  action: { action: 'transfer' | 'end'; reason: string | undefined } | null;
}

export function createTurn(modalities: Turn['modalities']): Turn {
  return {
    id: newId('event').replace('event_', 'turn_'),
    responseId: newId('resp'),
    assistantItemId: newId('item'),
    emitter: null,
    modalities,
    textSent: 0,
    sentences: [],
    playout: new AudioPlayout(),
    totalSentences: null,
    usage: undefined,
    audioBytesSent: 0,
    firstAudioAt: null,
    committedAt: Date.now(),
    cancelled: false,
    cancelling: null,
    respondOnTranscript: false,
    responding: false,
    hadClientTool: false,
    overrides: undefined,
    action: null,
  };
}

/** Each sentence's text and how long its audio is (what truncation maps played time onto). */
export function spokenSentences(turn: Turn): SpokenSentence[] {
  return turn.sentences.map((s) => ({ text: s?.text ?? '', ms: (s?.bytes ?? 0) / PCM24K_BYTES_PER_MS }));
}

export function sentMs(turn: Turn): number {
  return turn.audioBytesSent / PCM24K_BYTES_PER_MS;
}

export function vadOptions(session: Session, minSpeechMs: number): VadOptions | null {
  const td = session.turn_detection;
  if (!td) return null;
  return { threshold: td.threshold, prefixPaddingMs: td.prefix_padding_ms, silenceDurationMs: td.silence_duration_ms, minSpeechMs };
}
