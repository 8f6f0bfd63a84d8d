/**
 * What the stage workers write to a call's output stream for the gateway to turn into Realtime
 * events. Every record names its turn; text carries a character offset and audio a sentence `seq`
 * and byte offset, so the gateway can drop what a re-delivered job sends twice.
 */
export type StageOutput =
  | { kind: 'transcript'; turn_id: string; item_id: string; text: string }
  | { kind: 'transcript_failed'; turn_id: string; item_id: string; error: string }
  | { kind: 'response_started'; turn_id: string }
  | { kind: 'text_delta'; turn_id: string; offset: number; text: string }
  | { kind: 'sentence'; turn_id: string; seq: number; text: string }
  | { kind: 'function_call'; turn_id: string; call_id: string; name: string; arguments: string; item_id: string }
  | { kind: 'function_call_output'; turn_id: string; call_id: string; name: string; arguments: string; output: string; duration_ms: number; item_id: string }
  | { kind: 'text_done'; turn_id: string; text: string; sentences: number; usage?: Record<string, number> | undefined }
  | { kind: 'audio'; turn_id: string; seq: number; offset: number }
  | { kind: 'audio_done'; turn_id: string; seq: number; bytes: number; error?: string | undefined }
  | { kind: 'turn_failed'; turn_id: string; stage: string; error: string; fallback_text?: string | undefined }
  | { kind: 'call_action'; turn_id: string; action: 'transfer' | 'end'; reason?: string | undefined };

export type StageOutputKind = StageOutput['kind'];
