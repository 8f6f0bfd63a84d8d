/** Stage job payloads (BullMQ job data). Ids are created by the gateway so every stage agrees on them. */
export interface TurnRef {
  call_id: string;
  turn_id: string;
  /** The response this turn produces (resp_…) and its assistant message item (item_…). */
  response_id: string;
  assistant_item_id: string;
}

export interface SttJob extends TurnRef {
  user_item_id: string;
  audio_ms: number;
  /** Start the LLM when the transcript is in (server VAD with create_response). */
  respond: boolean;
  /** An early transcription of this utterance is on its way (EarlySttJob): wait for it instead of transcribing. */
  early_id?: string;
  /** The turn's LLM job is already queued and waits for the transcript: mark it (adapters/turn-signals.ts) instead of queueing it. */
  llm_waiting?: boolean;
}

/**
 * Transcribe a turn's audio while the caller pauses, before silence_duration_ms ends the turn
 * (business.early_transcription_ms). The result waits under `keys.earlyTranscript`; if the turn
 * then ends with no more speech, its STT job takes it instead of transcribing again.
 */
export interface EarlySttJob {
  call_id: string;
  early_id: string;
  audio_ms: number;
}

export interface LlmJob extends TurnRef {
  /** The call's business, when the one queueing the job knows it (saves the worker a lookup first). */
  business_id?: string;
  /** Queued with the turn's STT job: wait for its transcript before answering (adapters/turn-signals.ts). */
  after_stt?: boolean;
  /** Per-response overrides from response.create (instructions, temperature, modalities, …). */
  overrides?: { instructions?: string; temperature?: number; modalities?: ('audio' | 'text')[]; max_output_tokens?: number | 'inf' } | undefined;
}

export interface TtsJob extends TurnRef {
  seq: number;
  text: string;
  /** The business's fallback message: its audio is cached, to be played when TTS itself is down. */
  fallback?: boolean;
  /** Queued when the answer's LLM job started: `text` (and `fallback`) come with the `sentence0` turn signal. */
  text_pending?: boolean;
}
