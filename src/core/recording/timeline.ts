/**
 * Where a recording's audio goes on the call's clock (docs/DESIGN.md §9), and what barge-in cuts.
 * Pure: times come in as samples since the call started (24 kHz), nothing here does I/O.
 *
 * - The caller channel is contiguous audio: a chunk ends when it arrived, unless it follows the
 *   previous one closely (network jitter, an upload faster than real time), then it follows it.
 * - The agent channel is what was sent, placed where the caller started hearing it: at the later
 *   of "now" and the end of the audio sent before (audio goes out ahead of real time).
 * - Barge-in cuts the agent's audio to what was heard: a position cut (speech started, response
 *   cancelled: nothing past "now" of what was sent so far was heard) or an item cut (the client
 *   said how much of an item it played: conversation.item.truncated).
 */

export const RECORDING_RATE = 24_000;
/** Gaps shorter than this between chunks are jitter, not silence. */
export const JITTER_SAMPLES = (RECORDING_RATE * 250) / 1000;

export interface AgentChunk {
  /** Index of the chunk in the order written (position cuts apply to chunks written before them). */
  seq: number;
  item: number;
  /** Samples of the item before this chunk. */
  offset: number;
  /** Start on the call's clock, in samples. */
  pos: number;
  samples: number;
}

export interface Cuts {
  /** Item index → samples of the item that were heard. */
  items: Map<number, number>;
  /** Nothing at or past `pos` of the chunks written before `seq` was heard. */
  positions: { pos: number; seq: number }[];
}

/** Where a caller chunk of `samples` arriving at `now` starts; the channel's cursor is then start + samples. */
export function placeCaller(cursor: number, now: number, samples: number): number {
  const start = now - samples;
  return start - cursor > JITTER_SAMPLES ? start : cursor;
}

/** Where an agent chunk sent at `now` starts. */
export function placeAgent(cursor: number, now: number): number {
  return Math.max(cursor, now);
}

/** How many samples of `chunk` (from its start) were heard under `cuts`. */
export function heardSamples(chunk: AgentChunk, cuts: Cuts): number {
  let keep = chunk.samples;
  const itemKeep = cuts.items.get(chunk.item);
  if (itemKeep !== undefined) keep = Math.min(keep, Math.max(0, itemKeep - chunk.offset));
  for (const c of cuts.positions) {
    if (c.seq > chunk.seq) keep = Math.min(keep, Math.max(0, c.pos - chunk.pos));
  }
  return keep;
}

/**
 * The agent channel's bookkeeping during a call: positions of the chunks sent, and the cuts.
 * The item ids are mapped to small numbers so the chunk records stay fixed-size.
 */
export class AgentTimeline {
  readonly cuts: Cuts = { items: new Map(), positions: [] };
  private cursor = 0;
  private seq = 0;
  private readonly items = new Map<string, { index: number; sent: number }>();

  /** Places a chunk of `samples` of `itemId` sent at `now`. */
  place(itemId: string, samples: number, now: number): AgentChunk {
    let item = this.items.get(itemId);
    if (!item) this.items.set(itemId, (item = { index: this.items.size, sent: 0 }));
    const chunk: AgentChunk = { seq: this.seq++, item: item.index, offset: item.sent, pos: placeAgent(this.cursor, now), samples };
    item.sent += samples;
    this.cursor = chunk.pos + samples;
    return chunk;
  }

  /** Audio still to play at `now` was not heard (the caller spoke over it, or it was cancelled). */
  cutAt(now: number): void {
    if (this.cursor <= now) return; // nothing is playing
    this.cuts.positions.push({ pos: now, seq: this.seq });
    this.cursor = now;
  }

  /** The client played `heard` samples of the item (conversation.item.truncated). */
  cutItem(itemId: string, heard: number, now: number): void {
    const item = this.items.get(itemId);
    if (!item) return;
    const prev = this.cuts.items.get(item.index);
    this.cuts.items.set(item.index, Math.min(prev ?? Infinity, heard));
    this.cursor = Math.min(this.cursor, now);
  }
}
