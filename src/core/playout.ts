/**
 * Orders a response's audio for the client: sentences are synthesised in parallel by different
 * TTS jobs but must play in `seq` order, and a re-delivered job repeats bytes already sent. Chunks
 * are keyed by (seq, byte offset): anything before what was already accepted for a sentence is
 * dropped, later sentences wait until the earlier ones are done.
 */
interface SentenceAudio {
  accepted: number; // bytes accepted so far (offset of the next expected byte)
  done: boolean;
  pending: Uint8Array[];
}

export class AudioPlayout {
  private readonly sentences = new Map<number, SentenceAudio>();
  private nextSeq = 0;

  /** The sentence now playing (everything before it is complete). */
  get currentSeq(): number {
    return this.nextSeq;
  }

  /** Adds a chunk; returns the chunks that can be sent now, in order. */
  push(seq: number, offset: number, bytes: Uint8Array): Uint8Array[] {
    if (seq < this.nextSeq) return []; // sentence already finished: a redelivery
    const s = this.sentence(seq);
    if (s.done) return [];
    const end = offset + bytes.length;
    if (end <= s.accepted) return [];
    const fresh = offset < s.accepted ? bytes.subarray(s.accepted - offset) : bytes;
    s.accepted = end;
    if (seq === this.nextSeq) return [fresh];
    s.pending.push(fresh);
    return [];
  }

  /** Marks a sentence complete; returns the chunks of following sentences that are now due. */
  finish(seq: number): Uint8Array[] {
    if (seq < this.nextSeq) return [];
    this.sentence(seq).done = true;
    const out: Uint8Array[] = [];
    while (this.sentences.get(this.nextSeq)?.done) {
      this.sentences.delete(this.nextSeq);
      this.nextSeq++;
      const next = this.sentences.get(this.nextSeq);
      if (next) {
        out.push(...next.pending);
        next.pending = [];
      }
    }
    return out;
  }

  /** True once sentences 0..total-1 are all finished. */
  complete(total: number): boolean {
    return this.nextSeq >= total;
  }

  private sentence(seq: number): SentenceAudio {
    let s = this.sentences.get(seq);
    if (!s) this.sentences.set(seq, (s = { accepted: 0, done: false, pending: [] }));
    return s;
  }
}
