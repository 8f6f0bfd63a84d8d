/**
 * Keeps a call's history and transcript true to what the caller heard. After barge-in (or a
 * client's truncate) the assistant message is cut to the text of the audio actually played, so
 * the model never believes it said what the caller did not hear. Recent answers are remembered
 * with their sentence timings, for conversation.item.truncate and for barge-in while the client
 * is still playing an answer that was already fully sent.
 */
import type { Services } from '../../services';
import { playedMs } from '../../core/played';
import { textHeard, type SpokenSentence } from '../../core/truncate';
import { spokenSentences, type Turn } from './turn';

export interface SpokenItem {
  turnId: string;
  sentences: SpokenSentence[];
  firstAudioAt: number | null;
  truncated: boolean;
}

const REMEMBERED = 8;

export class HeardHistory {
  private readonly spoken = new Map<string, SpokenItem>();

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

  /**
   * A cancelled turn: its assistant message becomes what was heard. The LLM worker appends the
   * full text under the same marker, so whichever comes second loses (or is rewritten).
   */
  async cutTurn(turn: Turn, heardMs: number): Promise<void> {
    const sentences = spokenSentences(turn);
    const heard = turn.modalities.includes('audio') ? textHeard(sentences, heardMs) : sentences.map((x) => x.text).join(' ');
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
    await this.s.calls.rewriteHistoryItem(this.callId, itemId, heard ? { role: 'assistant', content: heard } : null);
    await this.s.calls.setTurnTranscript(this.callId, item.turnId, 'assistant', heard || null);
  }

  /**
   * Barge-in after the last answer was fully sent but while the client is still playing it
   * (audio runs ahead of real time): cuts it at what real-time playback reached. Returns what
   * was cut, or null when the answer had played out.
   */
  async cutPlaying(now = Date.now()): Promise<{ turnId: string; heardMs: number; totalMs: number } | null> {
    const last = [...this.spoken.entries()].pop();
    if (!last || last[1].truncated) return null;
    const [itemId, item] = last;
    const totalMs = totalAudioMs(item.sentences);
    const heardMs = playedMs({ sentMs: totalMs, firstSentAt: item.firstAudioAt, now });
    if (heardMs >= totalMs) return null;
    await this.cutItem(itemId, item, heardMs);
    return { turnId: item.turnId, heardMs, totalMs };
  }
}

export function totalAudioMs(sentences: readonly SpokenSentence[]): number {
  return sentences.reduce((a, x) => a + x.ms, 0);
}
