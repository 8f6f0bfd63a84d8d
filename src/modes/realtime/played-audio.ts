/**
 * How much of each assistant item's audio the client can have played: count the milliseconds
 * sent per item from the bytes, note when the first byte went out, and cut by the one played
 * rule (core/played.ts) — never past what exists, which would make the upstream reject the
 * truncate.
 */
import { playedMs } from '../../core/played';

export interface PlayedAudio {
  itemId: string;
  audioEndMs: number;
  /** How much of the item's audio was sent at all. */
  sentMs: number;
}

interface ItemAudio {
  bytes: number;
  firstSentAt: number;
}

export class PlayedAudioTracker {
  private readonly items = new Map<string, ItemAudio>();
  private last: string | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  sent(itemId: string, bytes: number): void {
    const item = this.items.get(itemId);
    if (item) item.bytes += bytes;
    else {
      this.items.set(itemId, { bytes, firstSentAt: this.now() });
      // Only the latest few items can still be playing.
      if (this.items.size > 8) this.items.delete(this.items.keys().next().value!);
    }
    this.last = itemId;
  }

  /** The item playing most recently, and where to cut it; `clientPlayedMs` is what the client says it played. */
  played(bytesPerMs: number, clientPlayedMs?: number): PlayedAudio | null {
    if (this.last === null) return null;
    const item = this.items.get(this.last);
    if (!item) return null;
    const sentMs = item.bytes / bytesPerMs;
    const played = playedMs({ sentMs, firstSentAt: item.firstSentAt, now: this.now(), ...(clientPlayedMs !== undefined ? { reportedMs: clientPlayedMs } : {}) });
    return { itemId: this.last, audioEndMs: Math.floor(played), sentMs };
  }

  /** After a truncate the item is settled: a second interrupt has nothing to cut. */
  forget(itemId: string): void {
    this.items.delete(itemId);
    if (this.last === itemId) this.last = null;
  }
}
