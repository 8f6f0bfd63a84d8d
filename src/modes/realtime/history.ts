/**
 * Keeps a realtime call's words where chained mode keeps them: the call transcript (GET
 * /v1/calls/:id), the business's audit log and the chat history — so a call that falls back to
 * chained mode mid-way continues the same conversation.
 */
import type { ServerEvent } from '../../contracts/realtime';
import type { CallStore } from '../../adapters/call-store';
import type { AuditLog } from '../../security/audit-log';

export class RealtimeHistory {
  constructor(
    private readonly calls: CallStore,
    private readonly audit: AuditLog,
    private readonly callId: string,
    private readonly onError: (err: Error) => void,
  ) {}

  private record(role: 'user' | 'assistant' | 'system', itemId: string, text: string): void {
    if (!text) return;
    const turnId = itemId;
    const work = async () => {
      const appended = await this.calls.appendHistoryOnce(this.callId, `item:${itemId}`, [{ item_id: itemId, turn_id: turnId, message: { role, content: text } }]);
      if (!appended || role === 'system') return;
      await this.calls.appendTranscript(this.callId, { ts: Date.now(), role, turn_id: turnId, text });
      // The same audit entries as chained mode's STT and LLM stages write.
      await this.audit.appendForCall(this.callId, { type: role === 'user' ? 'transcript.user' : 'response.agent', actor: 'system', data: { turn_id: turnId, text } });
    };
    work().catch((err: Error) => this.onError(err));
  }

  observe(e: ServerEvent): void {
    switch (e.type) {
      case 'conversation.item.created': {
        const item = e.item;
        if (item.type !== 'message' || item.role === 'assistant' || !item.id) return;
        const text = item.content.map((p) => (p.type === 'input_text' ? p.text : '')).join(' ').trim();
        return this.record(item.role, item.id, text);
      }
      case 'conversation.item.input_audio_transcription.completed':
        return this.record('user', e.item_id, e.transcript.trim());
      case 'response.audio_transcript.done':
        return this.record('assistant', e.item_id, e.transcript.trim());
      case 'response.text.done':
        return this.record('assistant', e.item_id, e.text.trim());
      default:
        return;
    }
  }
}
