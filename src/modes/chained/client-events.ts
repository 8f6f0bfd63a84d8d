/**
 * The client's Realtime events in chained mode: session updates, conversation items (a client
 * tool's output joins the history the next response reads; retrieve / delete / truncate are
 * item-events.ts), response.create / cancel / interrupt, and
 * the audio buffer events handed to the input.
 */
import type { ClientEvent, ClientEventOf } from '../../contracts/realtime';
import { SessionPatch, type Session } from '../../contracts/session';
import { serverEvents, newId } from '../../core/protocol';
import { ApiError } from '../../errors';
import { overrideSession } from '../../gateway/call-factory';
import { guardClientEvent } from '../../security/client-overrides';
import type { BargeIn } from './barge-in';
import type { ChainedState } from './call-state';
import type { ChainedInput } from './input';
import { ChainedItemEvents } from './item-events';

/** Chained mode's server-side tools run inside the LLM worker, which never reads a client's output for them. */
const NO_IDS: ReadonlySet<string> = new Set();

export class ChainedClientEvents {
  private readonly items: ChainedItemEvents;

  constructor(
    private readonly st: ChainedState,
    private readonly input: ChainedInput,
    private readonly bargeIn: BargeIn,
    /** The session changed (the output side re-encodes in the new format). */
    private readonly onSession: (next: Session, before: Session) => void,
  ) {
    this.items = new ChainedItemEvents(st, bargeIn);
  }

  async handle(e: ClientEvent): Promise<void> {
    const { st } = this;
    // The business's rules for response overrides and client items, as in realtime mode.
    const refused = guardClientEvent({ business: st.business, extraVoices: st.s.config.extraVoices, serverCallIds: NO_IDS, mode: 'chained' }, e);
    if (refused) return st.error(refused.code, refused.message, refused.event_id ?? undefined, refused.param ?? undefined, refused.type);
    switch (e.type) {
      case 'session.update':
        return this.updateSession(e);
      case 'input_audio_buffer.append':
        return this.input.push(Buffer.from(e.audio, 'base64'));
      case 'input_audio_buffer.commit':
        return this.input.commit(e.event_id);
      case 'input_audio_buffer.clear':
        return this.input.clear();
      case 'conversation.item.create':
        return this.createItem(e);
      case 'conversation.item.truncate':
        return this.items.truncate(e);
      case 'conversation.item.retrieve':
        return this.items.retrieve(e);
      case 'conversation.item.delete':
        return this.items.delete(e);
      case 'response.create':
        return this.createResponse(e);
      case 'response.cancel':
        if (!st.active || !st.active.responding) return st.error('response_cancel_not_active', 'Cancellation failed: no active response found.', e.event_id);
        return this.bargeIn.cancelTurn(st.active, 'client_cancelled', 'response.cancel');
      case 'response.interrupt':
        if (!st.active) return st.error('response_cancel_not_active', 'Interrupt failed: no active response found.', e.event_id);
        return this.bargeIn.cancelTurn(st.active, 'client_cancelled', 'response.interrupt', e.audio_end_ms);
      default:
        return st.error('unsupported_event', `'${e.type}' is not supported in chained mode.`, e.event_id);
    }
  }

  private async updateSession(e: ClientEventOf<'session.update'>): Promise<void> {
    const { st } = this;
    const parsed = SessionPatch.safeParse(e.session);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = ['session', ...issue.path].join('.');
      return st.error('invalid_value', `Invalid '${param}': ${issue.message}`, e.event_id, param);
    }
    // The model is fixed for a call, as in OpenAI's API; clients often resend it unchanged.
    const { model: _model, ...patch } = parsed.data;
    let next: Session;
    try {
      next = overrideSession(st.business, st.session, patch, st.s.config.extraVoices);
    } catch (err) {
      if (err instanceof ApiError) return st.error(err.code, err.message, e.event_id, err.param ?? undefined);
      throw err;
    }
    const before = st.session;
    st.session = next;
    this.input.sessionChanged(next, before);
    this.onSession(next, before);
    await st.s.calls.updateSession(st.callId, next);
    st.send(serverEvents.sessionUpdated(st.wireSession()));
  }

  private async createItem(e: ClientEventOf<'conversation.item.create'>): Promise<void> {
    const { st } = this;
    const item = e.item;
    const itemId = item.id ?? newId('item');
    const prev = st.lastItemId;
    if (item.type === 'function_call_output') {
      await this.clientToolOutput(itemId, item);
    } else if (item.type === 'message') {
      const text = item.content
        .map((p) => ('text' in p && typeof p.text === 'string' ? p.text : 'transcript' in p && typeof p.transcript === 'string' ? p.transcript : ''))
        .join(' ')
        .trim();
      if (item.content.some((p) => p.type === 'input_audio')) {
        return st.error('unsupported_content', 'input_audio content in conversation.item.create is not supported in chained mode; stream audio with input_audio_buffer.append.', e.event_id, 'item.content');
      }
      await st.s.calls.appendHistoryOnce(st.callId, `item:${itemId}`, [{ item_id: itemId, turn_id: 'client', message: { role: item.role, content: text } }]);
      if (item.role !== 'system') await st.s.calls.appendTranscript(st.callId, { ts: Date.now(), role: item.role, turn_id: 'client', text });
    } else {
      return st.error('unsupported_item', `Items of type '${item.type}' cannot be created in chained mode.`, e.event_id, 'item.type');
    }
    st.lastItemId = itemId;
    const created = { ...item, id: itemId, object: 'realtime.item' as const, status: 'completed' as const };
    st.items.add(created as never);
    st.send(serverEvents.itemCreated(created as never, prev));
    st.send(serverEvents.itemDone(created as never, prev));
  }

  private async createResponse(e: ClientEventOf<'response.create'>): Promise<void> {
    const { st } = this;
    if (st.active?.responding) {
      if (st.active.hadClientTool) return this.deferResponse(e);
      return st.error('conversation_already_has_active_response', 'Conversation already has an active response in progress.', e.event_id);
    }
    const r = e.response ?? {};
    // A manual commit whose transcript is not in yet: respond when it arrives.
    const waitingId = [...st.awaitingTranscript].pop();
    const turn = (waitingId && st.turns.get(waitingId)) || st.newTurn();
    turn.modalities = (r.modalities as ('audio' | 'text')[] | undefined) ?? st.session.modalities;
    st.setActive(turn);
    turn.overrides = {
      ...(r.instructions !== undefined ? { instructions: r.instructions } : {}),
      ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
      ...(r.modalities !== undefined ? { modalities: turn.modalities } : {}),
      ...(r.max_response_output_tokens !== undefined ? { max_output_tokens: r.max_response_output_tokens } : {}),
    };
    if (waitingId) turn.respondOnTranscript = true;
    else await st.queueLlm(turn);
  }

  /**
   * A client tool's answer goes into the history the model sees, as the tool message of the call
   * the previous response ended with. As in OpenAI's API it does not start a response by itself:
   * the client sends response.create (the Agents SDK always does).
   */
  private async clientToolOutput(itemId: string, item: { call_id: string; output: string }): Promise<void> {
    const message = { role: 'tool', tool_call_id: item.call_id, content: item.output };
    await this.st.s.calls.appendHistoryOnce(this.st.callId, `item:${itemId}`, [{ item_id: itemId, turn_id: 'client', message }]);
  }

  /**
   * response.create while the response that ended with a client function call is still closing
   * (its response.done not sent yet): it starts right after, so the client gets its one answer
   * instead of conversation_already_has_active_response.
   */
  private deferResponse(e: ClientEventOf<'response.create'>): void {
    if (this.st.nextResponse) return this.st.error('conversation_already_has_active_response', 'Conversation already has an active response in progress.', e.event_id);
    this.st.nextResponse = () => this.createResponse(e);
  }
}
