/**
 * One realtime response, emitted in OpenAI's order (docs/PROTOCOLS.md §1.6) with the dialect's names.
 * It yields to the event loop between deltas, so a `response.cancel` or barge-in can interrupt it;
 * interrupted parts are closed (`*.done`, item `incomplete`) before `response.done`.
 */
import { argumentPieces, resolveReply, textPieces, type ResolvedReply } from './chat';
import { delay, randomId } from './http';
import { serializeItem, type ConversationItem } from './realtime-conversation';
import type { Dialect, SessionConfig } from './realtime-session';
import { countTokens, DEFAULT_MS_PER_CHAR, type ChatReply } from './script';
import { encodeAudio, synthesize } from './synth';

export type CancelReason = 'turn_detected' | 'client_cancelled';

export interface ResponseOptions {
  dialect: Dialect;
  session: SessionConfig;
  conversationId: string;
  /** false for out-of-band responses (`conversation: "none"`). */
  inConversation: boolean;
  reply: ChatReply;
  inputText: string;
  msPerChar?: number;
  firstDeltaDelayMs?: number;
  metadata?: unknown;
  emit: (event: Record<string, unknown>) => void;
  /** Appends an output item to the conversation, returning the previous item's id. */
  addItem: (item: ConversationItem) => string | null;
}

const EVENT_NAMES = {
  beta: {
    audioDelta: 'response.audio.delta', audioDone: 'response.audio.done',
    transcriptDelta: 'response.audio_transcript.delta', transcriptDone: 'response.audio_transcript.done',
    textDelta: 'response.text.delta', textDone: 'response.text.done',
    audioPart: 'audio', textPart: 'text',
  },
  ga: {
    audioDelta: 'response.output_audio.delta', audioDone: 'response.output_audio.done',
    transcriptDelta: 'response.output_audio_transcript.delta', transcriptDone: 'response.output_audio_transcript.done',
    textDelta: 'response.output_text.delta', textDone: 'response.output_text.done',
    audioPart: 'output_audio', textPart: 'output_text',
  },
} as const;

export class RealtimeResponse {
  readonly id = randomId('resp_');
  private readonly abort = new AbortController();
  private cancelReason: CancelReason | undefined;
  private readonly output: ConversationItem[] = [];
  private readonly reply: ResolvedReply;
  private audioMsTotal = 0;
  private finished = false;

  constructor(private readonly o: ResponseOptions) {
    this.reply = resolveReply(o.reply);
  }

  /** Emits the whole response; resolves after `response.done` (or disposal). */
  start(): Promise<void> {
    return this.run();
  }

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  cancel(reason: CancelReason): void {
    if (this.cancelReason || this.finished) return;
    this.cancelReason = reason;
    this.abort.abort();
  }

  /** Stops without sending anything else (the socket is gone). */
  dispose(): void {
    this.finished = true;
    this.abort.abort();
  }

  private get names() {
    return EVENT_NAMES[this.o.dialect];
  }

  private emit(event: Record<string, unknown>): void {
    if (!this.finished) this.o.emit(event);
  }

  /** Lets other socket messages in; false once cancelled. */
  private async step(ms?: number): Promise<boolean> {
    if (ms) await delay(ms, this.abort.signal);
    else await new Promise<void>((resolve) => setImmediate(resolve));
    return !this.cancelReason && !this.finished;
  }

  private responseObject(status: string, statusDetails: unknown, usage: unknown): Record<string, unknown> {
    const s = this.o.session;
    const common = {
      id: this.id,
      object: 'realtime.response',
      status,
      status_details: statusDetails,
      output: this.output.map(serializeItem),
      conversation_id: this.o.inConversation ? this.o.conversationId : null,
      usage,
      metadata: this.o.metadata ?? null,
    };
    if (this.o.dialect === 'beta') {
      return { ...common, modalities: s.audio ? ['text', 'audio'] : ['text'], voice: s.voice, output_audio_format: s.outputFormat, temperature: s.temperature, max_output_tokens: s.maxOutputTokens };
    }
    return { ...common, output_modalities: s.audio ? ['audio'] : ['text'], max_output_tokens: s.maxOutputTokens, audio: { output: { format: s.outputFormat === 'pcm16' ? { type: 'audio/pcm', rate: 24000 } : { type: s.outputFormat === 'g711_ulaw' ? 'audio/pcmu' : 'audio/pcma' }, voice: s.voice } } };
  }

  private async run(): Promise<void> {
    this.emit({ type: 'response.created', response: this.responseObject('in_progress', null, null) });
    this.emit({
      type: 'rate_limits.updated',
      rate_limits: [
        { name: 'requests', limit: 10000, remaining: 9999, reset_seconds: 0.006 },
        { name: 'tokens', limit: 200000, remaining: 199000, reset_seconds: 0.3 },
      ],
    });
    let completed = true;
    if (this.reply.text) completed = await this.message(this.reply.text);
    for (const call of this.reply.toolCalls) {
      if (!completed) break;
      completed = await this.functionCall(call);
    }
    if (this.finished) return;
    const status = this.cancelReason ? 'cancelled' : 'completed';
    const details = this.cancelReason ? { type: 'cancelled', reason: this.cancelReason } : null;
    this.emit({ type: 'response.done', response: this.responseObject(status, details, this.usage()) });
    this.finished = true;
  }

  private addOutput(item: ConversationItem, outputIndex: number): void {
    this.output.push(item);
    this.emit({ type: 'response.output_item.added', response_id: this.id, output_index: outputIndex, item: serializeItem(item) });
    if (!this.o.inConversation) return;
    const previous = this.o.addItem(item);
    const created = this.o.dialect === 'beta' ? 'conversation.item.created' : 'conversation.item.added';
    this.emit({ type: created, previous_item_id: previous, item: serializeItem(item) });
  }

  private finishOutput(item: ConversationItem, outputIndex: number, completed: boolean): void {
    item.status = completed ? 'completed' : 'incomplete';
    this.emit({ type: 'response.output_item.done', response_id: this.id, output_index: outputIndex, item: serializeItem(item) });
    if (this.o.inConversation && this.o.dialect === 'ga') this.emit({ type: 'conversation.item.done', item: serializeItem(item) });
  }

  private async message(text: string): Promise<boolean> {
    const names = this.names;
    const speak = this.o.session.audio;
    const item: ConversationItem = { id: randomId('item_'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    const outputIndex = this.output.length;
    this.addOutput(item, outputIndex);
    const r = { response_id: this.id, item_id: item.id, output_index: outputIndex, content_index: 0 };
    const partType = speak ? names.audioPart : names.textPart;
    this.emit({ type: 'response.content_part.added', ...r, part: speak ? { type: partType, transcript: '' } : { type: partType, text: '' } });

    const pieces = textPieces(text);
    const audio = speak ? this.audioFor(text) : undefined;
    let said = '';
    let samplesSent = 0;
    let ok = await this.step(this.o.firstDeltaDelayMs);
    for (const piece of ok ? pieces : []) {
      said += piece;
      if (speak && audio) {
        this.emit({ type: names.transcriptDelta, ...r, delta: piece });
        const end = Math.round((audio.length * said.length) / text.length);
        const chunk = audio.subarray(samplesSent, end);
        samplesSent = end;
        if (chunk.length > 0) this.emit({ type: names.audioDelta, ...r, delta: encodeAudio(chunk, this.o.session.outputFormat).toString('base64') });
      } else {
        this.emit({ type: names.textDelta, ...r, delta: piece });
      }
      if (!(ok = await this.step())) break;
    }
    if (this.finished) return false;
    const audioMs = Math.round((samplesSent * 1000) / 24000);
    this.audioMsTotal += audioMs;
    if (speak) {
      item.audioMs = audioMs;
      item.content = [{ type: partType, transcript: said }];
      this.emit({ type: names.audioDone, ...r });
      this.emit({ type: names.transcriptDone, ...r, transcript: said });
      this.emit({ type: 'response.content_part.done', ...r, part: { type: partType, transcript: said } });
    } else {
      item.content = [{ type: partType, text: said }];
      this.emit({ type: names.textDone, ...r, text: said });
      this.emit({ type: 'response.content_part.done', ...r, part: { type: partType, text: said } });
    }
    this.finishOutput(item, outputIndex, ok);
    return ok;
  }

  private audioFor(text: string): Int16Array {
    const msPerChar = this.o.msPerChar ?? DEFAULT_MS_PER_CHAR;
    return synthesize({ voice: this.o.session.voice, durationMs: (msPerChar * text.length) / this.o.session.speed });
  }

  private async functionCall(call: { id: string; name: string; arguments: string }): Promise<boolean> {
    const item: ConversationItem = { id: randomId('item_'), type: 'function_call', status: 'in_progress', call_id: call.id, name: call.name, arguments: '' };
    const outputIndex = this.output.length;
    this.addOutput(item, outputIndex);
    const r = { response_id: this.id, item_id: item.id, output_index: outputIndex, call_id: call.id };
    let ok = await this.step(outputIndex === 0 ? this.o.firstDeltaDelayMs : undefined);
    for (const piece of ok ? argumentPieces(call.arguments) : []) {
      item.arguments += piece;
      this.emit({ type: 'response.function_call_arguments.delta', ...r, delta: piece });
      if (!(ok = await this.step())) break;
    }
    if (this.finished) return false;
    if (ok) {
      this.emit({ type: 'response.function_call_arguments.done', ...r, arguments: item.arguments, ...(this.o.dialect === 'ga' && { name: call.name }) });
    }
    this.finishOutput(item, outputIndex, ok);
    return ok;
  }

  private usage(): object {
    const text = this.output.map((i) => (i.content ?? []).map((p) => p.transcript ?? p.text ?? '').join('') + (i.arguments ?? '')).join('');
    const textTokens = countTokens(text);
    const audioTokens = Math.ceil(this.audioMsTotal / 50);
    const inputTokens = countTokens(this.o.inputText) + 10;
    return {
      total_tokens: inputTokens + textTokens + audioTokens,
      input_tokens: inputTokens,
      output_tokens: textTokens + audioTokens,
      input_token_details: { cached_tokens: 0, text_tokens: inputTokens, audio_tokens: 0 },
      output_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
    };
  }
}
