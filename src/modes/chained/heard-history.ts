/**
 * Keeps a call's history and transcript true to what the caller heard. After barge-in (or a
 * client's truncate) the assistant message is cut to the text of the audio actually played, so
 * the model never believes it said what the caller did not hear. Recent answers are remembered
 * with their sentence timings, for conversation.item.truncate and for barge-in while the client
 * is still playing an answer that was already fully sent.
 */
import type { Services } from '../../services';
import { joinAnswer } from '../../core/false-interruption';
import { playedMs } from '../../core/played';
import { newId } from '../../core/protocol';
import { textHeard, type SpokenSentence } from '../../core/truncate';
import { spokenSentences, type Turn } from './turn';

export interface SpokenItem {
  turnId: string;
  sentences: SpokenSentence[];
  firstAudioAt: number | null;
  truncated: boolean;
}

/**
 * The history entry an answer lives in. A resumed answer (false-interruption recovery) is a new
 * response with a new item for the client, but history keeps ONE assistant message for the
 * whole answer: the resumed item maps to the original one, after the text heard before it.
 */
export interface AnswerOrigin {
  itemId: string;
  turnId: string;
  /** What the caller heard of the answer before this item's audio. */
  prefix: string;
}

const REMEMBERED = 8;

export class HeardHistory {
  private readonly spoken = new Map<string, SpokenItem>();
  /** Resumed items → the answer they continue. */
  private readonly resumedFrom = new Map<string, AnswerOrigin>();

  constructor(
    private readonly s: Services,
    private readonly callId: string,
  ) {}

  /** Called when a turn ends; answers with audio are remembered. */
  remember(turn: Turn): void {
    if (turn.audioBytesSent === 0) return;
    this.spoken.set(turn.assistantItemId, { turnId: turn.id, sentences: spokenSentences(turn), firstAudioAt: turn.firstAudioAt, truncated: turn.cancelled });
    if (this.spoken.size > REMEMBERED) this.spoken.delete(this.spoken.keys().next().value!);
  }

  get(itemId: string): SpokenItem | undefined {
    return this.spoken.get(itemId);
  }

  /** The history entry an item's words belong to (itself, unless it resumed another answer). */
  originOf(itemId: string, turnId: string): AnswerOrigin {
    return this.resumedFrom.get(itemId) ?? { itemId, turnId, prefix: '' };
  }

  /** `itemId` (a resumed response's) continues `origin` after its prefix. */
  markResumed(itemId: string, origin: AnswerOrigin): void {
    this.resumedFrom.set(itemId, origin);
    if (this.resumedFrom.size > REMEMBERED) this.resumedFrom.delete(this.resumedFrom.keys().next().value!);
  }

  /**
   * Sets the answer's one assistant message (and transcript line) to `text`: rewritten in place,
   * or appended when a barge-in had left nothing of it (nothing was heard); removed when empty.
   */
  async writeAnswer(origin: AnswerOrigin, text: string): Promise<void> {
    const message = text ? { role: 'assistant', content: text } : null;
    const found = await this.s.calls.rewriteHistoryItem(this.callId, origin.itemId, message);
    if (!found && message) {
      await this.s.calls.appendHistoryOnce(this.callId, `${origin.itemId}:${newId('event')}`, [{ item_id: origin.itemId, turn_id: origin.turnId, message }]);
    }
    await this.s.calls.setTurnTranscript(this.callId, origin.turnId, 'assistant', text || null);
  }

  /**
   * A cancelled turn: its assistant message becomes what was heard. The LLM worker appends the
   * full text under the same marker, so whichever comes second loses (or is rewritten).
   */
  async cutTurn(turn: Turn, heardMs: number): Promise<void> {
    const sentences = spokenSentences(turn);
    const heard = turn.modalities.includes('audio') ? textHeard(sentences, heardMs) : sentences.map((x) => x.text).join(' ');
    const origin = this.resumedFrom.get(turn.assistantItemId);
    if (origin) return this.writeAnswer(origin, joinAnswer(origin.prefix, heard));
    const message = heard ? { role: 'assistant', content: heard } : null;
    const appended = await this.s.calls.appendHistoryOnce(
      this.callId,
      `${turn.id}:assistant`,
      message ? [{ item_id: turn.assistantItemId, turn_id: turn.id, message }] : [], // [] still claims the marker
    );
    if (!appended) await this.s.calls.rewriteHistoryItem(this.callId, turn.assistantItemId, message);
    await this.s.calls.setTurnTranscript(this.callId, turn.id, 'assistant', heard || null);
  }

  /** A finished answer cut at `heardMs` of its audio. */
  async cutItem(itemId: string, item: Pick<SpokenItem, 'turnId' | 'sentences'>, heardMs: number): Promise<void> {
    const kept = this.spoken.get(itemId);
    if (kept) kept.truncated = true;
    const heard = textHeard(item.sentences, heardMs);
    const origin = this.resumedFrom.get(itemId);
    if (origin) return this.writeAnswer(origin, joinAnswer(origin.prefix, heard));
    await this.s.calls.rewriteHistoryItem(this.callId, itemId, heard ? { role: 'assistant', content: heard } : null);
    await this.s.calls.setTurnTranscript(this.callId, item.turnId, 'assistant', heard || null);
  }

  /**
   * Barge-in after the last answer was fully sent but while the client is still playing it
   * (audio runs ahead of real time): cuts it at what real-time playback reached. Returns what
   * was cut, or null when the answer had played out.
   */
  async cutPlaying(now = Date.now()): Promise<{ itemId: string; turnId: string; sentences: SpokenSentence[]; heardMs: number; totalMs: number } | null> {
    const last = [...this.spoken.entries()].pop();
    if (!last || last[1].truncated) return null;
    const [itemId, item] = last;
    const totalMs = totalAudioMs(item.sentences);
    const heardMs = playedMs({ sentMs: totalMs, firstSentAt: item.firstAudioAt, now });
    if (heardMs >= totalMs) return null;
    await this.cutItem(itemId, item, heardMs);
    return { itemId, turnId: item.turnId, sentences: item.sentences, heardMs, totalMs };
  }
}

export function totalAudioMs(sentences: readonly SpokenSentence[]): number {
  return sentences.reduce((a, x) => a + x.ms, 0);
}
