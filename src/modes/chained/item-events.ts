/**
 * conversation.item.retrieve / delete / truncate in chained mode, with OpenAI's events and errors.
 * The model's context is the call's history in Redis (the LLM worker reads it for every answer):
 * a deleted item leaves it, a truncated answer keeps only what the caller heard (barge-in's rule).
 */
import type { ClientEventOf, ConversationItem } from '../../contracts/realtime';
import type { ChatHistoryEntry } from '../../adapters/call-store';
import { serverEvents } from '../../core/protocol';
import type { BargeIn } from './barge-in';
import type { ChainedState } from './call-state';
import { totalAudioMs } from './heard-history';
import { spokenSentences } from './turn';

export class ChainedItemEvents {
  constructor(
    private readonly st: ChainedState,
    private readonly bargeIn: BargeIn,
  ) {}

  async retrieve(e: ClientEventOf<'conversation.item.retrieve'>): Promise<void> {
    const { st } = this;
    const live = [...st.turns.values()].flatMap((t) => t.emitter?.output ?? []).find((i) => i.id === e.item_id);
    const item = st.items.retrieved(e.item_id, st.session.input_audio_format) ?? live;
    if (!item) return this.notFound('retrieving', 'item_retrieve_invalid_item_id', e.item_id, e.event_id);
    if (item.type === 'message' && item.role === 'assistant' && !live) {
      // What the model sees now: after a truncation or barge-in, the words the caller heard.
      const entry = (await st.s.calls.history(st.callId)).find((h) => h.item_id === e.item_id);
      const text = typeof entry?.message['content'] === 'string' ? entry.message['content'] : '';
      for (const p of item.content) {
        if (p.type === 'audio') p.transcript = text;
        else if (p.type === 'text') p.text = text;
      }
    }
    st.send(serverEvents.retrieved(item));
  }

  async delete(e: ClientEventOf<'conversation.item.delete'>): Promise<void> {
    const { st } = this;
    const item = st.items.get(e.item_id);
    if (!item) return this.notFound('deleting', 'item_delete_invalid_item_id', e.item_id, e.event_id);
    st.items.delete(e.item_id);
    await removeFromHistory(st, e.item_id, item);
    if (st.lastItemId === e.item_id) st.lastItemId = null;
    st.send(serverEvents.deleted(e.item_id));
  }

  async truncate(e: ClientEventOf<'conversation.item.truncate'>): Promise<void> {
    const { st } = this;
    const id = e.item_id;
    const live = [...st.turns.values()].find((t) => t.assistantItemId === id);
    const item = st.items.get(id);
    if (!live && !item) return this.notFound('truncating', 'item_truncate_invalid_item_id', id, e.event_id);
    const sentences = live ? spokenSentences(live) : st.heard.get(id)?.sentences;
    const assistantAudio = live ? live.modalities.includes('audio') : item?.type === 'message' && item.role === 'assistant' && item.content.some((p) => p.type === 'audio');
    if (!sentences || !assistantAudio) {
      st.send(serverEvents.error({ code: null, message: 'Only model output audio messages can be truncated', param: null, ...(e.event_id ? { event_id: e.event_id } : {}) }));
      return;
    }
    const totalMs = totalAudioMs(sentences);
    if (e.audio_end_ms > totalMs + 1) {
      return st.error('invalid_value', `Audio content of ${Math.round(totalMs)}ms is already shorter than ${e.audio_end_ms}ms`, e.event_id, 'audio_end_ms');
    }
    await this.bargeIn.truncateItem(id, e.audio_end_ms, e.event_id);
  }

  private notFound(doing: string, code: string, itemId: string, eventId?: string): void {
    this.st.send(serverEvents.error({ code, message: `Error ${doing} item: the item with id '${itemId}' does not exist.`, param: null, ...(eventId ? { event_id: eventId } : {}) }));
  }
}

/**
 * Takes an item out of what the model sees. A function call or its output is a chat-completions
 * tool call or tool message, found by call id; the LLM worker leaves out a call without its answer
 * (core/chat-history.ts), as the chat API requires.
 */
async function removeFromHistory(st: ChainedState, itemId: string, item: ConversationItem): Promise<void> {
  const { calls } = st.s;
  if (item.type === 'message') {
    await calls.rewriteHistoryItem(st.callId, itemId, null);
    return;
  }
  const callId = item.call_id;
  for (const h of await calls.history(st.callId)) {
    const m = h.message;
    if (m['role'] === 'tool' && m['tool_call_id'] === callId && item.type === 'function_call_output') {
      await calls.rewriteHistoryItem(st.callId, h.item_id, null);
    } else if (item.type === 'function_call' && Array.isArray(m['tool_calls'])) {
      const kept = (m['tool_calls'] as { id: string }[]).filter((c) => c.id !== callId);
      if (kept.length === (m['tool_calls'] as unknown[]).length) continue;
      await calls.rewriteHistoryItem(st.callId, h.item_id, kept.length || m['content'] ? withToolCalls(h, kept) : null);
    }
  }
}

function withToolCalls(h: ChatHistoryEntry, kept: unknown[]): Record<string, unknown> {
  const { tool_calls: _calls, ...rest } = h.message;
  return kept.length ? { ...rest, tool_calls: kept } : rest;
}
