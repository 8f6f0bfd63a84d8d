/**
 * Barge-in and truncation in chained mode: cancelling a turn everywhere (workers, client, history)
 * and cutting an answer's history to what the caller heard, by the one played rule (core/played.ts).
 */
import { serverEvents } from '../../core/protocol';
import { playedMs } from '../../core/played';
import type { ChainedState } from './call-state';
import { FalseInterruptions } from './false-interruptions';
import { totalAudioMs } from './heard-history';
import { sentMs, spokenSentences, type Turn } from './turn';

export class BargeIn {
  /** A barge-in that turns out to have no words resumes the answer it cut (DESIGN.md §8). */
  readonly falseInterruptions: FalseInterruptions;

  constructor(private readonly st: ChainedState) {
    this.falseInterruptions = new FalseInterruptions(st, (turn) => this.interruptResumed(turn));
  }

  /** The caller started speaking: with interrupt_response, the answer being produced or played stops. */
  async onSpeechStarted(): Promise<void> {
    this.falseInterruptions.onSpeechStarted();
    if (!(this.st.session.turn_detection?.interrupt_response ?? true)) return;
    if (this.st.active) await this.cancelTurn(this.st.active, 'turn_detected', 'barge-in');
    else await this.truncatePlaying();
  }

  /**
   * Cancels a turn everywhere: the Redis mark and pub/sub stop the workers, the client gets the
   * closing events and response.done(cancelled), and history keeps only what was heard
   * (`clientPlayedMs`: what the client says it played).
   */
  cancelTurn(turn: Turn, reason: 'turn_detected' | 'client_cancelled', why: string, clientPlayedMs?: number): Promise<void> {
    if (!turn.cancelling) {
      turn.cancelled = true;
      turn.cancelling = this.cancel(turn, reason, why, clientPlayedMs);
    }
    return turn.cancelling;
  }

  private async cancel(turn: Turn, reason: 'turn_detected' | 'client_cancelled', why: string, clientPlayedMs?: number): Promise<void> {
    const { s, callId } = this.st;
    const started = Date.now();
    // An answer still being written may turn out to have been cut by a cough: its LLM goes on until that is known.
    const held = why === 'barge-in' && this.falseInterruptions.hold(turn);
    if (!held) await s.cancel.cancel(callId, turn.id);
    const sent = sentMs(turn);
    const heardMs = playedMs({ sentMs: sent, firstSentAt: turn.firstAudioAt, now: Date.now(), ...(clientPlayedMs !== undefined ? { reportedMs: clientPlayedMs } : {}) });
    if (turn.emitter && !turn.emitter.isDone) {
      this.st.sendAll(turn.emitter.done('cancelled', { reason }));
      this.st.lastItemId = turn.emitter.lastItemId;
    }
    await this.st.heard.cutTurn(turn, heardMs);
    if (why === 'barge-in') {
      await this.falseInterruptions.armed({ itemId: turn.assistantItemId, turnId: turn.id, sentences: spokenSentences(turn), heardMs, modalities: turn.modalities }, held);
    }
    await s.stageLog.write({
      call_id: callId,
      turn_id: turn.id,
      stage: 'gateway',
      event: 'cancelled',
      duration_ms: Date.now() - started,
      data: { reason, trigger: why, played_ms: Math.round(heardMs), sent_ms: Math.round(sent) },
    });
    this.st.retire(turn);
  }

  /** Words came after a false interruption had resumed the answer: that answer stops as at a barge-in. */
  private async interruptResumed(turn: Turn): Promise<void> {
    if (this.st.active === turn) await this.cancelTurn(turn, 'turn_detected', 'words after a false interruption');
    else await this.truncatePlaying(false);
  }

  /** Barge-in while the client still plays an answer that was fully sent: history keeps what was heard. */
  private async truncatePlaying(mayResume = true): Promise<void> {
    const cut = await this.st.heard.cutPlaying();
    if (!cut) return;
    // Only answers with audio are remembered, so the cut one is spoken.
    if (mayResume) await this.falseInterruptions.armed({ ...cut, modalities: ['audio'] }, false);
    await this.st.s.stageLog.write({
      call_id: this.st.callId,
      turn_id: cut.turnId,
      stage: 'gateway',
      event: 'cancelled',
      data: { reason: 'turn_detected', trigger: 'barge-in during playback', played_ms: Math.round(cut.heardMs), sent_ms: Math.round(cut.totalMs) },
    });
  }

  /** conversation.item.truncate: the client says how much of an assistant item it played. */
  async truncateItem(itemId: string, audioEndMs: number, eventId?: string): Promise<void> {
    const live = [...this.st.turns.values()].find((t) => t.assistantItemId === itemId);
    const item = live ? { sentences: spokenSentences(live), turnId: live.id } : this.st.heard.get(itemId);
    if (!item) return this.st.error('item_not_found', `No assistant item '${itemId}' with audio in this call.`, eventId, 'item_id');
    const totalMs = totalAudioMs(item.sentences);
    if (audioEndMs > totalMs + 1) {
      return this.st.error('invalid_value', `audio_end_ms ${audioEndMs} is past the end of the item's audio (${Math.round(totalMs)} ms).`, eventId, 'audio_end_ms');
    }
    if (live) await this.cancelTurn(live, 'client_cancelled', 'conversation.item.truncate', audioEndMs);
    await this.st.heard.cutItem(itemId, item, audioEndMs);
    this.st.send(serverEvents.truncated({ item_id: itemId, content_index: 0, audio_end_ms: audioEndMs }));
  }
}
