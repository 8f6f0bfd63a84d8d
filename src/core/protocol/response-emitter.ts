/**
 * Produces one response's server events in OpenAI's order (docs/PROTOCOLS.md §1.6),
 * with the R fields (response_id, item_id, output_index, content_index) right.
 * Both call drivers use it, so a client sees the same stream in either mode.
 * Pure: it returns events and never sends them. Misuse (a delta with no open
 * message, anything after done) throws: it is a driver bug, not client input.
 */
import type {
  AudioFormat,
  ConversationItem,
  Modality,
  ResponseStatusDetails,
  RealtimeResponse,
  ServerEvent,
  Usage,
  Voice,
} from '../../contracts/realtime';
import { newId } from './ids';
import { stamp } from './stamp';

export type FinalStatus = 'completed' | 'cancelled' | 'failed' | 'incomplete';

export interface ResponseEmitterOptions {
  responseId?: string;
  conversationId?: string | null;
  modalities: Modality[];
  /** The conversation's last item before this reply (`previous_item_id` of the first output item). */
  previousItemId?: string | null;
  voice?: Voice;
  outputAudioFormat?: AudioFormat;
}

export interface DoneDetails {
  reason?: ResponseStatusDetails['reason'];
  error?: ResponseStatusDetails['error'];
}

interface OpenMessage {
  index: number;
  itemId: string;
  previousItemId: string | null;
  text: string;
}

interface OpenCall {
  index: number;
  itemId: string;
  previousItemId: string | null;
  callId: string;
  name: string;
  args: string;
}

type FunctionCallItem = Extract<ConversationItem, { type: 'function_call' }>;

export class ResponseEmitter {
  readonly responseId: string;
  private readonly audio: boolean;
  private readonly items: ConversationItem[] = [];
  private message: OpenMessage | undefined;
  private readonly calls = new Map<string, OpenCall>();
  private lastId: string | null;
  private finished = false;

  constructor(private readonly o: ResponseEmitterOptions) {
    this.responseId = o.responseId ?? newId('resp');
    this.audio = o.modalities.includes('audio');
    this.lastId = o.previousItemId ?? null;
  }

  /** Output items so far (open ones as they stand), for history. */
  get output(): ConversationItem[] {
    return this.items.map((i) => structuredClone(i));
  }

  /** Id of the newest item this reply added (the next item's `previous_item_id`). */
  get lastItemId(): string | null {
    return this.lastId;
  }

  /** The open assistant message, e.g. to truncate it on barge-in. */
  get openMessageItemId(): string | undefined {
    return this.message?.itemId;
  }

  get isDone(): boolean {
    return this.finished;
  }

  created(): ServerEvent[] {
    this.assertOpen();
    return [stamp({ type: 'response.created', response: this.response('in_progress', null, null) })];
  }

  beginMessage(itemId: string = newId('item')): ServerEvent[] {
    this.assertOpen();
    if (this.message) throw new Error(`message ${this.message.itemId} is still open`);
    const index = this.items.length;
    const previousItemId = this.lastId;
    const item: ConversationItem = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    this.items.push(item);
    this.message = { index, itemId, previousItemId, text: '' };
    this.lastId = itemId;
    return [
      stamp({ type: 'response.output_item.added', response_id: this.responseId, output_index: index, item: structuredClone(item) }),
      stamp({ type: 'conversation.item.created', previous_item_id: previousItemId, item: structuredClone(item) }),
      stamp({
        type: 'response.content_part.added',
        ...this.r(this.message),
        part: this.audio ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
      }),
    ];
  }

  /** Transcript of the audio, or the text itself when the reply is text-only. */
  transcriptDelta(delta: string): ServerEvent[] {
    const m = this.openMessage();
    m.text += delta;
    this.setMessageContent(m, 'in_progress');
    return this.audio
      ? [stamp({ type: 'response.audio_transcript.delta', ...this.r(m), delta })]
      : [stamp({ type: 'response.text.delta', ...this.r(m), delta })];
  }

  audioDelta(b64: string): ServerEvent[] {
    const m = this.openMessage();
    if (!this.audio) throw new Error('audioDelta on a text-only response');
    return [stamp({ type: 'response.audio.delta', ...this.r(m), delta: b64 })];
  }

  endMessage(status: 'completed' | 'incomplete' = 'completed'): ServerEvent[] {
    const m = this.openMessage();
    const item = this.setMessageContent(m, status);
    this.message = undefined;
    const R = this.r(m);
    const streamDone: ServerEvent[] = this.audio
      ? [
          stamp({ type: 'response.audio.done', ...R }),
          stamp({ type: 'response.audio_transcript.done', ...R, transcript: m.text }),
          stamp({ type: 'response.content_part.done', ...R, part: { type: 'audio', transcript: m.text } }),
        ]
      : [
          stamp({ type: 'response.text.done', ...R, text: m.text }),
          stamp({ type: 'response.content_part.done', ...R, part: { type: 'text', text: m.text } }),
        ];
    return [...streamDone, ...this.itemDone(m.index, m.previousItemId, item)];
  }

  beginFunctionCall(callId: string, name: string, itemId: string = newId('item')): ServerEvent[] {
    this.assertOpen();
    if (this.calls.has(callId)) throw new Error(`function call ${callId} is already open`);
    const index = this.items.length;
    const call: OpenCall = { index, itemId, previousItemId: this.lastId, callId, name, args: '' };
    const item = this.callItem(call, 'in_progress');
    this.items.push(item);
    this.calls.set(callId, call);
    this.lastId = itemId;
    return [
      stamp({ type: 'response.output_item.added', response_id: this.responseId, output_index: index, item: structuredClone(item) }),
      stamp({ type: 'conversation.item.created', previous_item_id: call.previousItemId, item: structuredClone(item) }),
    ];
  }

  argumentsDelta(callId: string, delta: string): ServerEvent[] {
    const call = this.openCall(callId);
    call.args += delta;
    this.items[call.index] = this.callItem(call, 'in_progress');
    return [
      stamp({
        type: 'response.function_call_arguments.delta',
        response_id: this.responseId,
        item_id: call.itemId,
        output_index: call.index,
        call_id: callId,
        delta,
      }),
    ];
  }

  /** `args` defaults to the deltas so far; pass it when the model gave it whole. */
  endFunctionCall(callId: string, args?: string): ServerEvent[] {
    const call = this.openCall(callId);
    if (args !== undefined) call.args = args;
    this.calls.delete(callId);
    const item = this.callItem(call, 'completed');
    this.items[call.index] = item;
    return [
      stamp({
        type: 'response.function_call_arguments.done',
        response_id: this.responseId,
        item_id: call.itemId,
        output_index: call.index,
        call_id: callId,
        name: call.name, // internal superset; stripped for beta clients
        arguments: call.args,
      }),
      ...this.itemDone(call.index, call.previousItemId, item),
    ];
  }

  /**
   * Close whatever is still open (status incomplete unless the reply
   * completed, §1.7), then `response.done`, which is always sent.
   */
  done(status: FinalStatus, details: DoneDetails = {}, usage: Usage | null = null): ServerEvent[] {
    this.assertOpen();
    const partStatus = status === 'completed' ? 'completed' : 'incomplete';
    const closing: ServerEvent[] = [];
    if (this.message) closing.push(...this.endMessage(partStatus));
    for (const call of [...this.calls.values()]) {
      if (status === 'completed') {
        closing.push(...this.endFunctionCall(call.callId));
        continue;
      }
      this.calls.delete(call.callId);
      const item = this.callItem(call, 'incomplete');
      this.items[call.index] = item;
      closing.push(...this.itemDone(call.index, call.previousItemId, item));
    }
    const statusDetails: ResponseStatusDetails | null =
      status === 'completed'
        ? null
        : {
            type: status,
            ...(details.reason !== undefined && { reason: details.reason }),
            ...(details.error !== undefined && { error: details.error }),
          };
    this.finished = true;
    return [...closing, stamp({ type: 'response.done', response: this.response(status, statusDetails, usage) })];
  }

  // ------------------------------------------------------------- internals

  private response(
    status: RealtimeResponse['status'],
    statusDetails: ResponseStatusDetails | null,
    usage: Usage | null,
  ): RealtimeResponse {
    return {
      id: this.responseId,
      object: 'realtime.response',
      status,
      status_details: statusDetails,
      output: this.output,
      usage,
      ...(this.o.conversationId !== undefined && { conversation_id: this.o.conversationId }),
      modalities: [...this.o.modalities],
      ...(this.o.voice !== undefined && { voice: this.o.voice }),
      ...(this.o.outputAudioFormat !== undefined && { output_audio_format: this.o.outputAudioFormat }),
    };
  }

  private r(m: OpenMessage) {
    return { response_id: this.responseId, item_id: m.itemId, output_index: m.index, content_index: 0 };
  }

  private itemDone(index: number, previousItemId: string | null, item: ConversationItem): ServerEvent[] {
    return [
      stamp({ type: 'response.output_item.done', response_id: this.responseId, output_index: index, item: structuredClone(item) }),
      // GA-only lifecycle event; the edge drops it for beta clients.
      stamp({ type: 'conversation.item.done', previous_item_id: previousItemId, item: structuredClone(item) }),
    ];
  }

  private setMessageContent(m: OpenMessage, status: 'completed' | 'incomplete' | 'in_progress'): ConversationItem {
    const item: ConversationItem = {
      id: m.itemId,
      object: 'realtime.item',
      type: 'message',
      status,
      role: 'assistant',
      content: [this.audio ? { type: 'audio', transcript: m.text } : { type: 'text', text: m.text }],
    };
    this.items[m.index] = item;
    return item;
  }

  private callItem(call: OpenCall, status: FunctionCallItem['status']): FunctionCallItem {
    return {
      id: call.itemId,
      object: 'realtime.item',
      type: 'function_call',
      status,
      call_id: call.callId,
      name: call.name,
      arguments: call.args,
    };
  }

  private openMessage(): OpenMessage {
    this.assertOpen();
    if (!this.message) throw new Error('no open message: call beginMessage first');
    return this.message;
  }

  private openCall(callId: string): OpenCall {
    this.assertOpen();
    const call = this.calls.get(callId);
    if (!call) throw new Error(`no open function call ${callId}`);
    return call;
  }

  private assertOpen(): void {
    if (this.finished) throw new Error(`response ${this.responseId} is already done`);
  }
}
