/**
 * What the agent says to a Twilio caller, and how much of it was heard (docs/PROTOCOLS.md §6.4 "Do
 * instead"). The agent's μ-law audio is cut into 160-byte (20 ms) frames that the transport sends
 * in real time; after each chunk comes a mark named `<item_id>:<cumulative ms>`, which Twilio
 * echoes once the audio before it has played. On barge-in, `interrupt()` empties the queue and
 * says how much of the item was played, by the one played rule (core/played.ts) with the last
 * echoed mark as what is confirmed. Marks echoed after that clear are ignored. Pure: time comes in as `now`.
 */
import { playedMs } from '../played';

export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
const ULAW_SILENCE = 0xff;

export type Outbound = { event: 'media'; itemId: string; payload: Uint8Array } | { event: 'mark'; itemId: string; name: string };

export interface Interruption {
  itemId: string;
  /** How much of the item the caller heard, in ms: the `audio_end_ms` of conversation.item.truncate. */
  audioEndMs: number;
}

interface ItemState {
  carry: Uint8Array;
  queuedMs: number;
  sentMs: number;
  firstSentAt: number | null;
  /** The last echoed mark: a lower bound on what was played. */
  echoedMs: number;
}

function markName(itemId: string, ms: number): string {
  return `${itemId}:${ms}`;
}

export function parseMarkName(name: string): { itemId: string; ms: number } | null {
  const at = name.lastIndexOf(':');
  if (at <= 0) return null;
  const ms = Number(name.slice(at + 1));
  return Number.isFinite(ms) ? { itemId: name.slice(0, at), ms } : null;
}

export class TwilioPlayout {
  private queue: Outbound[] = [];
  private head = 0;
  private readonly items = new Map<string, ItemState>();
  /** Marks sent and not echoed yet. */
  private readonly pendingMarks = new Set<string>();
  /** Marks that were pending when we cleared: Twilio returns them, but nothing was played. */
  private readonly flushedMarks = new Set<string>();
  /** Items cut off by a barge-in: late audio for them is dropped. */
  private readonly interrupted = new Set<string>();
  private lastSentItem: string | null = null;

  /** Queues a chunk of the item's μ-law audio (any length); whole frames go out, the rest waits. */
  push(itemId: string, ulaw: Uint8Array): void {
    if (this.interrupted.has(itemId) || ulaw.length === 0) return;
    const st = this.item(itemId);
    const all = st.carry.length ? concat(st.carry, ulaw) : ulaw;
    let at = 0;
    for (; at + FRAME_BYTES <= all.length; at += FRAME_BYTES) this.enqueueFrame(itemId, st, all.slice(at, at + FRAME_BYTES));
    st.carry = all.slice(at);
    if (at > 0) this.queue.push({ event: 'mark', itemId, name: markName(itemId, st.queuedMs) });
  }

  /** The item's audio is complete: its last partial frame is padded with silence and sent. */
  finish(itemId: string): void {
    const st = this.items.get(itemId);
    if (!st || this.interrupted.has(itemId) || st.carry.length === 0) return;
    const frame = new Uint8Array(FRAME_BYTES).fill(ULAW_SILENCE);
    frame.set(st.carry);
    st.carry = new Uint8Array(0);
    this.enqueueFrame(itemId, st, frame);
    this.queue.push({ event: 'mark', itemId, name: markName(itemId, st.queuedMs) });
  }

  /** Frames waiting to be sent. */
  get queuedFrames(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.event === 'media') n++;
    return n;
  }

  get isEmpty(): boolean {
    return this.head >= this.queue.length;
  }

  /** Whether the next message is a frame (which must wait its turn) rather than a mark. */
  get peekIsMedia(): boolean {
    return this.queue[this.head]?.event === 'media';
  }

  /** Takes the next message to send (a frame or a mark); the caller paces the frames. */
  next(now: number): Outbound | null {
    const o = this.queue[this.head];
    if (!o) return null;
    this.head++;
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (o.event === 'mark') {
      this.pendingMarks.add(o.name);
      return o;
    }
    const st = this.item(o.itemId);
    st.firstSentAt ??= now;
    st.sentMs += FRAME_MS;
    this.lastSentItem = o.itemId;
    return o;
  }

  /** Twilio echoed a mark: the audio before it was played. */
  onMark(name: string): void {
    if (this.flushedMarks.delete(name)) return;
    if (!this.pendingMarks.delete(name)) return;
    const m = parseMarkName(name);
    const st = m && this.items.get(m.itemId);
    if (st && m) st.echoedMs = Math.max(st.echoedMs, m.ms);
  }

  /** Whether the caller may still be hearing (or about to hear) agent audio. */
  get playing(): boolean {
    return !this.isEmpty || this.pendingMarks.size > 0;
  }

  /**
   * Barge-in: forgets the queued audio and reports what was heard of the item being played, or
   * null when nothing is playing (then there is nothing to clear or truncate).
   */
  interrupt(now: number): Interruption | null {
    if (!this.playing) return null;
    const itemId = this.lastSentItem ?? this.queue[this.head]?.itemId;
    this.queue = [];
    this.head = 0;
    for (const name of this.pendingMarks) this.flushedMarks.add(name);
    this.pendingMarks.clear();
    if (!itemId) return null;
    for (const id of this.items.keys()) this.interrupted.add(id);
    const st = this.item(itemId);
    const audioEndMs = Math.round(playedMs({ sentMs: st.sentMs, firstSentAt: st.firstSentAt, now, confirmedMs: st.echoedMs }));
    this.items.clear();
    this.lastSentItem = null;
    return { itemId, audioEndMs };
  }

  private item(itemId: string): ItemState {
    let st = this.items.get(itemId);
    if (!st) {
      st = { carry: new Uint8Array(0), queuedMs: 0, sentMs: 0, firstSentAt: null, echoedMs: 0 };
      this.items.set(itemId, st);
    }
    return st;
  }

  private enqueueFrame(itemId: string, st: ItemState, payload: Uint8Array) {
    st.queuedMs += FRAME_MS;
    this.queue.push({ event: 'media', itemId, payload });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
